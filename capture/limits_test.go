package capture

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/synth"
	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// capBuilder is synth's hand-driven capture with this file's clock.
type capBuilder struct{ *synth.Capture }

func newCapBuilder(t *testing.T) *capBuilder {
	return &capBuilder{synth.NewCapture(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), 100*time.Microsecond)}
}

// capConn is one connection of a capBuilder.
type capConn struct{ *synth.Conn }

func (b *capBuilder) open(port uint16) *capConn {
	return &capConn{b.Open(netip.AddrPortFrom(netip.MustParseAddr("10.9.0.2"), port),
		netip.MustParseAddrPort("10.9.0.80:80"), 1000, 90000)}
}

func (c *capConn) request(s string)  { c.Send(true, []byte(s)) }
func (c *capConn) response(s string) { c.Send(false, []byte(s)) }

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: api.test\r\n\r\n" }

const ok2 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func readWith(t *testing.T, b *capBuilder, opts Options) (*collectSink, Stats) {
	t.Helper()
	sink := &collectSink{}
	st, err := Read(context.Background(), bytes.NewReader(b.Buf.Bytes()), "limits.pcap", opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	return sink, st
}

// byPath indexes exchanges by request path; orphan responses ("request
// not in capture") come under "".
func byPath(t *testing.T, xs []*storage.Exchange) map[string]*storage.Exchange {
	m := map[string]*storage.Exchange{}
	for _, x := range xs {
		if m[x.Path] != nil {
			t.Fatalf("two exchanges for %q", x.Path)
		}
		m[x.Path] = x
	}
	return m
}

func count(x *storage.Exchange, w string) int {
	n := 0
	for _, s := range x.Warnings {
		if s == w {
			n++
		}
	}
	return n
}

// noLimitWarnings fails when x carries any limit warning of this file.
func noLimitWarnings(t *testing.T, x *storage.Exchange) {
	t.Helper()
	for _, w := range x.Warnings {
		if strings.HasPrefix(w, WarnEvictedPrefix) || strings.HasPrefix(w, WarnIdleClosedPrefix) || strings.Contains(w, warnBufferCapMarker) {
			t.Errorf("%s %s: unaffected exchange flagged %q", x.Client, x.Path, w)
		}
	}
}

func TestEvictionFlagsThePendingExchanges(t *testing.T) {
	b := newCapBuilder(t)
	first := b.open(41000)
	first.request(get("/done"))
	first.response(ok2)
	first.request(get("/pending")) // still waiting when the connection goes
	partial := b.open(41001)
	partial.request(get("/partial"))
	partial.response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
	third := b.open(41002) // over the cap of 2: the least recently seen (first) goes
	third.request(get("/third"))
	fourth := b.open(41003) // and now partial
	fourth.request(get("/fourth"))
	for _, c := range []*capConn{third, fourth} {
		c.response(ok2)
		c.Close()
	}
	first.response(ok2) // the answer to /pending, on a connection evicted meanwhile
	opts := Options{}
	opts.Reassembly.MaxConnections = 2
	sink, st := readWith(t, b, opts)
	m := byPath(t, sink.exchanges)

	lost := fmt.Sprintf(WarnEvictedFmt, 2, WarnOutcomeLost)
	if x := m["/pending"]; x == nil || x.Status != 0 || count(x, lost) != 1 || count(x, http1.WarnNoResponse) != 1 {
		t.Fatalf("/pending: %+v", x)
	}
	partialWarn := "connection evicted at the 2-connection cap (--max-connections): response may be incomplete"
	if x := m["/partial"]; x == nil || x.Status != 200 || count(x, partialWarn) != 1 || len(x.Warnings) != 2 {
		t.Fatalf("/partial: %+v", x)
	}
	resumed := "connection continued after its eviction at the 2-connection cap (--max-connections): start of this exchange cut off"
	if x := m[""]; x == nil || x.Status != 200 || count(x, resumed) != 1 || count(x, http1.WarnRequestMissing) != 1 {
		t.Fatalf("answer to /pending: %+v", x)
	}
	for _, p := range []string{"/done", "/third", "/fourth"} {
		if m[p] == nil || m[p].Status != 200 {
			t.Fatalf("%s: %+v", p, m[p])
		}
		noLimitWarnings(t, m[p])
	}
	if st.Counters["tcp.evicted"] != 2 || st.Counters[CounterExchangesEvicted] != 3 {
		t.Fatalf("counters %v", st.Counters)
	}
	if !strings.Contains(strings.Join(st.Warnings, "\n"), "2 connections evicted; 3 exchanges flagged") {
		t.Fatalf("input warnings %q", st.Warnings)
	}

	// Under the default cap nothing is evicted or flagged.
	sink, st = readWith(t, b, Options{})
	for _, x := range sink.exchanges {
		noLimitWarnings(t, x)
	}
	if st.Counters[CounterExchangesEvicted] != 0 {
		t.Fatalf("default counters %v", st.Counters)
	}
}

// busy keeps capture time moving with ACKs on another connection, so the
// assembler's sweeps (every 1024 packets) see the quiet one idle.
func (b *capBuilder) busy(port uint16, d time.Duration) {
	c := b.open(port)
	step := d / 1100
	for i := 0; i < 1100; i++ {
		b.Now = b.Now.Add(step)
		b.Packet(c.Client, c.Server, c.CS, c.SS, packet.FlagACK, nil)
	}
}

func TestIdleTimeoutFlagsThePendingExchanges(t *testing.T) {
	b := newCapBuilder(t)
	quiet := b.open(43000)
	quiet.request(get("/done"))
	quiet.response(ok2)
	quiet.request(get("/slow"))
	half := b.open(43001)
	half.request(get("/half"))
	half.response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome")
	b.busy(43002, 3*time.Second)
	quiet.response(ok2) // too late: the connection was closed at the timeout
	opts := Options{}
	opts.Reassembly.IdleTimeout = time.Second
	sink, st := readWith(t, b, opts)
	m := byPath(t, sink.exchanges)
	lost := "connection closed by the 1s idle timeout (--idle-timeout): no response seen before the close"
	if x := m["/slow"]; x == nil || x.Status != 0 || count(x, lost) != 1 {
		t.Fatalf("/slow: %+v", x)
	}
	if x := m["/half"]; x == nil || x.Status != 200 || count(x, fmt.Sprintf(WarnIdleClosedFmt, time.Second, WarnOutcomePartial)) != 1 {
		t.Fatalf("/half: %+v", x)
	}
	noLimitWarnings(t, m["/done"])
	if st.Counters["tcp.idle_closed"] < 2 || st.Counters[CounterExchangesIdleClosed] != 2 {
		t.Fatalf("counters %v", st.Counters)
	}
	if !strings.Contains(strings.Join(st.Warnings, "\n"), "2 exchanges cut short by the idle timeout") {
		t.Fatalf("input warnings %q", st.Warnings)
	}

	sink, st = readWith(t, b, Options{})
	m = byPath(t, sink.exchanges)
	if m["/slow"] == nil || m["/slow"].Status != 200 || st.Counters[CounterExchangesIdleClosed] != 0 {
		t.Fatalf("default: /slow %+v, counters %v", m["/slow"], st.Counters)
	}
	for _, x := range sink.exchanges {
		noLimitWarnings(t, x)
	}
}

// holdBack sends s from the client with its first 1400 bytes held back
// until after the rest (a hole the rest waits behind), or dropped.
func (c *capConn) holdBack(s string, thenSendFirst bool) {
	if len(s) <= 1400 {
		panic("holdBack needs more than 1400 bytes")
	}
	start := c.CS
	c.CS += 1400
	c.request(s[1400:])
	end := c.CS
	if thenSendFirst {
		c.CS = start
		c.request(s[:1400])
	}
	c.CS = end
}

func TestBufferCapPerConnectionFlagsTheCutRequest(t *testing.T) {
	b := newCapBuilder(t)
	c := b.open(44000)
	c.request(get("/before"))
	c.response(ok2)
	c.request("POST /up HTTP/1.1\r\nHost: api.test\r\nContent-Length: 6000\r\n\r\n")
	c.holdBack(strings.Repeat("q", 6000), true) // the body's first 1400 bytes come last
	c.response(ok2)
	c.request(get("/after"))
	c.response(ok2)
	c.Close()
	opts := Options{}
	opts.Reassembly.MaxBufferedPerConn = 2048
	sink, st := readWith(t, b, opts)
	m := byPath(t, sink.exchanges)
	want := "1400 bytes skipped at the per-connection reassembly buffer cap of 2048 bytes (--max-buffered-per-conn)"
	if x := m["/up"]; x == nil || x.Status != 200 || count(x, want) != 1 {
		t.Fatalf("/up: %+v", x)
	}
	noLimitWarnings(t, m["/before"])
	noLimitWarnings(t, m["/after"])
	if st.Counters["tcp.holes_forced_by_buffer_cap"] != 1 || st.Counters["tcp.buffer_cap_bytes_skipped"] != 1400 ||
		st.Counters[CounterExchangesBufferCap] != 1 {
		t.Fatalf("counters %v", st.Counters)
	}

	sink, st = readWith(t, b, Options{})
	for _, x := range sink.exchanges {
		noLimitWarnings(t, x)
	}
	if len(sink.exchanges) != 3 || st.Counters[CounterExchangesBufferCap] != 0 {
		t.Fatalf("default: %d exchanges, counters %v", len(sink.exchanges), st.Counters)
	}
}

// A hole that takes a whole request: the next request says bytes were
// skipped before it, and the answer to the lost one (an orphan) says why.
func TestBufferCapBetweenRequestsFlagsTheNext(t *testing.T) {
	b := newCapBuilder(t)
	c := b.open(45000)
	c.request(get("/a"))
	c.response(ok2)
	lostReq := "GET /b HTTP/1.1\r\nHost: api.test\r\nX-Pad: " + strings.Repeat("p", 1400-len("GET /b HTTP/1.1\r\nHost: api.test\r\nX-Pad: \r\n\r\n")) + "\r\n\r\n"
	next := "POST /c HTTP/1.1\r\nHost: api.test\r\nContent-Length: 3000\r\n\r\n" + strings.Repeat("c", 3000)
	c.holdBack(lostReq+next, false) // /b never arrives
	c.response(ok2)
	c.response(ok2)
	c.Close()
	opts := Options{}
	opts.Reassembly.MaxBufferedPerConn = 2048
	sink, st := readWith(t, b, opts)
	m := byPath(t, sink.exchanges)
	want := fmt.Sprintf(WarnBufferCapPerConnFmt, 1400, 2048)
	if x := m["/c"]; x == nil || count(x, want) != 1 {
		t.Fatalf("/c: %+v", x)
	}
	if x := m[""]; x == nil || count(x, http1.WarnRequestMissing) != 1 || count(x, want) != 1 {
		t.Fatalf("orphan response: %+v", x)
	}
	noLimitWarnings(t, m["/a"])
	if st.Counters[CounterExchangesBufferCap] != 2 {
		t.Fatalf("counters %v", st.Counters)
	}
}

func TestBufferCapTotalFlagsTheCutRequests(t *testing.T) {
	b := newCapBuilder(t)
	head := "POST /up HTTP/1.1\r\nHost: api.test\r\nContent-Length: 6000\r\n\r\n"
	body := strings.Repeat("q", 6000)
	var cs []*capConn
	firsts := []uint32{}
	for i := 0; i < 2; i++ {
		c := b.open(uint16(46000 + i))
		c.request(get(fmt.Sprintf("/before%d", i)))
		c.response(ok2)
		c.request(head)
		cs = append(cs, c)
		firsts = append(firsts, c.CS)
	}
	// Both connections' tails wait behind their holes at the same time.
	for _, c := range cs {
		c.CS += 1400
		c.request(body[1400:])
	}
	for i, c := range cs {
		end := c.CS
		c.CS = firsts[i]
		c.request(body[:1400])
		c.CS = end
		c.response(ok2)
		c.Close()
	}
	opts := Options{}
	opts.Reassembly.MaxBufferedTotal = 6000
	sink, st := readWith(t, b, opts)
	want := "1400 bytes skipped at the total reassembly buffer cap of 6000 bytes (--max-buffered-total)"
	flagged := 0
	for _, x := range sink.exchanges {
		if x.Path == "/up" {
			flagged += count(x, want)
			continue
		}
		noLimitWarnings(t, x)
	}
	if flagged == 0 || int64(flagged) != st.Counters[CounterExchangesBufferCap] || st.Counters["tcp.buffer_cap_bytes_skipped"] != int64(1400*flagged) {
		t.Fatalf("%d flagged, counters %v", flagged, st.Counters)
	}
	sink, _ = readWith(t, b, Options{})
	for _, x := range sink.exchanges {
		noLimitWarnings(t, x)
	}
}

// h2Wire writes prior-knowledge h2c frames over a capConn.
type h2Wire struct {
	c   *capConn
	wb  [2]bytes.Buffer
	hb  [2]bytes.Buffer
	fr  [2]*http2.Framer
	enc [2]*hpack.Encoder
}

func newH2Wire(c *capConn) *h2Wire {
	w := &h2Wire{c: c}
	for i := range w.fr {
		w.fr[i] = http2.NewFramer(&w.wb[i], nil)
		w.enc[i] = hpack.NewEncoder(&w.hb[i])
	}
	w.wb[0].WriteString(h2.Preface)
	w.fr[0].WriteSettings()
	w.flush(0)
	w.fr[1].WriteSettings()
	w.flush(1)
	return w
}

func (w *h2Wire) flush(i int) {
	w.c.Send(i == 0, w.wb[i].Bytes())
	w.wb[i].Reset()
}

func (w *h2Wire) headers(i int, id uint32, kv ...string) {
	w.hb[i].Reset()
	for j := 0; j+1 < len(kv); j += 2 {
		w.enc[i].WriteField(hpack.HeaderField{Name: kv[j], Value: kv[j+1]})
	}
	w.fr[i].WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndStream: true, EndHeaders: true, BlockFragment: w.hb[i].Bytes()})
}

func (w *h2Wire) get(id uint32, extra ...string) {
	w.headers(0, id, append([]string{":method", "GET", ":scheme", "http", ":authority", "h2.test", ":path", fmt.Sprintf("/s/%d", id)}, extra...)...)
}

func TestH2StreamCapFlagsTheUntrackedStream(t *testing.T) {
	b := newCapBuilder(t)
	w := newH2Wire(b.open(47000))
	for id := uint32(1); id <= 5; id += 2 {
		w.get(id)
	}
	w.flush(0)
	for id := uint32(1); id <= 5; id += 2 {
		w.headers(1, id, ":status", "200")
	}
	w.flush(1)
	w.c.Close()
	opts := Options{}
	opts.HTTP2.MaxStreams = 2
	sink, st := readWith(t, b, opts)
	m := byPath(t, sink.exchanges)
	capWarn := "stream over the cap of 2 open streams per connection: only its first header block kept"
	if x := m["/s/5"]; x == nil || x.Status != 0 || count(x, capWarn) != 1 || count(x, http1.WarnNoResponse) != 1 {
		t.Fatalf("/s/5: %+v", x)
	}
	for _, p := range []string{"/s/1", "/s/3"} {
		if x := m[p]; x == nil || x.Status != 200 || len(x.Warnings) != 0 {
			t.Fatalf("%s: %+v", p, x)
		}
	}
	if st.Counters["h2.streams_untracked"] != 1 || len(sink.exchanges) != 3 {
		t.Fatalf("%d exchanges, counters %v", len(sink.exchanges), st.Counters)
	}
	sink, st = readWith(t, b, Options{})
	for _, x := range sink.exchanges {
		if x.Status != 200 || len(x.Warnings) != 0 || st.Counters["h2.streams_untracked"] != 0 {
			t.Fatalf("default: %+v, counters %v", x, st.Counters)
		}
	}
}

func TestH2HeaderFieldCapFlagsItsStream(t *testing.T) {
	b := newCapBuilder(t)
	w := newH2Wire(b.open(47001))
	w.get(1)
	w.flush(0)
	w.headers(1, 1, ":status", "200")
	w.flush(1)
	w.get(3, "cookie", strings.Repeat("c", 3000))
	w.flush(0)
	w.headers(1, 3, ":status", "200")
	w.flush(1)
	w.c.Close()
	opts := Options{}
	opts.HTTP.MaxHeaderBytes = 1024
	sink, st := readWith(t, b, opts)
	capWarn := "header field over the 1024-byte cap: header block not decoded"
	var flagged []uint32
	for _, x := range sink.exchanges {
		if count(x, capWarn) == 1 {
			flagged = append(flagged, x.StreamID)
		}
	}
	if fmt.Sprint(flagged) != "[3]" || st.Counters["h2.header_blocks_over_cap"] != 1 {
		t.Fatalf("flagged streams %v, counters %v", flagged, st.Counters)
	}
}

// Live capture: a connection the idle sweep closes flags its pending request.
func TestStreamIdleFlagsThePendingExchange(t *testing.T) {
	sink := &collectSink{}
	opts := Options{}
	opts.Reassembly.IdleTimeout = 10 * time.Second
	s := NewStream(opts, sink)
	start := time.Unix(1700000000, 0)
	done := newFlow(s, 40010, start)
	done.handshake()
	done.send(true, packet.FlagACK|packet.FlagPSH, get("/done"))
	done.send(false, packet.FlagACK|packet.FlagPSH, ok2)
	done.send(true, packet.FlagACK|packet.FlagPSH, get("/pending"))
	s.Idle(start.Add(12 * time.Second))
	st := s.Close(start.Add(13 * time.Second))
	m := byPath(t, sink.exchanges)
	want := "connection closed by the 10s idle timeout (--idle-timeout): no response seen before the close"
	if x := m["/pending"]; x == nil || x.Status != 0 || count(x, want) != 1 {
		t.Fatalf("/pending: %+v", x)
	}
	noLimitWarnings(t, m["/done"])
	if st.Counters[CounterExchangesIdleClosed] != 1 {
		t.Fatalf("counters %v", st.Counters)
	}
}

// A response captured before its request waits for it; over the buffer cap
// it is handed over first, and the exchanges after say pairing may be off.
func TestBufferCapEarlyReleaseFlagsTheExchange(t *testing.T) {
	b := newCapBuilder(t)
	c := b.open(49000)
	c.request(get("/first"))
	c.response(ok2)
	req := get("/late")
	reqSeq := c.CS
	c.CS += uint32(len(req)) // the response acknowledges the request...
	c.response("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + strings.Repeat("r", 3000))
	end := c.CS
	c.CS = reqSeq // ...which the capture recorded after it
	c.request(req)
	c.CS = end
	c.request(get("/next"))
	c.response(ok2)
	c.Close()
	opts := Options{}
	opts.Reassembly.MaxBufferedPerConn = 2048
	sink, st := readWith(t, b, opts)
	want := "bytes handed over before those they answer at the per-connection reassembly buffer cap of 2048 bytes (--max-buffered-per-conn): pairing may be off"
	// The early response comes out as an orphan and shifts the pairs after
	// it: all of those say so; the exchange before the cap does not.
	flagged := 0
	for _, x := range sink.exchanges {
		if x.Path == "/first" {
			noLimitWarnings(t, x)
			continue
		}
		if count(x, want) != 1 {
			t.Errorf("%q status %d not flagged: %q", x.Path, x.Status, x.Warnings)
		}
		flagged++
	}
	if flagged != 3 || st.Counters[CounterExchangesBufferCap] != 3 {
		t.Fatalf("%d flagged, counters %v", flagged, st.Counters)
	}
	// Without the cap the response waits for its request: one clean pair.
	sink, _ = readWith(t, b, Options{})
	m := byPath(t, sink.exchanges)
	if x := m["/late"]; x == nil || x.Status != 200 || len(x.Warnings) != 0 || len(sink.exchanges) != 3 {
		t.Fatalf("default: %d exchanges, /late %+v", len(sink.exchanges), x)
	}
}
