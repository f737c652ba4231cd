// Command soakload serves the fixture endpoints on loopback and drives them
// at a fixed request rate for a fixed time: the load of scripts/soak-live.sh.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corscope/corscope/internal/fixtureserver"
)

type step struct {
	method, path, origin string
	preflight            string // Access-Control-Request-Method, for OPTIONS
	cookie               bool
}

// mix is one round: simple and preflighted requests, several Origins,
// some with cookies. Every entry is one request on the wire.
var mix = []step{
	{method: "GET", path: "/reflect", origin: "https://evil.example", cookie: true},
	{method: "GET", path: "/reflect", origin: "https://attacker.example", cookie: true},
	{method: "OPTIONS", path: "/preflight-ok-unshared", origin: "https://app.corscope.test", preflight: "PUT"},
	{method: "PUT", path: "/preflight-ok-unshared", origin: "https://app.corscope.test", cookie: true},
	{method: "GET", path: "/wildcard", origin: "https://evil.example"},
	{method: "GET", path: "/null", origin: "null", cookie: true},
	{method: "GET", path: "/ok/profile", origin: "https://app.corscope.test", cookie: true},
	{method: "GET", path: "/no-vary", origin: "https://app.corscope.test"},
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18181", "listen address of the fixture server")
	rate := flag.Int("rate", 2500, "requests per second, in all")
	dur := flag.Duration("duration", 10*time.Second, "how long to send")
	workers := flag.Int("workers", 32, "concurrent clients, each on its own keep-alive connection")
	reconnect := flag.Int("reconnect", 200, "each client opens a new connection after this many requests")
	flag.Parse()

	srv, err := fixtureserver.Start(fixtureserver.Config{HTTPAddr: *addr, DisableHTTPS: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "soakload:", err)
		os.Exit(2)
	}
	defer srv.Close()
	base := "http://" + srv.HTTPAddr()

	var sent, ok, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(*dur)
	per := time.Duration(float64(time.Second) * float64(*workers) / float64(*rate))
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			next := start.Add(per * time.Duration(w) / time.Duration(*workers))
			for i := 0; ; i++ {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				if !time.Now().Before(end) {
					return
				}
				next = next.Add(per)
				s := mix[(i+w)%len(mix)]
				var body io.Reader
				if s.method == "PUT" {
					body = strings.NewReader(`{"name":"soak"}`)
				}
				req, _ := http.NewRequest(s.method, base+s.path, body)
				req.Host = fixtureserver.APIHost
				req.Header.Set("Origin", s.origin)
				if s.preflight != "" {
					req.Header.Set("Access-Control-Request-Method", s.preflight)
					req.Header.Set("Access-Control-Request-Headers", "content-type")
				}
				if s.cookie {
					req.Header.Set("Cookie", fmt.Sprintf("sid=w%d-%d", w, i/(*reconnect)))
				}
				if s.method == "PUT" {
					req.Header.Set("Content-Type", "application/json")
				}
				req.Close = (i+1)%*reconnect == 0
				sent.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok.Add(1)
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"requests": sent.Load(), "responses": ok.Load(), "errors": failed.Load(),
		"seconds": elapsed.Seconds(), "rate": float64(ok.Load()) / elapsed.Seconds(),
	})
}
