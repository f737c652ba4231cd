package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/synth"
	"github.com/corscope/corscope/internal/redact"
	"github.com/corscope/corscope/storage"
)

// pcapBuilder is synth's hand-driven capture with this file's clock.
type pcapBuilder struct{ *synth.Capture }

func newPcap(t *testing.T) *pcapBuilder {
	return &pcapBuilder{synth.NewCapture(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 100*time.Microsecond)}
}

// tcpConn is one connection of a pcapBuilder.
type tcpConn struct{ *synth.Conn }

func (b *pcapBuilder) open(clientPort uint16) *tcpConn {
	return &tcpConn{b.Open(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), clientPort),
		netip.MustParseAddrPort("10.0.0.9:80"), 1000, 5000)}
}

func (b *pcapBuilder) file(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "in.pcap")
	if err := os.WriteFile(p, b.Buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// ingestWith ingests path with opts and returns the input and its exchanges.
func ingestWith(t *testing.T, path string, opts Options) (storage.Input, []*storage.Exchange) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	res, err := File(ctx, st, path, opts)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	var exs []*storage.Exchange
	for id := int64(1); id <= res.Input.Exchanges; id++ {
		ex, err := st.Exchange(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		exs = append(exs, ex)
	}
	ins, err := st.Inputs(ctx)
	if err != nil || len(ins) != 1 {
		t.Fatalf("inputs %v %v", ins, err)
	}
	return ins[0], exs
}

func hasWarning(ex *storage.Exchange, prefix string) bool {
	for _, w := range ex.Warnings {
		if strings.HasPrefix(w, prefix) {
			return true
		}
	}
	return false
}

// Each HTTP-level limit: the exchange is kept, carries the warning, and the
// input's stats count it; below the limit nothing is flagged.
func TestHTTPLimitsFlagTheExchangeAndCount(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(make([]byte, 2<<20))
	zw.Close()
	bomb := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", gz.Len(), gz.Bytes())
	manyHeaders := "GET /many HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-N: 1\r\n", 40) + "\r\n"
	bigHead := "GET /big HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 8000) + "\r\n\r\n"
	bigBody := "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("z", 5000)

	for _, tc := range []struct {
		name, req, resp string
		limits          Limits
		maxBody         int64
		warning         string
		counter         string
	}{
		{"--max-decoded stops a gzip bomb", "GET /bomb HTTP/1.1\r\nHost: a\r\n\r\n", bomb,
			Limits{MaxDecoded: 256 << 10}, 64 << 10, http1.WarnDecompressionCap, CounterDecompressionCap},
		{"--max-headers keeps the first fields", manyHeaders, okResponse,
			Limits{MaxHeaders: 10}, 0, warnHeaderFieldsCapPrefix, CounterHeaderFieldsCap},
		{"--max-header-bytes skips the rest of a huge head", bigHead, okResponse,
			Limits{MaxHeaderBytes: 4096}, 0, http1.WarnHeaderBytesCap, CounterHeaderSectionCap},
		{"--max-body stores a prefix", "GET /body HTTP/1.1\r\nHost: a\r\n\r\n", bigBody,
			Limits{}, 1024, WarnBodyStoredPrefix, CounterBodyStoredPrefix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newPcap(t)
			c := b.open(40000)
			c.Send(true, []byte(tc.req))
			c.Send(false, []byte(tc.resp))
			c.Close()
			path := b.file(t)
			in, exs := ingestWith(t, path, Options{MaxBody: tc.maxBody, Limits: tc.limits})
			if len(exs) != 1 || !hasWarning(exs[0], tc.warning) {
				t.Fatalf("exchanges %d, warnings %q", len(exs), exs[0].Warnings)
			}
			if in.Stats[tc.counter] != 1 {
				t.Fatalf("stats %v lack %s=1", in.Stats, tc.counter)
			}
			// With the defaults the same input hits nothing.
			in, exs = ingestWith(t, path, Options{})
			if hasWarning(exs[0], tc.warning) || in.Stats[tc.counter] != 0 {
				t.Fatalf("defaults flagged it: %q %v", exs[0].Warnings, in.Stats)
			}
		})
	}
}

func TestMaxConnectionsEvictsAndCounts(t *testing.T) {
	b := newPcap(t)
	var conns []*tcpConn
	for i := 0; i < 3; i++ {
		c := b.open(uint16(41000 + i))
		c.Send(true, []byte(fmt.Sprintf("GET /c%d HTTP/1.1\r\nHost: a\r\n\r\n", i)))
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Send(false, []byte(okResponse))
		c.Close()
	}
	path := b.file(t)
	in, exs := ingestWith(t, path, Options{Limits: Limits{MaxConnections: 2}})
	if in.Stats["tcp.evicted"] == 0 {
		t.Fatalf("stats %v: no eviction counted", in.Stats)
	}
	// The evicted connection's request is kept, unanswered and flagged.
	unanswered := 0
	for _, ex := range exs {
		if ex.Status == 0 && hasWarning(ex, http1.WarnNoResponse) {
			unanswered++
		}
	}
	if len(exs) < 3 || unanswered == 0 {
		t.Fatalf("%d exchanges, %d unanswered", len(exs), unanswered)
	}
	in, exs = ingestWith(t, path, Options{})
	if in.Stats["tcp.evicted"] != 0 || len(exs) != 3 {
		t.Fatalf("defaults: %v, %d exchanges", in.Stats, len(exs))
	}
}

// bufferedInput holds back the first segment of each connection's request
// body so the rest waits out of order behind the hole.
func bufferedInput(t *testing.T, conns int) string {
	b := newPcap(t)
	body := bytes.Repeat([]byte("q"), 6000)
	head := fmt.Sprintf("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", len(body))
	var cs []*tcpConn
	for i := 0; i < conns; i++ {
		c := b.open(uint16(42000 + i))
		c.Send(true, []byte(head))
		cs = append(cs, c)
	}
	// Every connection's tail waits behind its hole at the same time.
	firsts := make([]uint32, len(cs))
	for i, c := range cs {
		firsts[i] = c.CS
		c.CS += 1400 // hole: the first 1400 body bytes come last
		c.Send(true, body[1400:])
	}
	for i, c := range cs {
		end := c.CS
		c.CS = firsts[i]
		c.Send(true, body[:1400])
		c.CS = end
		c.Send(false, []byte(okResponse))
		c.Close()
	}
	return b.file(t)
}

func TestReassemblyBufferCapsForceHolesAndCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		conns  int
		limits Limits
	}{
		{"--max-buffered-per-conn", 1, Limits{MaxBufferedPerConn: 2048}},
		{"--max-buffered-total", 2, Limits{MaxBufferedTotal: 6000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := bufferedInput(t, tc.conns)
			in, exs := ingestWith(t, path, Options{Limits: tc.limits})
			if in.Stats["tcp.holes_forced_by_buffer_cap"] == 0 {
				t.Fatalf("stats %v", in.Stats)
			}
			if len(exs) < tc.conns {
				t.Fatalf("%d exchanges", len(exs))
			}
			in, exs = ingestWith(t, path, Options{})
			if in.Stats["tcp.holes_forced_by_buffer_cap"] != 0 || len(exs) != tc.conns {
				t.Fatalf("defaults: %v, %d exchanges", in.Stats, len(exs))
			}
		})
	}
}

func TestIdleTimeoutClosesSilentConnections(t *testing.T) {
	b := newPcap(t)
	quiet := b.open(43000)
	quiet.Send(true, []byte("GET /quiet HTTP/1.1\r\nHost: a\r\n\r\n"))
	busy := b.open(43001)
	// 1100 keep-alive probes spread over 3 s of capture time: the
	// assembler sweeps idle connections every 1024 packets.
	for i := 0; i < 1100; i++ {
		b.Now = b.Now.Add(3 * time.Millisecond)
		b.Packet(busy.Client, busy.Server, busy.CS, busy.SS, packet.FlagACK, nil)
	}
	quiet.Send(false, []byte(okResponse))
	path := b.file(t)
	in, _ := ingestWith(t, path, Options{Limits: Limits{IdleTimeout: time.Second}})
	if in.Stats["tcp.idle_closed"] == 0 {
		t.Fatalf("stats %v", in.Stats)
	}
	in, exs := ingestWith(t, path, Options{})
	if in.Stats["tcp.idle_closed"] != 0 || len(exs) != 1 || exs[0].Status != 200 {
		t.Fatalf("defaults: %v, %d exchanges", in.Stats, len(exs))
	}
}

func TestMaxHAREntrySkipsAndCounts(t *testing.T) {
	entry := func(url, extra string) string {
		return `{"startedDateTime":"2026-01-02T03:04:05.000Z","time":1,"request":{"method":"GET","url":"` + url +
			`","httpVersion":"HTTP/1.1","headers":[{"name":"X-Pad","value":"` + extra + `"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},` +
			`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":0,"mimeType":"text/plain"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`
	}
	doc := `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[` +
		entry("https://a.example/1", "") + "," + entry("https://a.example/2", strings.Repeat("p", 100<<10)) + "," +
		entry("https://a.example/3", "") + "]}}"
	path := filepath.Join(t.TempDir(), "big-entry.har")
	os.WriteFile(path, []byte(doc), 0o600)
	in, exs := ingestWith(t, path, Options{Limits: Limits{MaxHAREntry: 64 << 10}})
	if len(exs) != 2 || in.Stats[CounterHAREntriesSkipped] != 1 {
		t.Fatalf("%d exchanges, stats %v", len(exs), in.Stats)
	}
	named := false
	for _, w := range in.Warnings {
		named = named || strings.Contains(w, "entry 1 at byte")
	}
	if !named {
		t.Fatalf("warnings %q do not name the skipped entry", in.Warnings)
	}
	in, exs = ingestWith(t, path, Options{})
	if len(exs) != 3 || in.Stats[CounterHAREntriesSkipped] != 0 {
		t.Fatalf("defaults: %d exchanges, stats %v", len(exs), in.Stats)
	}
}

func TestRedactorCountsInTheInputStats(t *testing.T) {
	r, err := redact.Open("")
	if err != nil {
		t.Fatal(err)
	}
	in, exs := ingestWith(t, "../../testdata/har/chromium-cdp-https.har", Options{Redactor: r})
	if in.Stats[CounterRedactedExchanges] == 0 || in.Stats[CounterRedactedValues] < in.Stats[CounterRedactedExchanges] {
		t.Fatalf("stats %v", in.Stats)
	}
	for _, ex := range exs {
		if v := ex.RequestHeaders.Value("Cookie"); v != "" && !strings.Contains(v, redact.Prefix) {
			t.Fatalf("cookie stored as %q", v)
		}
	}
	plain, _ := ingestWith(t, "../../testdata/har/chromium-cdp-https.har", Options{})
	if _, ok := plain.Stats[CounterRedactedValues]; ok {
		t.Fatalf("redaction counted without a redactor: %v", plain.Stats)
	}
}

// The reassembly limits flag the exchanges they cut, in the store, with
// the limit named; the input's stats count them.
func TestReassemblyLimitsFlagTheStoredExchanges(t *testing.T) {
	countIn := func(exs []*storage.Exchange, w string) (n int) {
		for _, ex := range exs {
			for _, x := range ex.Warnings {
				if x == w {
					n++
				}
			}
		}
		return n
	}
	t.Run("--max-connections", func(t *testing.T) {
		b := newPcap(t)
		a := b.open(48000)
		a.Send(true, []byte("GET /pending HTTP/1.1\r\nHost: a\r\n\r\n"))
		for i := 1; i <= 2; i++ { // the first of these evicts a
			c := b.open(uint16(48000 + i))
			c.Send(true, []byte("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"))
			c.Send(false, []byte(okResponse))
			c.Close()
		}
		in, exs := ingestWith(t, b.file(t), Options{Limits: Limits{MaxConnections: 1}})
		want := fmt.Sprintf(capture.WarnEvictedFmt, 1, capture.WarnOutcomeLost)
		for _, ex := range exs {
			flagged := countIn([]*storage.Exchange{ex}, want) == 1
			if flagged != (ex.Path == "/pending") {
				t.Errorf("%s status %d: %q", ex.Path, ex.Status, ex.Warnings)
			}
		}
		if len(exs) != 3 || in.Stats[capture.CounterExchangesEvicted] != 1 {
			t.Fatalf("%d exchanges, stats %v", len(exs), in.Stats)
		}
	})
	t.Run("--max-buffered-per-conn", func(t *testing.T) {
		in, exs := ingestWith(t, bufferedInput(t, 1), Options{Limits: Limits{MaxBufferedPerConn: 2048}})
		want := "1400 bytes skipped at the per-connection reassembly buffer cap of 2048 bytes (--max-buffered-per-conn)"
		if len(exs) != 1 || countIn(exs, want) != 1 || in.Stats[capture.CounterExchangesBufferCap] != 1 ||
			in.Stats["tcp.buffer_cap_bytes_skipped"] != 1400 {
			t.Fatalf("warnings %q, stats %v", exs[0].Warnings, in.Stats)
		}
	})
	t.Run("--max-buffered-total", func(t *testing.T) {
		in, exs := ingestWith(t, bufferedInput(t, 2), Options{Limits: Limits{MaxBufferedTotal: 6000}})
		want := "1400 bytes skipped at the total reassembly buffer cap of 6000 bytes (--max-buffered-total)"
		// Only the connection whose bytes went over the total lost its hole.
		if len(exs) != 2 || countIn(exs, want) != 1 || in.Stats[capture.CounterExchangesBufferCap] != 1 {
			t.Fatalf("%d exchanges, stats %v", len(exs), in.Stats)
		}
	})
	t.Run("--idle-timeout", func(t *testing.T) {
		b := newPcap(t)
		quiet := b.open(48100)
		quiet.Send(true, []byte("GET /quiet HTTP/1.1\r\nHost: a\r\n\r\n"))
		busy := b.open(48101)
		busy.Send(true, []byte("GET /busy HTTP/1.1\r\nHost: a\r\n\r\n"))
		busy.Send(false, []byte(okResponse))
		for i := 0; i < 1100; i++ {
			b.Now = b.Now.Add(3 * time.Millisecond)
			b.Packet(busy.Client, busy.Server, busy.CS, busy.SS, packet.FlagACK, nil)
		}
		in, exs := ingestWith(t, b.file(t), Options{Limits: Limits{IdleTimeout: time.Second}})
		want := "connection closed by the 1s idle timeout (--idle-timeout): no response seen before the close"
		for _, ex := range exs {
			flagged := countIn([]*storage.Exchange{ex}, want) == 1
			if flagged != (ex.Path == "/quiet") {
				t.Errorf("%s status %d: %q", ex.Path, ex.Status, ex.Warnings)
			}
		}
		if len(exs) != 2 || in.Stats[capture.CounterExchangesIdleClosed] != 1 {
			t.Fatalf("%d exchanges, stats %v", len(exs), in.Stats)
		}
	})
}

// The header caps flag only the message over them, with the cap named.
func TestHeaderCapsFlagOnlyTheMessageOverThem(t *testing.T) {
	b := newPcap(t)
	c := b.open(48200)
	for _, req := range []string{
		"GET /plain HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /many HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-N: 1\r\n", 40) + "\r\n",
		"GET /big HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 8000) + "\r\n\r\n",
		"GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		c.Send(true, []byte(req))
		c.Send(false, []byte(okResponse))
	}
	c.Close()
	in, exs := ingestWith(t, b.file(t), Options{Limits: Limits{MaxHeaders: 10, MaxHeaderBytes: 4096}})
	want := map[string]string{"/many": "header fields over the cap of 10 skipped: 31", "/big": http1.WarnHeaderBytesCap}
	if len(exs) != 4 {
		t.Fatalf("%d exchanges", len(exs))
	}
	for _, ex := range exs {
		for _, w := range ex.Warnings {
			if w != want[ex.Path] {
				t.Errorf("%s: unexpected warning %q", ex.Path, w)
			}
		}
		if w := want[ex.Path]; w != "" && !slices.Contains(ex.Warnings, w) {
			t.Errorf("%s: %q lacks %q", ex.Path, ex.Warnings, w)
		}
		if ex.Status != 200 {
			t.Errorf("%s: status %d", ex.Path, ex.Status)
		}
	}
	if in.Stats[CounterHeaderFieldsCap] != 1 || in.Stats[CounterHeaderSectionCap] != 1 {
		t.Fatalf("stats %v", in.Stats)
	}
}
