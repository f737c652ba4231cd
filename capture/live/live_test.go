//go:build linux

package live

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/capture/keylog"
	"github.com/corscope/corscope/internal/analysisrun"
	"github.com/corscope/corscope/internal/fixtureserver"
	"github.com/corscope/corscope/storage"
)

// skipUnlessPermitted skips when this process may not open AF_PACKET
// sockets (CI runs as root; a developer's account usually may not).
func skipUnlessPermitted(t *testing.T) {
	t.Helper()
	s, err := Open(SourceConfig{Interface: "lo"})
	if err != nil {
		if strings.Contains(err.Error(), "not permitted") {
			t.Skipf("live capture on lo not permitted here (%v): run as root or with CAP_NET_RAW", err)
		}
		t.Fatalf("open lo: %v", err)
	}
	s.Close()
}

type liveRun struct {
	st     *storage.Store
	cancel context.CancelFunc
	done   chan struct{}
	sum    *Summary
	err    error
	logMu  sync.Mutex
	log    strings.Builder
}

func (l *liveRun) Write(p []byte) (int, error) {
	l.logMu.Lock()
	defer l.logMu.Unlock()
	return l.log.Write(p)
}

// startLive runs a capture on iface filtered to port until stop.
func startLive(t *testing.T, iface string, port int, write string) *liveRun {
	t.Helper()
	st := openStore(t, "live.db")
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveRun{st: st, cancel: cancel, done: make(chan struct{})}
	ready := make(chan struct{})
	cfg := Config{
		Source: SourceConfig{Interface: iface, Filter: Filter{Ports: []uint16{uint16(port)}}},
		Store:  st,
		Write:  write,
		Analyze: func(ctx context.Context) (*storage.Analysis, error) {
			return analysisrun.Run(ctx, st, nil, "test")
		},
		Log:   l,
		Ready: func() { close(ready) },
	}
	go func() {
		defer close(l.done)
		l.sum, l.err = Run(ctx, cfg)
	}()
	select {
	case <-ready:
	case <-l.done:
		t.Fatalf("capture ended before it started: %v", l.err)
	case <-time.After(5 * time.Second):
		t.Fatal("capture did not start")
	}
	t.Cleanup(func() { cancel(); <-l.done })
	return l
}

// stop cancels the capture (what SIGINT does) and returns how long Run
// took to come back.
func (l *liveRun) stop(t *testing.T) time.Duration {
	t.Helper()
	t0 := time.Now()
	l.cancel()
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
		t.Fatal("capture did not stop within 5 s of the cancel")
	}
	if l.err != nil {
		t.Fatalf("capture: %v", l.err)
	}
	return time.Since(t0)
}

type sent struct {
	method, path, origin string
	status               int
}

// browse plays simple and preflighted requests with several Origins, some
// with cookies, against the fixture server, and returns what it sent.
func browse(t *testing.T, srv *fixtureserver.Server) []sent {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	base := "http://" + srv.HTTPAddr()
	steps := []struct {
		method, path, origin, acrm string
		cookie                     bool
	}{
		{"GET", "/reflect", "https://evil.example", "", true},
		{"GET", "/reflect", "https://attacker.example", "", true},
		{"OPTIONS", "/preflight-ok-unshared", "https://app.corscope.test", "PUT", false},
		{"PUT", "/preflight-ok-unshared", "https://app.corscope.test", "", true},
		{"GET", "/wildcard", "https://evil.example", "", false},
		{"GET", "/null", "null", "", true},
		{"GET", "/ok/profile", "https://app.corscope.test", "", true},
	}
	var out []sent
	for i, s := range steps {
		var body io.Reader
		if s.method == "PUT" {
			body = strings.NewReader(`{"n":1}`)
		}
		req, _ := http.NewRequest(s.method, base+s.path, body)
		req.Host = fixtureserver.APIHost
		req.Header.Set("Origin", s.origin)
		if s.acrm != "" {
			req.Header.Set("Access-Control-Request-Method", s.acrm)
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		if s.cookie {
			req.Header.Set("Cookie", fmt.Sprintf("sid=%d", i))
		}
		req.Close = i%3 == 2 // some connections end, some stay open
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", s.method, s.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, sent{s.method, s.path, s.origin, resp.StatusCode})
	}
	return out
}

func stored(t *testing.T, st *storage.Store) []sent {
	t.Helper()
	var got []sent
	err := st.Exchanges(context.Background(), storage.Query{OrderByID: true}, func(e *storage.Exchange) error {
		o, _ := e.RequestHeaders.Get("Origin")
		got = append(got, sent{e.Method, e.Path, o, e.Status})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sortSent(s []sent) {
	slices.SortFunc(s, func(a, b sent) int {
		return strings.Compare(a.method+a.path+a.origin, b.method+b.path+b.origin)
	})
}

func hasFinding(t *testing.T, st *storage.Store, rule string) bool {
	t.Helper()
	fs, err := st.Findings(context.Background())
	if err != nil {
		return false // the first analysis may not have been saved yet
	}
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

func startFixtures(t *testing.T) *fixtureserver.Server {
	t.Helper()
	srv, err := fixtureserver.Start(fixtureserver.Config{DisableHTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestLiveLoopbackStoresEveryExchangeAndReportsWhileRunning(t *testing.T) {
	skipUnlessPermitted(t)
	srv := startFixtures(t)
	pcap := filepath.Join(t.TempDir(), "lo.pcapng")
	l := startLive(t, "lo", srv.HTTPPort(), pcap)
	want := browse(t, srv)

	// The flaw shows up while the capture is still running.
	deadline := time.Now().Add(5 * time.Second)
	for !hasFinding(t, l.st, "cors-reflect-any-credentials") {
		if time.Now().After(deadline) {
			t.Fatalf("no cors-reflect-any-credentials finding within 5 s of the traffic; stored %v", stored(t, l.st))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if took := l.stop(t); took > time.Second {
		t.Errorf("stop took %s, want under a second", took)
	}

	got := stored(t, l.st)
	sortSent(want)
	sortSent(got)
	if !slices.Equal(got, want) {
		t.Fatalf("stored exchanges differ from what was sent:\n got  %v\n want %v", got, want)
	}
	if l.sum.Exchanges != int64(len(want)) || l.sum.KernelDrops != 0 {
		t.Fatalf("summary: %d exchanges, %d kernel drops", l.sum.Exchanges, l.sum.KernelDrops)
	}
	if !strings.Contains(l.log.String(), "new finding: high cors-reflect-any-credentials GET") {
		t.Errorf("status log lacks the new finding line:\n%s", l.log.String())
	}
	ins, err := l.st.Inputs(context.Background())
	if err != nil || len(ins) != 1 || !ins[0].Complete || ins[0].Format != storage.FormatLive || ins[0].Exchanges != int64(len(want)) {
		t.Fatalf("input record: %+v, %v", ins, err)
	}
	// Loopback shows each packet twice; the outgoing copy is dropped in
	// the kernel, so nothing looks retransmitted.
	if n := ins[0].Stats["tcp.retransmissions"]; n != 0 {
		t.Errorf("%d retransmissions counted on lo: outgoing copies got through", n)
	}

	// The raw packets written alongside rebuild the same exchanges.
	var fromFile collect
	if _, err := capture.ReadFile(context.Background(), pcap, capture.Options{}, &fromFile); err != nil {
		t.Fatalf("read back %s: %v", pcap, err)
	}
	if fromFile.n != len(want) {
		t.Fatalf("%s holds %d exchanges, want %d", pcap, fromFile.n, len(want))
	}
}

type collect struct{ n int }

func (c *collect) Exchange(*storage.Exchange)     { c.n++ }
func (c *collect) Connection(*storage.Connection) {}

func TestLiveAnyInterfaceSeesLoopbackOnce(t *testing.T) {
	skipUnlessPermitted(t)
	srv := startFixtures(t)
	l := startLive(t, "any", srv.HTTPPort(), "")
	want := browse(t, srv)
	l.stop(t)
	got := stored(t, l.st)
	if len(got) != len(want) {
		t.Fatalf("stored %d exchanges, want %d", len(got), len(want))
	}
	ins, _ := l.st.Inputs(context.Background())
	if n := ins[0].Stats["tcp.retransmissions"]; n != 0 {
		t.Errorf("%d retransmissions counted on any: loopback's outgoing copies got through", n)
	}
}

// TestLiveStopFlushesPendingRequests stops the capture (as SIGINT does)
// while a request still waits for its answer: it is stored with status 0
// and a warning, within a second.
func TestLiveStopFlushesPendingRequests(t *testing.T) {
	skipUnlessPermitted(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // read nothing back, answer nothing
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	l := startLive(t, "lo", port, "")
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: api.corscope.test\r\nOrigin: https://evil.example\r\n\r\n")
	srvConn := <-accepted
	defer srvConn.Close()
	time.Sleep(300 * time.Millisecond) // let the request reach the ring

	if took := l.stop(t); took > time.Second {
		t.Errorf("stop took %s, want under a second", took)
	}
	var ex []*storage.Exchange
	l.st.Exchanges(context.Background(), storage.Query{}, func(e *storage.Exchange) error { ex = append(ex, e); return nil })
	if len(ex) != 1 {
		t.Fatalf("stored %d exchanges, want the pending one", len(ex))
	}
	if ex[0].Path != "/slow" || ex[0].Status != 0 || len(ex[0].Warnings) == 0 {
		t.Fatalf("pending request stored as %s %d %q; want /slow, status 0 and a warning", ex[0].Path, ex[0].Status, ex[0].Warnings)
	}
}

func TestOpenErrorsAreOneLine(t *testing.T) {
	_, err := Open(SourceConfig{Interface: "corscope-nosuch0"})
	if err == nil || !strings.Contains(err.Error(), `no such interface "corscope-nosuch0"`) {
		t.Fatalf("missing interface: %v", err)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{unix.EPERM, "CAP_NET_RAW"},
		{fmt.Errorf("socket: %w", os.ErrPermission), "CAP_NET_RAW"},
		{unix.ENETDOWN, "interface eth9 is down"},
		{unix.ENODEV, `no such interface "eth9"`},
	} {
		msg := openError("eth9", tc.err).Error()
		if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("openError(%v) = %q, want one line with %q", tc.err, msg, tc.want)
		}
	}
	if _, err := Open(SourceConfig{Interface: "any", Promisc: true}); err == nil {
		t.Fatal("promiscuous any accepted")
	}
}

// TestLiveDecryptsTLSWithAGrowingKeyLog captures HTTPS on lo while the
// server appends its session secrets to a key log, as a browser does.
func TestLiveDecryptsTLSWithAGrowingKeyLog(t *testing.T) {
	skipUnlessPermitted(t)
	logPath := filepath.Join(t.TempDir(), "keys.log")
	kl, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	srv, err := fixtureserver.Start(fixtureserver.Config{DisableHTTP: true, KeyLog: kl})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	keys := keylog.New(0)
	if err := keys.WatchFile(logPath); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, "tls.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	cfg := Config{
		Source:  SourceConfig{Interface: "lo", Filter: Filter{Ports: []uint16{uint16(srv.HTTPSPort())}}},
		Store:   st,
		Capture: capture.Options{Keys: keys},
		Write:   filepath.Join(t.TempDir(), "tls.pcapng"),
		Keylogs: []string{logPath},
		Ready:   func() { close(ready) },
	}
	go func() { _, err := Run(ctx, cfg); done <- err }()
	<-ready

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CertPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: fixtureserver.APIHost}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, origin := range []string{"https://evil.example", "https://attacker.example"} {
		req, _ := http.NewRequest("GET", "https://"+srv.HTTPSAddr()+"/reflect", nil)
		req.Host = fixtureserver.APIHost
		req.Header.Set("Origin", origin)
		req.Header.Set("Cookie", "sid=1")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Decrypted while running: the key log is re-read as it grows.
	deadline := time.Now().Add(5 * time.Second)
	for len(stored(t, st)) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := stored(t, st)
	want := []sent{
		{"GET", "/reflect", "https://evil.example", 200},
		{"GET", "/reflect", "https://attacker.example", 200},
	}
	if !slices.Equal(got, want) {
		ins, _ := st.Inputs(context.Background())
		b, _ := os.ReadFile(logPath)
		t.Fatalf("decrypted exchanges %v, want %v (input: %+v) keys %+v growing %v log %d bytes", got, want, ins, keys.Stats(), keys.Growing(), len(b))
	}
	// The written capture carries the secrets: it decrypts without --keylog.
	var fromFile collect
	fst, err := capture.ReadFile(context.Background(), cfg.Write, capture.Options{}, &fromFile)
	if err != nil || fromFile.n != 2 || len(fst.Secrets) == 0 {
		t.Fatalf("%s: %d exchanges, %d secrets blocks, %v; want 2 decrypted from its own DSBs", cfg.Write, fromFile.n, len(fst.Secrets), err)
	}
}

// TestLivePausesSlowPeriodicAnalysis: once a run takes longer than the
// budget, periodic analysis stops; the final run still covers everything.
func TestLivePausesSlowPeriodicAnalysis(t *testing.T) {
	skipUnlessPermitted(t)
	srv := startFixtures(t)
	st := openStore(t, "slow.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var runs []int64 // exchanges stored when each run started
	ready := make(chan struct{})
	done := make(chan *Summary, 1)
	cfg := Config{
		Source: SourceConfig{Interface: "lo", Filter: Filter{Ports: []uint16{uint16(srv.HTTPPort())}}},
		Store:  st,
		Analyze: func(ctx context.Context) (*storage.Analysis, error) {
			n, _ := st.Count(ctx, "exchanges")
			mu.Lock()
			runs = append(runs, n)
			mu.Unlock()
			time.Sleep(60 * time.Millisecond)
			return analysisrun.Run(ctx, st, nil, "test")
		},
		AnalyzeEvery: 50 * time.Millisecond, AnalyzeBudget: 20 * time.Millisecond,
		Ready: func() { close(ready) },
	}
	go func() {
		s, err := Run(ctx, cfg)
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	<-ready
	browse(t, srv)
	// The second round must come after the first periodic run (which goes
	// over budget): wait for it rather than for a fixed time, which a
	// loaded machine overruns.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		started := len(runs) > 0
		mu.Unlock()
		if started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no periodic analysis ran")
		}
	}
	time.Sleep(100 * time.Millisecond) // let the first run finish and pause
	want := browse(t, srv)
	time.Sleep(200 * time.Millisecond)
	cancel()
	sum := <-done
	if sum == nil || !sum.AnalysisPaused {
		t.Fatalf("summary %+v: periodic analysis not paused", sum)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 2 || runs[1] != int64(2*len(want)) {
		t.Fatalf("analysis runs saw %v exchanges; want one periodic run, then the final over all %d", runs, 2*len(want))
	}
	if !hasFinding(t, st, "cors-reflect-any-credentials") {
		t.Fatal("final analysis saved no finding")
	}
}

// openStore opens a new database in the test's temporary directory,
// closed when the test ends.
func openStore(t *testing.T, name string) *storage.Store {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
