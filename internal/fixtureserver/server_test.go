package fixtureserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects the key log written from the TLS handshake goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	srv    *Server
	keylog *syncBuffer
	client *http.Client
}

func startFixture(t *testing.T) *fixture {
	t.Helper()
	kl := &syncBuffer{}
	srv, err := Start(Config{KeyLog: kl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CertPEM()) {
		t.Fatal("certificate PEM does not parse")
	}
	tr := &http.Transport{
		// Every virtual name resolves to the listener of the URL's scheme,
		// like --host-resolver-rules does for the browser.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			target := srv.HTTPAddr()
			if strings.HasSuffix(addr, ":443") {
				target = srv.HTTPSAddr()
			}
			var d net.Dialer
			return d.DialContext(ctx, network, target)
		},
		TLSClientConfig:    &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2:  true,
		DisableCompression: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &fixture{srv: srv, keylog: kl, client: &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends method to scheme://host/path (the dialer supplies the port) with
// the given header lines.
func (f *fixture) do(t *testing.T, method, scheme, host, path, body string, hdr ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, scheme+"://"+host+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s://%s%s: %v", method, scheme, host, path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (f *fixture) origin(scheme, host string) string { return f.srv.URL(scheme, host) }

func wantHeader(t *testing.T, resp *http.Response, name, want string) {
	t.Helper()
	if got := strings.Join(resp.Header.Values(name), "|"); got != want {
		t.Errorf("%s %s: %s = %q, want %q", resp.Request.Method, resp.Request.URL, name, got, want)
	}
}

func wantStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Errorf("%s %s: status %d, want %d", resp.Request.Method, resp.Request.URL, resp.StatusCode, want)
	}
}

func TestEndpointsBehaveAsDescribed(t *testing.T) {
	f := startFixture(t)
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			app := f.origin(scheme, AppHost)
			evil := f.origin(scheme, EvilHost)
			attacker := f.origin(scheme, AttackerHost)

			t.Run("reflect echoes any origin with credentials", func(t *testing.T) {
				for _, o := range []string{evil, attacker, "https://evil.example"} {
					r := f.do(t, "GET", scheme, APIHost, "/reflect", "", "Origin", o)
					wantStatus(t, r, 200)
					wantHeader(t, r, "Access-Control-Allow-Origin", o)
					wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
					wantHeader(t, r, "Vary", "Origin")
				}
			})
			t.Run("correct endpoints refuse a foreign origin and echo the app exactly", func(t *testing.T) {
				for _, ep := range []struct{ host, path string }{{APIHost, "/ok/profile"}, {SafeHost, "/profile"}} {
					r := f.do(t, "GET", scheme, ep.host, ep.path, "", "Origin", evil)
					wantHeader(t, r, "Access-Control-Allow-Origin", "")
					wantHeader(t, r, "Access-Control-Allow-Credentials", "")
					wantHeader(t, r, "Vary", "Origin")
					r = f.do(t, "GET", scheme, ep.host, ep.path, "", "Origin", app)
					wantHeader(t, r, "Access-Control-Allow-Origin", app)
					wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
					// The app origin of the other scheme is not trusted.
					other := f.origin(map[string]string{"http": "https", "https": "http"}[scheme], AppHost)
					r = f.do(t, "GET", scheme, ep.host, ep.path, "", "Origin", other)
					wantHeader(t, r, "Access-Control-Allow-Origin", "")
				}
			})
			t.Run("null is trusted with credentials", func(t *testing.T) {
				r := f.do(t, "GET", scheme, APIHost, "/null", "", "Origin", "null")
				wantHeader(t, r, "Access-Control-Allow-Origin", "null")
				wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
				r = f.do(t, "GET", scheme, APIHost, "/null", "", "Origin", evil)
				wantHeader(t, r, "Access-Control-Allow-Origin", "")
			})
			t.Run("wildcards", func(t *testing.T) {
				r := f.do(t, "GET", scheme, APIHost, "/wildcard", "", "Origin", evil)
				wantHeader(t, r, "Access-Control-Allow-Origin", "*")
				wantHeader(t, r, "Access-Control-Allow-Credentials", "")
				r = f.do(t, "GET", scheme, APIHost, "/wildcard-credentials", "", "Origin", evil)
				wantHeader(t, r, "Access-Control-Allow-Origin", "*")
				wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
			})
			t.Run("suffix check lets evilcorscope.test in", func(t *testing.T) {
				bypass := f.origin(scheme, SuffixBypassHost)
				r := f.do(t, "GET", scheme, APIHost, "/suffix-check", "", "Origin", bypass)
				wantHeader(t, r, "Access-Control-Allow-Origin", bypass)
				wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
				r = f.do(t, "GET", scheme, APIHost, "/suffix-check", "", "Origin", evil)
				wantHeader(t, r, "Access-Control-Allow-Origin", "")
			})
			t.Run("prefix check lets api.corscope.test.evil.example in", func(t *testing.T) {
				bypass := f.origin(scheme, PrefixBypassHost)
				r := f.do(t, "GET", scheme, APIHost, "/prefix-check", "", "Origin", bypass)
				wantHeader(t, r, "Access-Control-Allow-Origin", bypass)
				wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
				r = f.do(t, "GET", scheme, APIHost, "/prefix-check", "", "Origin", evil)
				wantHeader(t, r, "Access-Control-Allow-Origin", "")
			})
			t.Run("no-vary echoes the app without Vary and sends no ACAO without Origin", func(t *testing.T) {
				r := f.do(t, "GET", scheme, APIHost, "/no-vary", "", "Origin", app)
				wantHeader(t, r, "Access-Control-Allow-Origin", app)
				wantHeader(t, r, "Vary", "")
				r = f.do(t, "GET", scheme, APIHost, "/no-vary", "")
				wantHeader(t, r, "Access-Control-Allow-Origin", "")
			})
			t.Run("sensitive headers exposed under a wildcard", func(t *testing.T) {
				r := f.do(t, "GET", scheme, APIHost, "/expose-sensitive", "", "Origin", evil)
				wantHeader(t, r, "Access-Control-Allow-Origin", "*")
				wantHeader(t, r, "Access-Control-Expose-Headers", "Authorization, X-CSRF-Token")
				if r.Header.Get("Authorization") == "" || r.Header.Get("X-CSRF-Token") == "" {
					t.Error("the exposed headers are not in the response")
				}
			})
			t.Run("preflight passes, actual response has no ACAO", func(t *testing.T) {
				r := f.do(t, "OPTIONS", scheme, APIHost, "/preflight-ok-unshared", "", "Origin", app,
					"Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "content-type")
				wantStatus(t, r, 204)
				wantHeader(t, r, "Access-Control-Allow-Origin", app)
				wantHeader(t, r, "Access-Control-Allow-Methods", "PUT")
				r = f.do(t, "PUT", scheme, APIHost, "/preflight-ok-unshared", `{"a":1}`, "Origin", app, "Content-Type", "application/json")
				wantStatus(t, r, 200)
				wantHeader(t, r, "Access-Control-Allow-Origin", "")
			})
			t.Run("preflight rejected with 403, actual still served", func(t *testing.T) {
				r := f.do(t, "OPTIONS", scheme, APIHost, "/preflight-rejected", "", "Origin", app,
					"Access-Control-Request-Method", "DELETE")
				wantStatus(t, r, 403)
				wantHeader(t, r, "Access-Control-Allow-Origin", "")
				r = f.do(t, "DELETE", scheme, APIHost, "/preflight-rejected", "", "Origin", app)
				wantStatus(t, r, 200)
			})
			t.Run("star tokens with credentials", func(t *testing.T) {
				r := f.do(t, "OPTIONS", scheme, APIHost, "/star-credentials", "", "Origin", app,
					"Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-requested-with")
				wantStatus(t, r, 204)
				wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
				wantHeader(t, r, "Access-Control-Allow-Methods", "*")
				wantHeader(t, r, "Access-Control-Allow-Headers", "*")
			})
			t.Run("excessive max-age", func(t *testing.T) {
				r := f.do(t, "OPTIONS", scheme, APIHost, "/max-age", "", "Origin", app,
					"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
				wantHeader(t, r, "Access-Control-Max-Age", "86400000")
				wantHeader(t, r, "Access-Control-Allow-Origin", app)
				r = f.do(t, "OPTIONS", scheme, APIHost, "/max-age", "", "Origin", evil,
					"Access-Control-Request-Method", "POST")
				wantHeader(t, r, "Access-Control-Max-Age", "")
			})
			t.Run("correct preflight", func(t *testing.T) {
				r := f.do(t, "OPTIONS", scheme, SafeHost, "/items", "", "Origin", app,
					"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
				wantStatus(t, r, 204)
				wantHeader(t, r, "Access-Control-Allow-Origin", app)
				wantHeader(t, r, "Access-Control-Max-Age", "600")
				r = f.do(t, "OPTIONS", scheme, SafeHost, "/items", "", "Origin", evil,
					"Access-Control-Request-Method", "POST")
				wantHeader(t, r, "Access-Control-Allow-Origin", "")
				wantHeader(t, r, "Access-Control-Allow-Methods", "")
			})
			t.Run("cookie set SameSite=None; Secure", func(t *testing.T) {
				r := f.do(t, "GET", scheme, APIHost, "/login", "")
				sc := r.Header.Get("Set-Cookie")
				if !strings.Contains(sc, "SameSite=None") || !strings.Contains(sc, "Secure") {
					t.Errorf("Set-Cookie = %q", sc)
				}
			})
			t.Run("cross-site form POST accepted, GET refused", func(t *testing.T) {
				r := f.do(t, "POST", scheme, APIHost, "/csrf/transfer", "to=mallory&amount=1000",
					"Origin", attacker, "Content-Type", "application/x-www-form-urlencoded", "Cookie", "session=x")
				wantStatus(t, r, 200)
				b, _ := io.ReadAll(r.Body)
				if !strings.Contains(string(b), "transferred 1000 to mallory") {
					t.Errorf("body %q", b)
				}
				wantStatus(t, f.do(t, "GET", scheme, APIHost, "/csrf/transfer", ""), 405)
				wantStatus(t, f.do(t, "POST", scheme, APIHost, "/csrf/json", `{"email":"m@x"}`,
					"Origin", attacker, "Content-Type", "text/plain"), 200)
			})
			t.Run("gzip body", func(t *testing.T) {
				r := f.do(t, "GET", scheme, SafeHost, "/gzip", "", "Origin", app, "Accept-Encoding", "gzip")
				wantHeader(t, r, "Content-Encoding", "gzip")
				b, _ := io.ReadAll(r.Body)
				if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
					t.Errorf("body is not gzip: % x", b[:min(len(b), 4)])
				}
			})
			t.Run("unknown host", func(t *testing.T) {
				wantStatus(t, f.do(t, "GET", scheme, "localhost", "/", ""), http.StatusMisdirectedRequest)
			})
			t.Run("pages", func(t *testing.T) {
				for _, p := range Pages() {
					if p.Scheme != "" && p.Scheme != scheme {
						continue
					}
					r := f.do(t, "GET", scheme, p.Host, p.Path, "")
					wantStatus(t, r, 200)
					if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
						t.Errorf("%s%s: Content-Type %q", p.Host, p.Path, r.Header.Get("Content-Type"))
					}
				}
				r := f.do(t, "GET", scheme, EvilHost, "/null-frame", "")
				wantStatus(t, r, 200)
			})
		})
	}
}

func TestHTTPSOriginTrustedOverTLS(t *testing.T) {
	f := startFixture(t)
	httpApp := f.origin("http", AppHost)
	r := f.do(t, "GET", "https", APIHost, "/http-origin", "", "Origin", httpApp)
	wantHeader(t, r, "Access-Control-Allow-Origin", httpApp)
	wantHeader(t, r, "Access-Control-Allow-Credentials", "true")
	if r.ProtoMajor != 2 {
		t.Errorf("TLS listener spoke %s, want HTTP/2", r.Proto)
	}
	if !regexp.MustCompile(`(?m)^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$`).MatchString(f.keylog.String()) {
		t.Errorf("key log lacks TLS 1.3 secrets:\n%s", f.keylog.String())
	}
}

func TestChunkedOverHTTP11(t *testing.T) {
	f := startFixture(t)
	conn, err := net.Dial("tcp", f.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /chunked HTTP/1.1\r\nHost: "+SafeHost+"\r\nOrigin: "+f.origin("http", AppHost)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("Transfer-Encoding %v, want chunked", resp.TransferEncoding)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != `{"items":[{"n":0},{"n":1},{"n":2}]}` {
		t.Errorf("body %q", b)
	}
}

// wsDial performs the client side of the RFC 6455 handshake by hand.
func wsDial(t *testing.T, addr, origin string, useTLS bool) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	var conn net.Conn
	var err error
	if useTLS {
		conn, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: "+APIHost+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\nOrigin: "+origin+"\r\nCookie: session=x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := websocketAccept(key); resp.Header.Get("Sec-WebSocket-Accept") != want {
		t.Errorf("Sec-WebSocket-Accept %q, want %q", resp.Header.Get("Sec-WebSocket-Accept"), want)
	}
	return conn, br, resp
}

// readServerFrame reads one unmasked server frame (short payloads only).
func readServerFrame(t *testing.T, br *bufio.Reader) (byte, string) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatal(err)
	}
	if h[1]&0x80 != 0 || h[1]&0x7F >= 126 {
		t.Fatalf("unexpected frame header % x", h)
	}
	p := make([]byte, h[1]&0x7F)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0F, string(p)
}

func maskedFrame(op byte, payload string) []byte {
	mask := [4]byte{1, 2, 3, 4}
	out := []byte{0x80 | op, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
	for i := 0; i < len(payload); i++ {
		out = append(out, payload[i]^mask[i%4])
	}
	return out
}

func TestWebSocketAcceptsAnyOrigin(t *testing.T) {
	f := startFixture(t)
	for _, tc := range []struct {
		name, addr string
		tls        bool
	}{{"ws", f.srv.HTTPAddr(), false}, {"wss", f.srv.HTTPSAddr(), true}} {
		for _, origin := range []string{"https://evil.example", "https://attacker.example", "null"} {
			t.Run(tc.name+" "+origin, func(t *testing.T) {
				conn, br, resp := wsDial(t, tc.addr, origin, tc.tls)
				if resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("status %d, want 101", resp.StatusCode)
				}
				if op, msg := readServerFrame(t, br); op != wsOpText || msg != "welcome" {
					t.Errorf("first frame op %d %q", op, msg)
				}
				conn.Write(maskedFrame(wsOpText, "hi"))
				if op, msg := readServerFrame(t, br); op != wsOpText || msg != "echo: hi" {
					t.Errorf("echo frame op %d %q", op, msg)
				}
				conn.Write(maskedFrame(wsOpClose, "\x03\xe8"))
				if op, _ := readServerFrame(t, br); op != wsOpClose {
					t.Errorf("close answered with op %d", op)
				}
			})
		}
	}
	t.Run("plain GET is refused", func(t *testing.T) {
		wantStatus(t, f.do(t, "GET", "http", APIHost, "/ws", "", "Origin", "https://evil.example"), 400)
	})
}

func TestWebSocketRejectsUnmaskedAndOversizedFrames(t *testing.T) {
	for _, frame := range [][]byte{
		{0x81, 0x02, 'h', 'i'},                           // unmasked
		{0x81, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}, // 16 MiB announced
	} {
		op, _, err := readWSFrame(bufio.NewReader(bytes.NewReader(frame)))
		if err == nil {
			t.Errorf("frame % x accepted as op %d", frame, op)
		}
	}
}

func TestEndpointTableMatchesServer(t *testing.T) {
	f := startFixture(t)
	seen := map[string]bool{}
	for _, ep := range Endpoints() {
		if ep.Correct == (len(ep.Flaws) > 0) {
			t.Errorf("%s%s: Correct=%v with flaws %v", ep.Host, ep.Path, ep.Correct, ep.Flaws)
		}
		if ep.Concept == "" {
			t.Errorf("%s%s: no concept", ep.Host, ep.Path)
		}
		seen[ep.Host+ep.Path] = true
		if ep.Path == "/ws" {
			continue // checked by the WebSocket test
		}
		scheme := "http"
		if ep.Scheme == "https" {
			scheme = "https"
		}
		r := f.do(t, ep.Method, scheme, ep.Host, ep.Path, "a=1", "Origin", f.origin(scheme, AppHost))
		if r.StatusCode >= 300 {
			t.Errorf("%s %s%s: status %d", ep.Method, ep.Host, ep.Path, r.StatusCode)
		}
	}
	for _, want := range []string{APIHost + "/reflect", APIHost + "/ws", SafeHost + "/profile"} {
		if !seen[want] {
			t.Errorf("table lacks %s", want)
		}
	}
}

// TestRuleIDsExistInCatalogue keeps the table in step with spec/rules.md
// when the shared spec is next to the repository.
func TestRuleIDsExistInCatalogue(t *testing.T) {
	spec := findUp(t, filepath.Join("..", "shared", "spec", "rules.md"))
	if spec == "" {
		t.Skip("../shared/spec/rules.md not found next to the repository")
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| ([a-z0-9-]+) \\|").FindAllSubmatch(b, -1) {
		ids[string(m[1])] = true
	}
	if len(ids) < 30 {
		t.Fatalf("only %d rule ids parsed from %s", len(ids), spec)
	}
	for _, ep := range Endpoints() {
		for _, id := range append(append([]string{}, ep.Flaws...), ep.Implied...) {
			if !ids[id] {
				t.Errorf("%s%s: rule %q is not in %s", ep.Host, ep.Path, id, spec)
			}
		}
	}
}

// findUp looks for rel from the package directory upwards.
func findUp(t *testing.T, rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func TestAccessLogRecordsEveryRequest(t *testing.T) {
	var buf syncBuffer
	srv, err := Start(Config{AccessLog: &buf, DisableHTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	f := &fixture{srv: srv, client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.HTTPAddr())
		},
	}}}
	f.do(t, "OPTIONS", "http", APIHost, "/preflight-rejected", "", "Origin", "https://evil.example",
		"Access-Control-Request-Method", "DELETE")
	f.do(t, "GET", "http", APIHost, "/reflect", "", "Origin", "https://evil.example", "Cookie", "session=x")
	conn, _, _ := wsDial(t, srv.HTTPAddr(), "https://attacker.example", false)
	conn.Write(maskedFrame(wsOpClose, ""))
	conn.Close()

	var lines []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if lines = strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) == 3 {
			break
		}
	}
	want := []string{
		`"method":"OPTIONS","host":"api.corscope.test","path":"/preflight-rejected","origin":"https://evil.example","cookie":false,"status":403}`,
		`"method":"GET","host":"api.corscope.test","path":"/reflect","origin":"https://evil.example","cookie":true,"status":200}`,
		`"method":"GET","host":"api.corscope.test","path":"/ws","origin":"https://attacker.example","cookie":true,"status":101}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("access log has %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i := range want {
		if !strings.HasSuffix(lines[i], want[i]) {
			t.Errorf("line %d = %s\nwant suffix %s", i, lines[i], want[i])
		}
	}
}

func TestCloseEndsOpenWebSockets(t *testing.T) {
	srv, err := Start(Config{DisableHTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	conn, br, resp := wsDial(t, srv.HTTPAddr(), "https://evil.example", false)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	readServerFrame(t, br) // welcome: the handler is running
	start := time.Now()
	srv.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still delivers data after Close")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close left the WebSocket open for %v", d)
	}
}
