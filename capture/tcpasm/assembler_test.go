package tcpasm

import (
	"bytes"
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/packet"
)

var (
	cli = netip.MustParseAddrPort("10.1.1.1:51000")
	srv = netip.MustParseAddrPort("10.1.1.2:80")
	t0  = time.Unix(1700000000, 0)
)

// recorder is a byte-level consumer: it rebuilds each direction with gaps
// marked, so tests can compare against what was sent.
type recorder struct {
	conn   *Conn
	buf    [2]bytes.Buffer
	gaps   [2][]int
	pkts   [2][]int64
	closed bool
	events []string
}

func (r *recorder) Data(d Dir, c *Chunk) {
	if r.closed {
		panic("data after close")
	}
	r.buf[d].Write(c.Data)
	r.pkts[d] = append(r.pkts[d], c.Packet)
	r.events = append(r.events, fmt.Sprintf("%d:%q", d, c.Data))
}

func (r *recorder) Gap(d Dir, lost int, _ time.Time) {
	r.gaps[d] = append(r.gaps[d], lost)
	r.buf[d].WriteString(strings.Repeat("?", lost))
	r.events = append(r.events, fmt.Sprintf("%d:gap%d", d, lost))
}

func (r *recorder) Close(time.Time) { r.closed = true }

type harness struct {
	a    *Assembler
	recs []*recorder
	pkt  int64
	t    time.Time
}

func newHarness(opt Options) *harness {
	h := &harness{t: t0}
	if opt.Classify == nil {
		opt.Classify = func(b []byte) (bool, bool) {
			return bytes.HasPrefix(b, []byte("GET ")), bytes.HasPrefix(b, []byte("HTTP/1."))
		}
	}
	h.a = New(opt, func(c *Conn) Stream {
		r := &recorder{conn: c}
		h.recs = append(h.recs, r)
		return r
	})
	return h
}

func (h *harness) send(from, to netip.AddrPort, seq, ack uint32, flags uint8, data string) {
	h.pkt++
	h.t = h.t.Add(time.Millisecond)
	s := packet.Segment{Src: from, Dst: to, Seq: seq, Ack: ack, Flags: flags | packet.FlagACK, Payload: []byte(data)}
	if flags&packet.FlagSYN != 0 && to == srv {
		s.Flags &^= packet.FlagACK
	}
	h.a.Add(&s, h.pkt, h.t)
}

const (
	cISN = 1000
	sISN = 5000
)

func (h *harness) handshake() {
	h.send(cli, srv, cISN, 0, packet.FlagSYN, "")
	h.send(srv, cli, sISN, cISN+1, packet.FlagSYN, "")
	h.send(cli, srv, cISN+1, sISN+1, 0, "")
}

func TestInOrderWithHandshakeAndFins(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	h.send(srv, cli, sISN+1, cISN+19, 0, "HTTP/1.1 200 OK\r\n")
	h.send(srv, cli, sISN+18, cISN+19, packet.FlagFIN, "\r\n")
	h.send(cli, srv, cISN+19, sISN+21, packet.FlagFIN, "")
	h.send(srv, cli, sISN+21, cISN+20, 0, "")
	if len(h.recs) != 1 {
		t.Fatalf("%d connections", len(h.recs))
	}
	r := h.recs[0]
	if !r.closed || r.buf[0].String() != "GET / HTTP/1.1\r\n\r\n" || r.buf[1].String() != "HTTP/1.1 200 OK\r\n\r\n" {
		t.Fatalf("closed %v c2s %q s2c %q", r.closed, r.buf[0].String(), r.buf[1].String())
	}
	c := r.conn
	if c.No != 1 || c.Client != cli || c.Server != srv || !c.SawSYN || c.DirectionBy != DirectionBySYN || c.Packets != 7 || c.Bytes != 37 {
		t.Errorf("conn %+v", c)
	}
	if len(r.gaps[0])+len(r.gaps[1]) != 0 {
		t.Errorf("unexpected gaps %v", r.gaps)
	}
	if h.a.Open() != 0 || h.a.Counters().IgnoredAfterClose != 1 {
		t.Errorf("open %d, counters %+v", h.a.Open(), h.a.Counters())
	}
}

func TestOutOfOrderDuplicateAndConflictingRetransmission(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+5, sISN+1, 0, "EFGH")  // ahead: buffered
	h.send(cli, srv, cISN+5, sISN+1, 0, "EFxx")  // conflicting copy of buffered bytes
	h.send(cli, srv, cISN+1, sISN+1, 0, "ABCD")  // fills the hole
	h.send(cli, srv, cISN+1, sISN+1, 0, "ABCD")  // plain duplicate
	h.send(cli, srv, cISN+3, sISN+1, 0, "Cz")    // conflicting copy of delivered bytes
	h.send(cli, srv, cISN+7, sISN+1, 0, "GHIJK") // overlaps delivered tail, new tail
	h.a.FlushAll(h.t)
	r := h.recs[0]
	if got := r.buf[0].String(); got != "ABCDEFGHIJK" {
		t.Fatalf("stream %q", got)
	}
	c := h.a.Counters()
	if c.OutOfOrder != 2 || c.ConflictingRetrans != 2 || c.Retransmissions < 2 {
		t.Errorf("counters %+v", c)
	}
	if len(r.conn.Warnings) == 0 || !strings.Contains(strings.Join(r.conn.Warnings, ";"), "different data") {
		t.Errorf("warnings %v", r.conn.Warnings)
	}
}

func TestLostSegmentBecomesGapOnAckEvidence(t *testing.T) {
	h := newHarness(Options{ReorderPackets: 4})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET /a HTTP/1.1\r\n\r\n") // 19 bytes
	h.send(srv, cli, sISN+1, cISN+20, 0, "HTTP/1.1 200 OK\r\n")    // 17 bytes
	// lost: srv seq sISN+18 "Content-Length: 0\r\n\r\n" (21 bytes)
	h.send(cli, srv, cISN+20, sISN+39, 0, "GET /b HTTP/1.1\r\n\r\n") // acks the lost bytes
	h.send(srv, cli, sISN+39, cISN+39, 0, "HTTP/1.1 204 No Content\r\n\r\n")
	if h.recs[0].buf[1].Len() != 17 {
		t.Fatalf("resolved too early: %q", h.recs[0].buf[1].String())
	}
	for i := 0; i < 4; i++ {
		h.send(cli, srv, cISN+39, sISN+66, 0, "")
	}
	r := h.recs[0]
	if len(r.gaps[1]) != 1 || r.gaps[1][0] != 21 {
		t.Fatalf("gaps %v, events %v", r.gaps, r.events)
	}
	if want := "HTTP/1.1 200 OK\r\n" + strings.Repeat("?", 21) + "HTTP/1.1 204 No Content\r\n\r\n"; r.buf[1].String() != want {
		t.Fatalf("s2c %q", r.buf[1].String())
	}
	if h.a.Counters().GapBytes != 21 {
		t.Errorf("gap bytes %d", h.a.Counters().GapBytes)
	}
}

func TestTrailingLossReportedAtFlush(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	h.send(cli, srv, cISN+19, sISN+101, 0, "")                // server's 100 bytes never captured
	h.send(cli, srv, cISN+19, sISN+1<<30, packet.FlagRST, "") // RST acks are no evidence
	h.a.FlushAll(h.t)
	r := h.recs[0]
	if len(r.gaps[1]) != 1 || r.gaps[1][0] != 100 || !r.closed {
		t.Fatalf("gaps %v closed %v", r.gaps, r.closed)
	}
}

func TestNoSynDirectionFromBytes(t *testing.T) {
	h := newHarness(Options{})
	// The first captured payload is the server's response: the client is
	// the other side, whatever the first packet's direction.
	h.send(srv, cli, 9000, 7000, 0, "HTTP/1.1 200 OK\r\n\r\n")
	h.send(cli, srv, 7000, 9019, 0, "GET /next HTTP/1.1\r\n\r\n")
	h.a.FlushAll(h.t)
	c := h.recs[0].conn
	if c.Client != cli || c.Server != srv || c.DirectionBy != DirectionByData || c.SawSYN {
		t.Fatalf("conn %+v", c)
	}
	if h.recs[0].buf[1].String() != "HTTP/1.1 200 OK\r\n\r\n" || h.recs[0].buf[0].String() != "GET /next HTTP/1.1\r\n\r\n" {
		t.Fatalf("streams %q / %q", h.recs[0].buf[0].String(), h.recs[0].buf[1].String())
	}
}

func TestNoSynDirectionFromPorts(t *testing.T) {
	h := newHarness(Options{})
	h.send(srv, cli, 9000, 7000, 0, "\x00binary body")
	h.a.FlushAll(h.t)
	c := h.recs[0].conn
	if c.Server != srv || c.DirectionBy != DirectionByPort || len(c.Warnings) == 0 {
		t.Fatalf("conn %+v", c)
	}
}

func TestPureAcksDoNotCreateConnections(t *testing.T) {
	h := newHarness(Options{})
	h.send(cli, srv, 1, 2, 0, "")
	h.send(cli, srv, 1, 2, packet.FlagFIN, "")
	if len(h.recs) != 0 || h.a.Counters().IgnoredNoConnection != 2 {
		t.Fatalf("%d conns %+v", len(h.recs), h.a.Counters())
	}
}

func TestIdleTimeoutByCaptureTime(t *testing.T) {
	h := newHarness(Options{IdleTimeout: 10 * time.Second})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	other := netip.MustParseAddrPort("10.1.1.3:52000")
	h.t = h.t.Add(time.Minute)
	for i := 0; i < 1024; i++ { // sweeps run every 1024 packets
		h.send(other, srv, uint32(100+i), 1, 0, "x")
	}
	if !h.recs[0].closed || h.a.Counters().IdleClosed != 1 {
		t.Fatalf("idle connection not closed: %+v", h.a.Counters())
	}
}

func TestConnectionCapEvicts(t *testing.T) {
	h := newHarness(Options{MaxConnections: 8})
	for i := 0; i < 40; i++ {
		c := netip.AddrPortFrom(cli.Addr(), uint16(20000+i))
		h.send(c, srv, 1, 1, 0, "GET / HTTP/1.1\r\n")
		if h.a.Open() > 8 {
			t.Fatalf("%d open connections, cap 8", h.a.Open())
		}
	}
	if h.a.Counters().Evicted == 0 {
		t.Fatal("no eviction counted")
	}
}

func TestBufferCapForcesGap(t *testing.T) {
	h := newHarness(Options{MaxBufferedPerConn: 100})
	h.handshake()
	seq := uint32(cISN + 1 + 10) // 10 bytes lost, then 200 bytes ahead
	for i := 0; i < 20; i++ {
		h.send(cli, srv, seq, sISN+1, 0, "0123456789")
		seq += 10
	}
	r := h.recs[0]
	if len(r.gaps[0]) != 1 || r.gaps[0][0] != 10 || h.a.Counters().ForcedByBufferCap == 0 {
		t.Fatalf("gaps %v counters %+v", r.gaps, h.a.Counters())
	}
	if h.a.buffered > 100 {
		t.Errorf("%d bytes buffered over the cap", h.a.buffered)
	}
}

func TestSnaplenMissingBytesAreAGap(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.pkt++
	s := packet.Segment{Src: cli, Dst: srv, Seq: cISN + 1, Ack: sISN + 1, Flags: packet.FlagACK, Payload: []byte("GET"), Missing: 50}
	h.a.Add(&s, h.pkt, h.t)
	h.send(cli, srv, cISN+54, sISN+1, 0, "tail")
	r := h.recs[0]
	if r.buf[0].String() != "GET"+strings.Repeat("?", 50)+"tail" {
		t.Fatalf("%q", r.buf[0].String())
	}
}

func TestPacketNumbersTravelWithBytes(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()                              // packets 1-3
	h.send(cli, srv, cISN+4, sISN+1, 0, "DEF") // 4, buffered
	h.send(cli, srv, cISN+1, sISN+1, 0, "ABC") // 5
	if p := h.recs[0].pkts[0]; len(p) != 2 || p[0] != 5 || p[1] != 4 {
		t.Fatalf("packet numbers %v", p)
	}
}

// scramble cuts a stream into segments and drops, duplicates and reorders
// them deterministically.
func scramble(rng *rand.Rand, data []byte, drop, dup, reorder float64) (segs []packet.Segment, lost []bool) {
	lost = make([]bool, len(data))
	for off := 0; off < len(data); {
		n := 1 + rng.Intn(300)
		if off+n > len(data) {
			n = len(data) - off
		}
		s := packet.Segment{Src: cli, Dst: srv, Seq: cISN + 1 + uint32(off), Ack: sISN + 1, Flags: packet.FlagACK, Payload: data[off : off+n]}
		switch r := rng.Float64(); {
		case r < drop:
			for i := off; i < off+n; i++ {
				lost[i] = true
			}
		case r < drop+dup:
			segs = append(segs, s, s)
		default:
			segs = append(segs, s)
		}
		off += n
	}
	for i := range segs {
		if rng.Float64() < reorder {
			j := i + 1 + rng.Intn(3)
			if j < len(segs) {
				segs[i], segs[j] = segs[j], segs[i]
			}
		}
	}
	return segs, lost
}

// TestScrambledStreamRebuildsEveryPresentByte: after loss, duplication and
// reordering every byte that was captured comes out at its place, and every
// lost byte is reported as a gap of the right size.
func TestScrambledStreamRebuildsEveryPresentByte(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		data := make([]byte, 20000)
		for i := range data {
			data[i] = 'a' + byte(rng.Intn(26))
		}
		segs, lost := scramble(rng, data, 0.03, 0.01, 0.10)
		h := newHarness(Options{})
		h.send(cli, srv, cISN, 0, packet.FlagSYN, "")
		h.send(srv, cli, sISN, cISN+1, packet.FlagSYN, "")
		for i := range segs {
			h.pkt++
			h.t = h.t.Add(time.Millisecond)
			h.a.Add(&segs[i], h.pkt, h.t)
		}
		// The receiver acknowledged everything.
		h.send(srv, cli, sISN+1, cISN+1+uint32(len(data)), 0, "")
		h.a.FlushAll(h.t)
		got := h.recs[0].buf[0].Bytes()
		// A lost tail with no later byte is reported by the final ACK.
		if len(got) != len(data) {
			t.Fatalf("seed %d: %d bytes out, want %d", seed, len(got), len(data))
		}
		for i := range data {
			if lost[i] {
				if got[i] != '?' {
					t.Fatalf("seed %d: lost byte %d came out as %q", seed, i, got[i])
				}
			} else if got[i] != data[i] {
				t.Fatalf("seed %d: byte %d = %q, want %q", seed, i, got[i], data[i])
			}
		}
	}
}

// TestResponseCapturedBeforeItsRequestWaits: reordering put the server's
// answer ahead of the request in the file; the consumer still gets the
// request first, because the response acknowledges bytes not yet handed over.
func TestResponseCapturedBeforeItsRequestWaits(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.send(srv, cli, sISN+1, cISN+20, 0, "HTTP/1.1 204 No Content\r\n\r\n")
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET /a HTTP/1.1\r\n\r\n")
	r := h.recs[0]
	if len(r.events) != 2 || !strings.HasPrefix(r.events[0], "0:") || !strings.HasPrefix(r.events[1], "1:") {
		t.Fatalf("events %v", r.events)
	}
	// A response acknowledging a request that never shows up is handed
	// over once the request's loss is declared.
	h.send(srv, cli, sISN+28, cISN+39, 0, "HTTP/1.1 200 OK\r\n\r\n")
	for i := 0; i < 20; i++ {
		h.send(srv, cli, sISN+47, cISN+39, 0, "")
	}
	if got := strings.Join(r.events[2:], " "); got != "0:gap19 1:\"HTTP/1.1 200 OK\\r\\n\\r\\n\"" {
		t.Fatalf("events %v", r.events)
	}
}

func TestSweepClosesIdleConnectionsWithoutPackets(t *testing.T) {
	h := newHarness(Options{IdleTimeout: 10 * time.Second})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	h.a.Sweep(h.t.Add(5 * time.Second))
	if h.recs[0].closed {
		t.Fatal("closed before the idle timeout")
	}
	h.a.Sweep(h.t.Add(time.Minute))
	if !h.recs[0].closed || h.a.Open() != 0 {
		t.Fatal("idle connection not closed by Sweep")
	}
}

func TestKeepAliveProbeIsNotAConflict(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	h.send(cli, srv, cISN+18, sISN+1, 0, "\x00") // Windows keep-alive: last byte again, garbage
	c := h.a.Counters()
	if c.ConflictingRetrans != 0 || c.KeepAlives != 1 || len(h.recs[0].conn.Warnings) != 0 {
		t.Fatalf("counters %+v warnings %v", c, h.recs[0].conn.Warnings)
	}
}

func TestGlobalBufferCapShedsTheLargestHolder(t *testing.T) {
	h := newHarness(Options{MaxBufferedTotal: 300, MaxBufferedPerConn: 1 << 20})
	for i := 0; i < 5; i++ {
		c := netip.AddrPortFrom(cli.Addr(), uint16(30000+i))
		h.send(c, srv, 100, 0, packet.FlagSYN, "")
		for j := 0; j < 10; j++ { // 10 bytes lost at the start, then 100 buffered bytes
			h.send(c, srv, uint32(111+10*j), 1, 0, "0123456789")
		}
		if h.a.buffered > 300 {
			t.Fatalf("%d bytes buffered, global cap 300", h.a.buffered)
		}
	}
	if h.a.Counters().ForcedByBufferCap == 0 {
		t.Fatal("global cap never enforced")
	}
	h.a.FlushAll(h.t)
	for _, r := range h.recs {
		if got := r.buf[0].String(); got != strings.Repeat("?", 10)+strings.Repeat("0123456789", 10) {
			t.Fatalf("conn %d stream %q", r.conn.No, got)
		}
	}
}

// TestPortGuessCorrectedByLaterBytes: the capture starts inside a response
// body from a server on a high port (the port rule guesses wrong); the
// client's next request settles the direction and nothing is lost.
func TestPortGuessCorrectedByLaterBytes(t *testing.T) {
	h := newHarness(Options{})
	server := netip.MustParseAddrPort("10.1.1.2:50000")
	client := netip.MustParseAddrPort("10.1.1.1:40000")
	h.send(server, client, 9000, 7000, 0, "...rest of a body")
	h.send(client, server, 7000, 9017, 0, "GET /next HTTP/1.1\r\n\r\n")
	h.send(server, client, 9017, 7022, 0, "HTTP/1.1 200 OK\r\n\r\n")
	h.a.FlushAll(h.t)
	r := h.recs[0]
	c := r.conn
	if c.Client != client || c.Server != server || c.DirectionBy != DirectionByData || len(c.Warnings) != 1 {
		t.Fatalf("conn %+v", c)
	}
	if r.buf[1].String() != "...rest of a bodyHTTP/1.1 200 OK\r\n\r\n" || r.buf[0].String() != "GET /next HTTP/1.1\r\n\r\n" {
		t.Fatalf("streams %q / %q", r.buf[0].String(), r.buf[1].String())
	}
	if h.a.buffered != 0 {
		t.Errorf("%d bytes still counted as buffered", h.a.buffered)
	}
}

// A segment exactly 2 GiB behind the next expected byte: its negated
// offset does not fit in an int32 (found by capture's FuzzReadTLS).
func TestSegmentTwoGiBBehindDoesNotPanic(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n")
	next := uint32(cISN + 1 + len("GET / HTTP/1.1\r\n"))
	h.send(cli, srv, next-1<<31, sISN+1, 0, "stale")
	h.send(cli, srv, next, sISN+1, 0, "Host: x\r\n\r\n")
	h.a.FlushAll(h.t)
	if got := h.recs[0].buf[0].String(); got != "GET / HTTP/1.1\r\nHost: x\r\n\r\n" {
		t.Fatalf("stream %q", got)
	}
}

// limitRecorder also hears which holes a buffer cap forced and sees the
// limit that closed its connection.
type limitRecorder struct {
	recorder
	limitGaps []string
	closedBy  Limit
}

func (r *limitRecorder) LimitGap(d Dir, lost int, t time.Time, by Limit) {
	r.limitGaps = append(r.limitGaps, fmt.Sprintf("%d:%d:%d", d, lost, by))
	r.recorder.Gap(d, lost, t)
}

func (r *limitRecorder) Close(t time.Time) {
	r.closedBy = r.conn.ClosedBy
	r.recorder.Close(t)
}

func newLimitHarness(opt Options) (*harness, *[]*limitRecorder) {
	h := &harness{t: t0}
	var recs []*limitRecorder
	opt.Classify = func(b []byte) (bool, bool) {
		return bytes.HasPrefix(b, []byte("GET ")), bytes.HasPrefix(b, []byte("HTTP/1."))
	}
	h.a = New(opt, func(c *Conn) Stream {
		r := &limitRecorder{recorder: recorder{conn: c}}
		recs = append(recs, r)
		h.recs = append(h.recs, &r.recorder)
		return r
	})
	return h, &recs
}

func TestLimitsAreNamedToTheStream(t *testing.T) {
	t.Run("per-connection buffer cap", func(t *testing.T) {
		h, recs := newLimitHarness(Options{MaxBufferedPerConn: 100})
		h.handshake()
		seq := uint32(cISN + 1 + 10)
		for i := 0; i < 20; i++ {
			h.send(cli, srv, seq, sISN+1, 0, "0123456789")
			seq += 10
		}
		h.a.FlushAll(h.t)
		r := (*recs)[0]
		if want := []string{"0:10:3"}; fmt.Sprint(r.limitGaps) != fmt.Sprint(want) {
			t.Fatalf("limit gaps %v, want %v", r.limitGaps, want)
		}
		if r.closedBy != NoLimit || h.a.Counters().BufferCapBytes != 10 {
			t.Fatalf("closed by %d, counters %+v", r.closedBy, h.a.Counters())
		}
	})
	t.Run("total buffer cap", func(t *testing.T) {
		h, recs := newLimitHarness(Options{MaxBufferedTotal: 150, MaxBufferedPerConn: 1 << 20})
		for i := 0; i < 2; i++ {
			c := netip.AddrPortFrom(cli.Addr(), uint16(30000+i))
			h.send(c, srv, 100, 0, packet.FlagSYN, "")
			for j := 0; j < 10; j++ {
				h.send(c, srv, uint32(111+10*j), 1, 0, "0123456789")
			}
		}
		// The second connection's bytes went over the total: its hole goes.
		if r := (*recs)[1]; len(r.limitGaps) == 0 || r.limitGaps[0] != "0:10:4" || len((*recs)[0].limitGaps) != 0 {
			t.Fatalf("limit gaps %v %v", (*recs)[0].limitGaps, r.limitGaps)
		}
	})
	t.Run("loss resolved by evidence is no limit", func(t *testing.T) {
		h, recs := newLimitHarness(Options{})
		h.handshake()
		h.send(cli, srv, cISN+11, sISN+1, 0, "0123456789")
		h.a.FlushAll(h.t)
		r := (*recs)[0]
		if len(r.gaps[0]) != 1 || len(r.limitGaps) != 0 || h.a.Counters().BufferCapBytes != 0 {
			t.Fatalf("gaps %v, limit gaps %v", r.gaps, r.limitGaps)
		}
	})
	t.Run("eviction", func(t *testing.T) {
		h, recs := newLimitHarness(Options{MaxConnections: 2})
		for i := 0; i < 3; i++ {
			c := netip.AddrPortFrom(cli.Addr(), uint16(20000+i))
			h.send(c, srv, 1, 1, 0, "GET / HTTP/1.1\r\n")
		}
		if (*recs)[0].closedBy != LimitConnections || (*recs)[1].closed {
			t.Fatalf("first connection closed by %d", (*recs)[0].closedBy)
		}
		// The evicted connection's next bytes start a connection that says
		// what cut it.
		h.send(srv, netip.AddrPortFrom(cli.Addr(), 20000), 1, 17, 0, "HTTP/1.1 200 OK\r\n")
		if r := (*recs)[3]; r.conn.ResumedAfter != LimitConnections || r.conn.Client.Port() != 20000 {
			t.Fatalf("resumed %d, client %v", r.conn.ResumedAfter, r.conn.Client)
		}
		if (*recs)[1].closedBy != LimitConnections || (*recs)[2].closed { // room for the fourth
			t.Fatalf("second connection closed by %d", (*recs)[1].closedBy)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		h, recs := newLimitHarness(Options{IdleTimeout: 10 * time.Second})
		for i := 0; i < 2; i++ {
			c := netip.AddrPortFrom(cli.Addr(), uint16(20000+i))
			h.send(c, srv, 1, 1, 0, "GET / HTTP/1.1\r\n")
		}
		h.t = h.t.Add(time.Minute)
		h.a.Sweep(h.t)
		if (*recs)[0].closedBy != LimitIdle || (*recs)[1].closedBy != LimitIdle {
			t.Fatalf("closed by %d, %d", (*recs)[0].closedBy, (*recs)[1].closedBy)
		}
		h.t = h.t.Add(time.Minute)
		h.a.Sweep(h.t) // the tombstones expire
		h.send(netip.AddrPortFrom(cli.Addr(), 20000), srv, 17, 1, 0, "GET /x HTTP/1.1\r\n")
		h.send(netip.AddrPortFrom(cli.Addr(), 20001), srv, 100, 0, packet.FlagSYN, "") // a fresh connection
		if (*recs)[2].conn.ResumedAfter != LimitIdle || (*recs)[3].conn.ResumedAfter != NoLimit {
			t.Fatalf("resumed %d, %d", (*recs)[2].conn.ResumedAfter, (*recs)[3].conn.ResumedAfter)
		}
	})
}

// Over the per-connection cap, a response waiting for its request is handed
// over first, and its packets are listed.
func TestEarlyReleaseAtTheBufferCapIsRecorded(t *testing.T) {
	h := newHarness(Options{MaxBufferedPerConn: 30})
	h.handshake()
	h.send(srv, cli, sISN+1, cISN+20, 0, "HTTP/1.1 200 OK\r\n")        // packet 4
	h.send(srv, cli, sISN+18, cISN+20, 0, "Content-Length: 0\r\n\r\n") // packet 5: over 30 bytes held
	r := h.recs[0]
	if len(r.events) != 2 || !strings.HasPrefix(r.events[0], "1:") {
		t.Fatalf("events %v", r.events)
	}
	if got := fmt.Sprint(r.conn.EarlyReleases); got != "[{4 3} {5 3}]" {
		t.Fatalf("early releases %s", got)
	}
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET /a HTTP/1.1\r\n\r\n")
	if len(r.conn.EarlyReleases) != 2 {
		t.Fatalf("early releases %v", r.conn.EarlyReleases)
	}
}

// resetWithFiveBytesMissing: the server's RST comes 5 bytes beyond the
// response bytes captured so far.
func resetWithFiveBytesMissing() *harness {
	h := newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	h.send(srv, cli, sISN+1, cISN+19, 0, "HTTP/1.1 200 OK\r\n")
	h.send(srv, cli, sISN+23, cISN+19, packet.FlagRST, "")
	return h
}

// A segment reordered behind the RST that ends its connection is still
// delivered: the RST's sequence number shows bytes before it are missing,
// so the connection waits for them instead of closing.
func TestSegmentReorderedAfterRSTIsKept(t *testing.T) {
	h := resetWithFiveBytesMissing()
	if h.a.Open() != 1 {
		t.Fatalf("closed at the RST with 5 bytes missing")
	}
	h.send(srv, cli, sISN+18, cISN+19, 0, "\r\nhi!")
	r := h.recs[0]
	if !r.closed || r.buf[1].String() != "HTTP/1.1 200 OK\r\n\r\nhi!" || len(r.gaps[1]) != 0 {
		t.Fatalf("closed %v s2c %q gaps %v", r.closed, r.buf[1].String(), r.gaps)
	}
	if h.a.Open() != 0 {
		t.Fatalf("%d open after the missing bytes came", h.a.Open())
	}
}

// When the bytes a RST shows missing never come, the connection closes at
// the next sweep after the reorder window, with the hole as a gap.
func TestBytesMissingBeforeRSTBecomeAGap(t *testing.T) {
	h := resetWithFiveBytesMissing()
	h.a.Sweep(h.t.Add(h.a.Options().ReorderWindow / 2))
	if r := h.recs[0]; r.closed {
		t.Fatal("closed before the reorder window passed")
	}
	h.a.Sweep(h.t.Add(h.a.Options().ReorderWindow))
	r := h.recs[0]
	if !r.closed || len(r.gaps[1]) != 1 || r.gaps[1][0] != 5 || h.a.Open() != 0 {
		t.Fatalf("closed %v gaps %v open %d", r.closed, r.gaps, h.a.Open())
	}
}

// A RST with nothing missing closes at once, also one sent after the
// sender's FIN (its sequence number is the FIN's plus one); a fresh SYN
// on the 4-tuple of a connection still waiting after its RST starts a new
// connection.
func TestRSTClosesAtOnceWhenNothingIsMissing(t *testing.T) {
	h := newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	h.send(srv, cli, sISN+1, cISN+19, packet.FlagFIN, "HTTP/1.1 200 OK\r\n\r\n")
	h.send(srv, cli, sISN+21, cISN+19, packet.FlagRST, "")
	if r := h.recs[0]; !r.closed || len(r.gaps[0])+len(r.gaps[1]) != 0 {
		t.Fatalf("closed %v gaps %v", r.closed, r.gaps)
	}

	h = newHarness(Options{})
	h.handshake()
	h.send(cli, srv, cISN+1, sISN+1, 0, "GET / HTTP/1.1\r\n\r\n")
	h.send(cli, srv, cISN+40, sISN+1, packet.FlagRST, "") // 21 client bytes missing
	h.send(cli, srv, 9000, 0, packet.FlagSYN, "")
	h.send(srv, cli, 7000, 9001, packet.FlagSYN, "")
	if len(h.recs) != 2 || !h.recs[0].closed || len(h.recs[0].gaps[0]) != 1 || h.recs[0].gaps[0][0] != 21 {
		t.Fatalf("%d connections, first closed %v gaps %v", len(h.recs), h.recs[0].closed, h.recs[0].gaps)
	}
	if h.a.Open() != 1 {
		t.Fatalf("%d open, want the new connection", h.a.Open())
	}
}
