// Command fixtureserver runs corscope's CORS fixture server on loopback for
// the recording scripts; it prints its addresses as one JSON line on stdout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/corscope/corscope/internal/fixtureserver"
)

func main() {
	httpAddr := flag.String("http", "127.0.0.1:0", "cleartext listen address (\"\" disables)")
	httpsAddr := flag.String("https", "127.0.0.1:0", "TLS listen address (\"\" disables)")
	keylog := flag.String("keylog", os.Getenv("SSLKEYLOGFILE"), "append TLS secrets in NSS key log format to this file")
	certOut := flag.String("cert-out", "", "write the self-signed certificate (PEM) to this file")
	infoOut := flag.String("info-out", "", "write the JSON address line to this file too")
	accessOut := flag.String("access-log", "", "append one JSON line per served request to this file")
	table := flag.Bool("endpoints", false, "print the endpoint table as JSON and exit")
	flag.Parse()

	if *table {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(fixtureserver.Endpoints()); err != nil {
			log.Fatal(err)
		}
		return
	}

	cfg := fixtureserver.Config{
		HTTPAddr:     *httpAddr,
		HTTPSAddr:    *httpsAddr,
		DisableHTTP:  *httpAddr == "",
		DisableHTTPS: *httpsAddr == "",
		ErrorLog:     log.New(os.Stderr, "fixtureserver: ", log.LstdFlags),
	}
	if *keylog != "" {
		f, err := os.OpenFile(*keylog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			log.Fatalf("fixtureserver: keylog: %v", err)
		}
		defer f.Close()
		cfg.KeyLog = f
	}
	if *accessOut != "" {
		f, err := os.OpenFile(*accessOut, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatalf("fixtureserver: access-log: %v", err)
		}
		defer f.Close()
		cfg.AccessLog = f
	}
	srv, err := fixtureserver.Start(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if *certOut != "" && srv.CertPEM() != nil {
		if err := os.WriteFile(*certOut, srv.CertPEM(), 0o644); err != nil {
			log.Fatalf("fixtureserver: cert-out: %v", err)
		}
	}
	info, _ := json.Marshal(map[string]any{
		"http": srv.HTTPAddr(), "https": srv.HTTPSAddr(),
		"httpPort": srv.HTTPPort(), "httpsPort": srv.HTTPSPort(),
		"hosts": fixtureserver.Hostnames(), "pages": fixtureserver.Pages(),
	})
	out := io.Writer(os.Stdout)
	if *infoOut != "" {
		if err := os.WriteFile(*infoOut, append(info, '\n'), 0o644); err != nil {
			log.Fatalf("fixtureserver: info-out: %v", err)
		}
	}
	fmt.Fprintln(out, string(info))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
