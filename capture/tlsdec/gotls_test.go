package tlsdec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
)

var (
	certOnce sync.Once
	testCert tls.Certificate
)

func serverCert(t testing.TB) tls.Certificate {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "corscope.test"},
			DNSNames:     []string{"corscope.test"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return testCert
}

// recording wraps the server's side of a connection and keeps every byte
// read (client→server) and written (server→client) in call order.
type recording struct {
	net.Conn
	mu     sync.Mutex
	chunks []streamChunk
}

func (r *recording) add(d Dir, b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	r.chunks = append(r.chunks, streamChunk{dir: d, data: append([]byte(nil), b...), t: time.Now(), pkt: int64(len(r.chunks) + 1)})
	r.mu.Unlock()
}

func (r *recording) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.add(ClientToServer, b[:n])
	return n, err
}

func (r *recording) Write(b []byte) (int, error) {
	r.add(ServerToClient, b)
	return r.Conn.Write(b)
}

// lockedBuffer is a key log writer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

// exchangeSizes are the request sizes the client sends; the server answers
// each with a response of a different size, so records of 1 byte up to
// several full 16 KiB records go both ways.
var exchangeSizes = []int{1, 5, 300, 16384, 16385, 70000}

func payload(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7+i/251)
	}
	return b
}

type session struct {
	chunks     []streamChunk
	keys       []byte
	sentC      []byte // client→server plaintext
	sentS      []byte // server→client plaintext
	clientConf *tls.Config
}

// runSession talks TLS between a crypto/tls client and server over a pipe
// and returns what the server's side of the wire carried.
func runSession(t *testing.T, client, server *tls.Config, wrapClient func(net.Conn, *lockedBuffer) net.Conn, sizes []int) session {
	t.Helper()
	// Loopback TCP, not net.Pipe: TLS 1.3 peers write at the same time and an
	// unbuffered pipe deadlocks them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cEnd, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sEnd, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var keylogBuf lockedBuffer
	client = client.Clone()
	client.KeyLogWriter = &keylogBuf
	client.InsecureSkipVerify = true
	client.ServerName = "corscope.test"
	server = server.Clone()
	server.Certificates = []tls.Certificate{serverCert(t)}
	rec := &recording{Conn: sEnd}
	var wire net.Conn = cEnd
	if wrapClient != nil {
		wire = wrapClient(cEnd, &keylogBuf)
	}
	var s session
	errc := make(chan error, 1)
	go func() {
		srv := tls.Server(rec, server)
		for i, n := range sizes {
			buf := make([]byte, n)
			if _, err := io.ReadFull(srv, buf); err != nil {
				errc <- fmt.Errorf("server read %d: %w", i, err)
				return
			}
			if !bytes.Equal(buf, payload(byte(i), n)) {
				errc <- fmt.Errorf("server got wrong request %d", i)
				return
			}
			if _, err := srv.Write(payload(byte(100+i), n*2+3)); err != nil {
				errc <- fmt.Errorf("server write %d: %w", i, err)
				return
			}
		}
		errc <- nil
	}()
	cl := tls.Client(wire, client)
	for i, n := range sizes {
		req := payload(byte(i), n)
		s.sentC = append(s.sentC, req...)
		if _, err := cl.Write(req); err != nil {
			t.Fatalf("client write %d: %v", i, err)
		}
		resp := make([]byte, n*2+3)
		if _, err := io.ReadFull(cl, resp); err != nil {
			t.Fatalf("client read %d: %v", i, err)
		}
		s.sentS = append(s.sentS, resp...)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	cEnd.Close()
	sEnd.Close()
	rec.mu.Lock()
	s.chunks = rec.chunks
	rec.mu.Unlock()
	s.keys = keylogBuf.Bytes()
	s.clientConf = client
	return s
}

// rechunk splits every chunk into pieces of at most n bytes, keeping the
// interleaving of the two directions.
func rechunk(chunks []streamChunk, n int) []streamChunk {
	var out []streamChunk
	for _, c := range chunks {
		for d := c.data; len(d) > 0; {
			k := min(n, len(d))
			out = append(out, streamChunk{dir: c.dir, data: d[:k], t: c.t, pkt: c.pkt})
			d = d[k:]
		}
	}
	return out
}

// splitAt cuts the direction's stream at offset off into two chunks.
func splitAt(chunks []streamChunk, d Dir, off int) []streamChunk {
	out := make([]streamChunk, 0, len(chunks)+1)
	pos := 0
	for _, c := range chunks {
		if c.dir == d && off > pos && off < pos+len(c.data) {
			k := off - pos
			out = append(out, streamChunk{dir: d, data: c.data[:k], t: c.t, pkt: c.pkt}, streamChunk{dir: d, data: c.data[k:], t: c.t, pkt: c.pkt})
		} else {
			out = append(out, c)
		}
		if c.dir == d {
			pos += len(c.data)
		}
	}
	return out
}

func checkDecode(t *testing.T, s session, chunks []streamChunk, label string) Info {
	t.Helper()
	return checkDecodeWith(t, keylog.New(0), s, chunks, label)
}

// checkDecodeWith decodes with keys plus the session's key log and checks
// that both directions' plaintext is exactly what was sent.
func checkDecodeWith(t *testing.T, keys *KeyLog, s session, chunks []streamChunk, label string) Info {
	t.Helper()
	keys.Add(s.keys)
	c, out := decodeChunks(keys, chunks)
	inf := c.Info()
	if got := joined(out, ClientToServer); got != string(s.sentC) {
		t.Fatalf("%s: client plaintext differs (%d bytes, want %d); info %+v", label, len(got), len(s.sentC), inf)
	}
	if got := joined(out, ServerToClient); got != string(s.sentS) {
		t.Fatalf("%s: server plaintext differs (%d bytes, want %d); info %+v", label, len(got), len(s.sentS), inf)
	}
	if len(inf.Warnings) != 0 {
		t.Fatalf("%s: warnings %q", label, inf.Warnings)
	}
	return inf
}

func TestGoTLSDecryptsEveryCipherFamily(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		suite   uint16
	}{
		{"TLS1.2 ECDHE-ECDSA-AES128-GCM-SHA256", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"TLS1.2 ECDHE-ECDSA-AES256-GCM-SHA384", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"TLS1.2 ECDHE-ECDSA-CHACHA20-POLY1305", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"TLS1.2 ECDHE-ECDSA-AES128-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
		{"TLS1.2 ECDHE-ECDSA-AES256-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
		{"TLS1.2 ECDHE-ECDSA-AES128-CBC-SHA256", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256},
		{"TLS1.3 default suite", tls.VersionTLS13, 0},
		{"TLS1.3 after HelloRetryRequest", tls.VersionTLS13, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := &tls.Config{MinVersion: tc.version, MaxVersion: tc.version, NextProtos: []string{"h2", "http/1.1"}}
			if tc.suite > 1 {
				conf.CipherSuites = []uint16{tc.suite}
			}
			srv := &tls.Config{MinVersion: tc.version, MaxVersion: tc.version, NextProtos: []string{"http/1.1"}, CipherSuites: conf.CipherSuites}
			if tc.suite == 1 {
				// The client sends no P-384 key share: the server asks again.
				srv.CurvePreferences = []tls.CurveID{tls.CurveP384}
			}
			s := runSession(t, conf, srv, nil, exchangeSizes)
			inf := checkDecode(t, s, s.chunks, "as recorded")
			if inf.Version != tc.version || (tc.suite > 1 && inf.CipherSuite != tc.suite) || !inf.Decrypted {
				t.Errorf("info %+v", inf)
			}
			if inf.SNI != "corscope.test" || inf.ALPN != "http/1.1" || fmt.Sprint(inf.ALPNOffered) != "[h2 http/1.1]" {
				t.Errorf("SNI %q ALPN %q offered %q", inf.SNI, inf.ALPN, inf.ALPNOffered)
			}
			if c := NewConn(nil, nil); tc.suite == 1 {
				for _, ch := range s.chunks {
					c.Feed(ch.dir, ch.data, ch.t, ch.pkt)
				}
				if !c.hrr {
					t.Error("no HelloRetryRequest in the session")
				}
			}
			for _, n := range []int{1, 2, 3, 5, 7, 16, 4093} {
				checkDecode(t, s, rechunk(s.chunks, n), fmt.Sprintf("chunks of %d", n))
			}
			// Every split position through the handshake and the first
			// records, on a short session to keep the test quick.
			short := runSession(t, conf, srv, nil, []int{1, 40})
			for _, d := range []Dir{ClientToServer, ServerToClient} {
				total := 0
				for _, c := range short.chunks {
					if c.dir == d {
						total += len(c.data)
					}
				}
				for off := 1; off < total; off++ {
					checkDecode(t, short, splitAt(short.chunks, d, off), fmt.Sprintf("%s split at %d", d, off))
				}
			}
		})
	}
}
