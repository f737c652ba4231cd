package capture

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/storage"
)

type collectSink struct {
	exchanges []*storage.Exchange
	conns     []*storage.Connection
}

func (c *collectSink) Exchange(e *storage.Exchange)     { c.exchanges = append(c.exchanges, e) }
func (c *collectSink) Connection(x *storage.Connection) { c.conns = append(c.conns, x) }

// tcpFlow builds raw-IP packets of one connection, handshake included.
type tcpFlow struct {
	cli, srv       netip.AddrPort
	cliSeq, srvSeq uint32
	buf            []byte
	stream         *Stream
	now            time.Time
	step           time.Duration
}

func (f *tcpFlow) send(fromClient bool, flags uint8, payload string) {
	src, dst, seq, ack := f.cli, f.srv, &f.cliSeq, f.srvSeq
	if !fromClient {
		src, dst, seq, ack = f.srv, f.cli, &f.srvSeq, f.cliSeq
	}
	f.buf = packet.AppendIPTCP(f.buf[:0], src, dst, *seq, ack, flags, []byte(payload))
	f.now = f.now.Add(f.step)
	f.stream.Packet(packet.LinkRaw, f.buf, f.now)
	*seq += uint32(len(payload))
	if flags&(packet.FlagSYN|packet.FlagFIN) != 0 {
		*seq++
	}
}

func (f *tcpFlow) handshake() {
	f.send(true, packet.FlagSYN, "")
	f.send(false, packet.FlagSYN|packet.FlagACK, "")
	f.send(true, packet.FlagACK, "")
}

func newFlow(s *Stream, port uint16, start time.Time) *tcpFlow {
	return &tcpFlow{
		cli:    netip.MustParseAddrPort("127.0.0.1:" + itoa(int(port))),
		srv:    netip.MustParseAddrPort("127.0.0.1:8080"),
		cliSeq: 1000, srvSeq: 5000, stream: s, now: start, step: time.Millisecond,
	}
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

const (
	reqReflect  = "GET /reflect HTTP/1.1\r\nHost: api.corscope.test\r\nOrigin: https://evil.example\r\nCookie: sid=1\r\n\r\n"
	respReflect = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://evil.example\r\nAccess-Control-Allow-Credentials: true\r\nContent-Length: 2\r\n\r\nok"
)

func TestStreamEmitsExchangesAsTheyComplete(t *testing.T) {
	sink := &collectSink{}
	s := NewStream(Options{}, sink)
	f := newFlow(s, 40000, time.Unix(1700000000, 0))
	f.handshake()
	f.send(true, packet.FlagACK|packet.FlagPSH, reqReflect)
	f.send(false, packet.FlagACK|packet.FlagPSH, respReflect)
	f.send(true, packet.FlagACK, "")
	if len(sink.exchanges) != 1 {
		t.Fatalf("exchanges before Close = %d, want 1 (emitted when the response completes)", len(sink.exchanges))
	}
	e := sink.exchanges[0]
	if e.Method != "GET" || e.Path != "/reflect" || e.Status != 200 {
		t.Fatalf("exchange = %s %s %d", e.Method, e.Path, e.Status)
	}
	if v, _ := e.RequestHeaders.Get("Origin"); v != "https://evil.example" {
		t.Fatalf("Origin = %q", v)
	}
	st := s.Close(f.now)
	if st.Packets != 6 || st.Exchanges != 1 || st.Connections != 1 || st.Format != storage.FormatLive {
		t.Fatalf("stats = %+v", st)
	}
	if len(sink.conns) != 1 {
		t.Fatalf("connections = %d, want 1", len(sink.conns))
	}
}

func TestStreamCloseFlushesUnansweredRequests(t *testing.T) {
	sink := &collectSink{}
	s := NewStream(Options{}, sink)
	f := newFlow(s, 40001, time.Unix(1700000000, 0))
	f.handshake()
	f.send(true, packet.FlagACK|packet.FlagPSH, reqReflect)
	if len(sink.exchanges) != 0 {
		t.Fatalf("an unanswered request was emitted before Close")
	}
	st := s.Close(time.Unix(1700000001, 0))
	if len(sink.exchanges) != 1 {
		t.Fatalf("exchanges after Close = %d, want 1", len(sink.exchanges))
	}
	e := sink.exchanges[0]
	if e.Status != 0 || len(e.Warnings) == 0 {
		t.Fatalf("unanswered request: status %d, warnings %q; want status 0 and a warning", e.Status, e.Warnings)
	}
	if st.Counters["http.exchanges_without_response"] != 1 {
		t.Fatalf("counters = %v", st.Counters)
	}
	// Nothing is accepted after Close.
	f.send(false, packet.FlagACK|packet.FlagPSH, respReflect)
	if len(sink.exchanges) != 1 || s.Stats().Packets != st.Packets {
		t.Fatalf("a packet after Close was processed")
	}
}

func TestStreamIdleClosesQuietConnectionsByCaptureTime(t *testing.T) {
	sink := &collectSink{}
	opts := Options{}
	opts.Reassembly.IdleTimeout = 10 * time.Second
	s := NewStream(opts, sink)
	start := time.Unix(1700000000, 0)
	f := newFlow(s, 40002, start)
	f.handshake()
	f.send(true, packet.FlagACK|packet.FlagPSH, reqReflect)

	s.Idle(start.Add(5 * time.Second))
	if len(sink.conns) != 0 || s.Open() != 1 {
		t.Fatalf("connection closed before its idle timeout")
	}
	s.Idle(start.Add(12 * time.Second))
	if len(sink.conns) != 1 || s.Open() != 0 {
		t.Fatalf("idle connection still open after the timeout (conns %d, open %d)", len(sink.conns), s.Open())
	}
	if len(sink.exchanges) != 1 || sink.exchanges[0].Status != 0 {
		t.Fatalf("pending request not flushed with status 0: %d exchanges", len(sink.exchanges))
	}
	found := false
	for _, w := range sink.conns[0].Warnings {
		found = found || strings.Contains(w, "idle")
	}
	if !found {
		t.Fatalf("connection warnings %q do not mention the idle timeout", sink.conns[0].Warnings)
	}
	st := s.Close(start.Add(13 * time.Second))
	if n := st.Counters["tcp.segments_ignored_no_conn"]; n != 0 {
		t.Fatalf("sweep probes leaked into the counters: %d", n)
	}
	if st.Counters["tcp.idle_closed"] != 1 {
		t.Fatalf("tcp.idle_closed = %d, want 1", st.Counters["tcp.idle_closed"])
	}
}

func TestStreamStatsSnapshotDoesNotAccumulateWarnings(t *testing.T) {
	s := NewStream(Options{}, &collectSink{})
	s.Name = "lo"
	for range 3 {
		s.Packet(999, []byte{1, 2, 3}, time.Unix(1700000000, 0))
	}
	for range 3 {
		st := s.Stats()
		if len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], "lo: 3 packets of unsupported link type 999") {
			t.Fatalf("warnings = %q", st.Warnings)
		}
	}
}

// BenchmarkStreamPacket pushes one keep-alive connection's requests and
// responses (one exchange per two packets, built in place).
func BenchmarkStreamPacket(b *testing.B) {
	sink := &countSink{}
	s := NewStream(Options{}, sink)
	start := time.Unix(1700000000, 0)
	f := newFlow(s, 40003, start)
	f.handshake()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			buf = packet.AppendIPTCP(buf[:0], f.cli, f.srv, f.cliSeq, f.srvSeq, packet.FlagACK|packet.FlagPSH, []byte(reqReflect))
			f.cliSeq += uint32(len(reqReflect))
		} else {
			buf = packet.AppendIPTCP(buf[:0], f.srv, f.cli, f.srvSeq, f.cliSeq, packet.FlagACK|packet.FlagPSH, []byte(respReflect))
			f.srvSeq += uint32(len(respReflect))
		}
		s.Packet(packet.LinkRaw, buf, start.Add(time.Duration(i)*time.Microsecond))
	}
	b.StopTimer()
	if want := int64(b.N / 2); sink.n < want-1 {
		b.Fatalf("%d exchanges from %d packets", sink.n, b.N)
	}
}

type countSink struct{ n int64 }

func (c *countSink) Exchange(*storage.Exchange)     { c.n++ }
func (c *countSink) Connection(*storage.Connection) {}
