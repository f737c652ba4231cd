package tlsdec

import (
	"bufio"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
)

// wireRecorder proxies one TCP connection and records both directions.
type wireRecorder struct {
	mu     sync.Mutex
	chunks []streamChunk
	bytes  [2]int
}

func (w *wireRecorder) pump(d Dir, dst, src net.Conn, done *sync.WaitGroup) {
	defer done.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			w.mu.Lock()
			w.chunks = append(w.chunks, streamChunk{dir: d, data: append([]byte(nil), buf[:n]...), t: time.Now(), pkt: int64(len(w.chunks) + 1)})
			w.bytes[d] += n
			w.mu.Unlock()
			dst.Write(buf[:n])
		}
		if err != nil {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}

func (w *wireRecorder) count(d Dir) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytes[d]
}

// waitGrowth waits until direction d carried more than n bytes and then
// stopped growing for a moment.
func (w *wireRecorder) waitGrowth(t *testing.T, d Dir, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.count(d) <= n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no data from OpenSSL", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for last := -1; last != w.count(d); {
		last = w.count(d)
		time.Sleep(100 * time.Millisecond)
	}
}

type opensslRun struct {
	t      *testing.T
	dir    string
	keylog string
	port   string
	server *exec.Cmd
}

func startOpenSSLServer(t *testing.T, args ...string) *opensslRun {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	if testing.Short() {
		t.Skip("runs openssl")
	}
	r := &opensslRun{t: t, dir: t.TempDir()}
	r.keylog = filepath.Join(r.dir, "keys.log")
	cert := serverCert(t)
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(filepath.Join(r.dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, r.port, _ = net.SplitHostPort(ln.Addr().String())
	ln.Close()
	all := append([]string{"s_server", "-accept", "127.0.0.1:" + r.port, "-cert", filepath.Join(r.dir, "cert.pem"),
		"-key", filepath.Join(r.dir, "key.pem"), "-keylogfile", filepath.Join(r.dir, "server-keys.log")}, args...)
	r.server = exec.Command("openssl", all...)
	stdin, _ := r.server.StdinPipe() // kept open: EOF would end the server
	out, _ := r.server.StdoutPipe()
	r.server.Stderr = io.Discard
	if err := r.server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		r.server.Process.Kill()
		r.server.Wait()
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ACCEPT") {
				close(ready)
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("openssl s_server did not start")
	}
	return r
}

// client runs one s_client connection through a recording proxy; each
// input line is sent after the previous exchange settled.
func (r *opensslRun) client(lines []string, args ...string) *wireRecorder {
	t := r.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w := &wireRecorder{}
	var done sync.WaitGroup
	done.Add(2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done.Add(-2)
			return
		}
		s, err := net.Dial("tcp", "127.0.0.1:"+r.port)
		if err != nil {
			c.Close()
			done.Add(-2)
			return
		}
		go w.pump(ClientToServer, s, c, &done)
		go w.pump(ServerToClient, c, s, &done)
	}()
	all := append([]string{"s_client", "-connect", ln.Addr().String(), "-keylogfile", r.keylog, "-quiet", "-no_ign_eof", "-servername", "corscope.test"}, args...)
	cmd := exec.Command("openssl", all...)
	stdin, _ := cmd.StdinPipe()
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.waitGrowth(t, ServerToClient, 0) // handshake done
	for _, l := range lines {
		before := w.count(ServerToClient)
		io.WriteString(stdin, l)
		w.waitGrowth(t, ClientToServer, 0)
		if strings.HasPrefix(l, "expect-reply:") {
			w.waitGrowth(t, ServerToClient, before)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	stdin.Close()
	finished := make(chan error, 1)
	go func() { finished <- cmd.Wait() }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-finished
	}
	done.Wait()
	return w
}

func (r *opensslRun) decode(w *wireRecorder) (*Conn, []emitted) {
	keys := keylog.New(0)
	if err := keys.LoadFile(r.keylog); err != nil {
		r.t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return decodeChunks(keys, w.chunks)
}

func TestOpenSSLInterop(t *testing.T) {
	for _, tc := range []struct {
		name       string
		server, cl []string
		lines      []string
		wantC      string
		wantS      string
		version    uint16
		etm        bool
		keyUpdates [2]int
	}{
		{
			name:   "TLS1.2 AES-CBC-SHA with encrypt-then-MAC",
			server: []string{"-rev"}, cl: []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"},
			lines: []string{"expect-reply: hello corscope\n"}, wantC: "expect-reply: hello corscope\n", wantS: "epocsroc olleh :ylper-tcepxe\n",
			version: versionTLS12, etm: true,
		},
		{
			name:   "TLS1.2 AES-CBC-SHA256 MAC-then-encrypt",
			server: []string{"-rev"}, cl: []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256", "-no_etm"},
			lines: []string{"expect-reply: cbc\n"}, wantC: "expect-reply: cbc\n", wantS: "cbc :ylper-tcepxe\n",
			version: versionTLS12,
		},
		{
			name:   "TLS1.2 AES-256-CBC-SHA384 with encrypt-then-MAC",
			server: []string{"-rev"}, cl: []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"},
			lines: []string{"expect-reply: sha384\n"}, wantC: "expect-reply: sha384\n", wantS: "483ahs :ylper-tcepxe\n",
			version: versionTLS12, etm: true,
		},
		{
			name:   "TLS1.3 AES-256-GCM with KeyUpdate both ways",
			server: []string{"-rev"}, cl: []string{"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"},
			// "K" makes s_client send KeyUpdate(update_requested); the
			// server answers with its own.
			lines: []string{"expect-reply: one\n", "K\n", "expect-reply: two\n"}, wantC: "expect-reply: one\nexpect-reply: two\n", wantS: "eno :ylper-tcepxe\nowt :ylper-tcepxe\n",
			version: versionTLS13, keyUpdates: [2]int{1, 1},
		},
		{
			name:   "TLS1.2 AES-GCM with renegotiation",
			server: []string{"-rev", "-client_renegotiation", "-no_resumption_on_reneg"}, cl: []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"},
			// "R" makes s_client renegotiate: new hellos and keys inside
			// the encrypted connection.
			lines: []string{"expect-reply: before\n", "R\n", "expect-reply: after\n"}, wantC: "expect-reply: before\nexpect-reply: after\n", wantS: "erofeb :ylper-tcepxe\nretfa :ylper-tcepxe\n",
			version: versionTLS12,
		},
		{
			name:   "TLS1.3 ChaCha20-Poly1305",
			server: []string{"-rev"}, cl: []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"},
			lines: []string{"expect-reply: chacha\n"}, wantC: "expect-reply: chacha\n", wantS: "ahcahc :ylper-tcepxe\n",
			version: versionTLS13,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startOpenSSLServer(t, append([]string{"-naccept", "1"}, tc.server...)...)
			w := r.client(tc.lines, tc.cl...)
			c, out := r.decode(w)
			inf := c.Info()
			if got := joined(out, ClientToServer); got != tc.wantC {
				t.Errorf("client plaintext %q, want %q", got, tc.wantC)
			}
			if got := joined(out, ServerToClient); got != tc.wantS {
				t.Errorf("server plaintext %q, want %q", got, tc.wantS)
			}
			if inf.Version != tc.version || c.etm != tc.etm || len(inf.Warnings) != 0 {
				t.Errorf("version %#x etm %v warnings %q", inf.Version, c.etm, inf.Warnings)
			}
			if got := [2]int{c.h[0].keyUpdates, c.h[1].keyUpdates}; got != tc.keyUpdates {
				t.Errorf("KeyUpdates %v, want %v", got, tc.keyUpdates)
			}
		})
	}
}

func TestOpenSSLEarlyData(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   []string
		wantC    string
		rejected bool
	}{
		{"accepted", []string{"-early_data"}, "GET /early HTTP/1.1\r\n\r\nafter\n", false},
		// Tickets allow 0-RTT but the server does not read it: rejected.
		{"rejected", []string{"-max_early_data", "16384"}, "after\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startOpenSSLServer(t, append([]string{"-naccept", "2"}, tc.server...)...)
			sess := filepath.Join(r.dir, "sess.pem")
			early := filepath.Join(r.dir, "early.txt")
			os.WriteFile(early, []byte("GET /early HTTP/1.1\r\n\r\n"), 0o600)
			r.client([]string{"first\n"}, "-tls1_3", "-sess_out", sess)
			w := r.client([]string{"after\n"}, "-tls1_3", "-sess_in", sess, "-early_data", early)
			c, out := r.decode(w)
			inf := c.Info()
			if got := joined(out, ClientToServer); got != tc.wantC {
				t.Errorf("client plaintext %q, want %q", got, tc.wantC)
			}
			if !inf.Resumed {
				t.Error("PSK resumption not reported")
			}
			warned := strings.Contains(strings.Join(inf.Warnings, "|"), "0-RTT data rejected")
			if warned != tc.rejected || (!tc.rejected && len(inf.Warnings) != 0) {
				t.Errorf("warnings %q", inf.Warnings)
			}

			// Without the early secret the rest still decrypts, and the
			// undecryptable 0-RTT data is reported, not invented.
			raw, _ := os.ReadFile(r.keylog)
			var kept []string
			for _, l := range strings.Split(string(raw), "\n") {
				if !strings.HasPrefix(l, "CLIENT_EARLY_TRAFFIC_SECRET") {
					kept = append(kept, l)
				}
			}
			keys := keylog.New(0)
			keys.Add([]byte(strings.Join(kept, "\n")))
			w.mu.Lock()
			c, out = decodeChunks(keys, w.chunks)
			w.mu.Unlock()
			inf = c.Info()
			if got := joined(out, ClientToServer); got != "after\n" {
				t.Errorf("without early secret: client plaintext %q", got)
			}
			if !strings.Contains(strings.Join(inf.Warnings, "|"), "0-RTT data") {
				t.Errorf("without early secret: warnings %q", inf.Warnings)
			}
			t.Logf("without early secret: %q", inf.Warnings)
		})
	}
}
