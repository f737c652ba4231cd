// Package fixtureserver serves corscope's recording fixtures on loopback: app, API
// and attacker virtual hosts with one deliberately flawed CORS endpoint per concept.
package fixtureserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Virtual host names. Browsers reach them through --host-resolver-rules,
// curl through --resolve; the server tells them apart by the Host header.
const (
	AppHost          = "app.corscope.test"              // the legitimate front end
	APIHost          = "api.corscope.test"              // the API with the flawed endpoints
	SafeHost         = "safe.corscope.test"             // an API with correct policies only
	EvilHost         = "evil.example"                   // attacker origin
	AttackerHost     = "attacker.example"               // a second, unrelated attacker origin
	PrefixBypassHost = "api.corscope.test.evil.example" // passes a prefix-match origin check
	SuffixBypassHost = "evilcorscope.test"              // passes a suffix-match origin check
)

// Hostnames lists every name the server answers for (and its certificate covers).
func Hostnames() []string {
	return []string{AppHost, APIHost, SafeHost, EvilHost, AttackerHost, PrefixBypassHost, SuffixBypassHost}
}

// Config says where to listen. Empty addresses mean "127.0.0.1:0"; set
// DisableHTTP or DisableHTTPS to run only one of them.
type Config struct {
	HTTPAddr     string
	HTTPSAddr    string
	DisableHTTP  bool
	DisableHTTPS bool
	// KeyLog, when set, receives the TLS session secrets in NSS key log
	// format (what SSLKEYLOGFILE makes browsers write).
	KeyLog io.Writer
	// ErrorLog receives server errors; nil discards them.
	ErrorLog *log.Logger
	// AccessLog, when set, receives one JSON line per request served (see
	// AccessRecord): the ground truth that capture tests compare with.
	AccessLog io.Writer
}

// Server is a running fixture server.
type Server struct {
	httpLn, httpsLn net.Listener
	httpSrv         *http.Server
	httpsSrv        *http.Server
	certPEM         []byte
	httpPort        int
	httpsPort       int
	wg              sync.WaitGroup
	closeOnce       sync.Once

	mu       sync.Mutex
	closed   bool
	hijacked map[net.Conn]struct{} // WebSocket connections, which http.Server.Close leaves open
}

// Start listens on the configured addresses and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.DisableHTTP && cfg.DisableHTTPS {
		return nil, errors.New("fixtureserver: both HTTP and HTTPS disabled")
	}
	s := &Server{hijacked: map[net.Conn]struct{}{}}
	errLog := cfg.ErrorLog
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	var err error
	if !cfg.DisableHTTP {
		if s.httpLn, err = net.Listen("tcp", orLoopback(cfg.HTTPAddr)); err != nil {
			return nil, fmt.Errorf("fixtureserver: listen http: %w", err)
		}
		s.httpPort = s.httpLn.Addr().(*net.TCPAddr).Port
	}
	if !cfg.DisableHTTPS {
		if s.httpsLn, err = net.Listen("tcp", orLoopback(cfg.HTTPSAddr)); err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("fixtureserver: listen https: %w", err)
		}
		s.httpsPort = s.httpsLn.Addr().(*net.TCPAddr).Port
	}

	var cert tls.Certificate
	if s.httpsLn != nil {
		if cert, s.certPEM, err = selfSignedCert(); err != nil {
			s.closeListeners()
			return nil, err
		}
	}

	handler := s.routes()
	if cfg.AccessLog != nil {
		handler = accessLog(handler, cfg.AccessLog)
	}
	if s.httpLn != nil {
		s.httpSrv = &http.Server{Handler: handler, ErrorLog: errLog, ReadHeaderTimeout: 10 * time.Second}
		s.serve(func() error { return s.httpSrv.Serve(s.httpLn) })
	}
	if s.httpsLn != nil {
		s.httpsSrv = &http.Server{
			Handler:           handler,
			ErrorLog:          errLog,
			ReadHeaderTimeout: 10 * time.Second,
			// net/http adds "h2" to NextProtos itself for ServeTLS: browsers
			// get HTTP/2, WebSocket clients still get HTTP/1.1.
			TLSConfig: &tls.Config{
				Certificates: []tls.Certificate{cert},
				MinVersion:   tls.VersionTLS12,
				KeyLogWriter: cfg.KeyLog,
			},
		}
		s.serve(func() error { return s.httpsSrv.ServeTLS(s.httpsLn, "", "") })
	}
	return s, nil
}

// track registers a hijacked connection so Close can end it; it reports
// false (and closes the connection) when the server is already closing.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.hijacked[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.hijacked, c)
	s.mu.Unlock()
}

func orLoopback(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

func (s *Server) serve(run func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = run() // ErrServerClosed after Close; other errors end the listener only
	}()
}

func (s *Server) closeListeners() {
	if s.httpLn != nil {
		s.httpLn.Close()
	}
	if s.httpsLn != nil {
		s.httpsLn.Close()
	}
}

// Close stops both listeners, closes open WebSocket connections and waits
// for the serving goroutines.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for c := range s.hijacked {
			c.Close()
		}
		s.mu.Unlock()
		if s.httpSrv != nil {
			s.httpSrv.Close()
		}
		if s.httpsSrv != nil {
			s.httpsSrv.Close()
		}
		s.wg.Wait()
	})
	return nil
}

// HTTPAddr is the cleartext listener's address ("" when disabled).
func (s *Server) HTTPAddr() string { return addrOf(s.httpLn) }

// HTTPSAddr is the TLS listener's address ("" when disabled).
func (s *Server) HTTPSAddr() string { return addrOf(s.httpsLn) }

// HTTPPort and HTTPSPort are the listening ports (0 when disabled).
func (s *Server) HTTPPort() int  { return s.httpPort }
func (s *Server) HTTPSPort() int { return s.httpsPort }

// CertPEM is the self-signed certificate of the TLS listener, for clients
// that verify (curl --cacert, tls.Config.RootCAs).
func (s *Server) CertPEM() []byte { return s.certPEM }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// URL returns the base URL ("scheme://host:port") of a virtual host on the
// listener of that scheme; "" when that listener is disabled.
func (s *Server) URL(scheme, host string) string {
	port := s.portFor(scheme)
	if port == 0 {
		return ""
	}
	return Origin(scheme, host, port)
}

func (s *Server) portFor(scheme string) int {
	switch scheme {
	case "https", "wss":
		return s.httpsPort
	default:
		return s.httpPort
	}
}

// Origin serializes an origin the way browsers do: the default port is left out.
func Origin(scheme, host string, port int) string {
	if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + strconv.Itoa(port)
}

func selfSignedCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("fixtureserver: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("fixtureserver: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "corscope fixture server"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              append(Hostnames(), "localhost"),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("fixtureserver: certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}

// reqHost is the request's virtual host name, lower case, without port.
func reqHost(r *http.Request) string {
	h := r.Host
	if hp, _, err := net.SplitHostPort(h); err == nil {
		h = hp
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func reqScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
