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
	"github.com/corscope/corscope/capture/pcapio"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Capture writes a prior-knowledge h2c connection of n GET streams (each
// answered with a 3000-byte body) as a pcap, one packet per MSS, skipping
// the packets drop selects (numbered from 1, handshake included).
func h2Capture(t testing.TB, n int, drop map[int]bool) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := pcapio.NewWriter(&out, packet.LinkEthernet, 65535)
	if err != nil {
		t.Fatal(err)
	}
	cli, srv := netip.MustParseAddrPort("10.1.0.1:40000"), netip.MustParseAddrPort("10.1.0.2:8080")
	ts := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	pkt := 0
	var frame []byte
	emit := func(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) {
		pkt++
		ts = ts.Add(time.Millisecond)
		if drop[pkt] {
			return
		}
		frame = packet.AppendEthernetTCP(frame[:0], src, dst, seq, ack, flags, payload)
		if err := w.WritePacket(ts, frame, 0); err != nil {
			t.Fatal(err)
		}
	}
	cs, ss := uint32(1000), uint32(5000)
	emit(cli, srv, cs, 0, packet.FlagSYN, nil)
	emit(srv, cli, ss, cs+1, packet.FlagSYN|packet.FlagACK, nil)
	cs, ss = cs+1, ss+1
	emit(cli, srv, cs, ss, packet.FlagACK, nil)
	send := func(fromClient bool, b []byte) {
		for off := 0; off < len(b); off += 1400 {
			seg := b[off:min(off+1400, len(b))]
			if fromClient {
				emit(cli, srv, cs, ss, packet.FlagACK|packet.FlagPSH, seg)
				cs += uint32(len(seg))
			} else {
				emit(srv, cli, ss, cs, packet.FlagACK|packet.FlagPSH, seg)
				ss += uint32(len(seg))
			}
		}
	}
	var wb, hb [2]bytes.Buffer // frames and header blocks, client then server
	fr := [2]*http2.Framer{http2.NewFramer(&wb[0], nil), http2.NewFramer(&wb[1], nil)}
	enc := [2]*hpack.Encoder{hpack.NewEncoder(&hb[0]), hpack.NewEncoder(&hb[1])}
	block := func(i int, kv ...string) []byte {
		hb[i].Reset()
		for j := 0; j < len(kv); j += 2 {
			enc[i].WriteField(hpack.HeaderField{Name: kv[j], Value: kv[j+1]})
		}
		return hb[i].Bytes()
	}
	flush := func(i int) {
		send(i == 0, wb[i].Bytes())
		wb[i].Reset()
	}
	wb[0].WriteString(h2.Preface)
	fr[0].WriteSettings()
	flush(0)
	fr[1].WriteSettings()
	flush(1)
	body := bytes.Repeat([]byte("b"), 3000)
	for k := 0; k < n; k++ {
		id := uint32(2*k + 1)
		fr[0].WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndStream: true, EndHeaders: true, BlockFragment: block(0,
			":method", "GET", ":scheme", "http", ":authority", "h2.example:8080", ":path", fmt.Sprintf("/s/%d", id), "origin", "https://o.example")})
		flush(0)
		fr[1].WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: block(1,
			":status", "200", "access-control-allow-origin", "https://o.example", "x-stream", fmt.Sprint(id))})
		fr[1].WriteData(id, true, body)
		flush(1)
	}
	emit(cli, srv, cs, ss, packet.FlagFIN|packet.FlagACK, nil)
	emit(srv, cli, ss, cs+1, packet.FlagFIN|packet.FlagACK, nil)
	return out.Bytes()
}

func TestH2CPriorKnowledgeThroughThePipeline(t *testing.T) {
	s := &memSink{}
	st, err := Read(context.Background(), bytes.NewReader(h2Capture(t, 20, nil)), "clean", Options{}, s)
	if err != nil || len(s.ex) != 20 || st.Counters["h2.streams"] != 20 {
		t.Fatalf("clean: %v, %d exchanges, counters %v", err, len(s.ex), st.Counters)
	}
	for _, e := range s.ex {
		if e.Path != fmt.Sprintf("/s/%d", e.StreamID) || e.Status != 200 || e.Host != "h2.example" || e.Port != 8080 || e.ResponseBodySize != 3000 ||
			len(e.Warnings) != 0 || e.FirstPacket == 0 || e.LastPacket <= e.FirstPacket || e.Offset == 0 {
			t.Errorf("stream %d: %+v", e.StreamID, e)
		}
	}
}

// Packet layout per stream k (after 3 handshake packets and 2 SETTINGS
// packets): request, then the response in 3 packets (HEADERS + first DATA
// bytes, middle, last).
func TestH2CLossCostsOnlyWhatWasLost(t *testing.T) {
	first := func(k int) int { return 6 + 4*k } // request packet of stream index k
	drop := map[int]bool{
		first(3) + 2: true, // middle of stream 7's DATA
		first(9):     true, // stream 19's request headers
	}
	s := &memSink{}
	if _, err := Read(context.Background(), bytes.NewReader(h2Capture(t, 20, drop)), "lossy", Options{}, s); err != nil {
		t.Fatal(err)
	}
	if len(s.ex) != 20 {
		t.Fatalf("%d exchanges", len(s.ex))
	}
	unknown := 0
	for _, e := range s.ex {
		// Nothing decoded may be wrong: a path or x-stream present must be this stream's.
		if p, ok := e.RequestHeaders.Get(":path"); ok && p != fmt.Sprintf("/s/%d", e.StreamID) {
			t.Errorf("stream %d: wrong :path %q", e.StreamID, p)
		}
		if v, ok := e.ResponseHeaders.Get("x-stream"); ok && v != fmt.Sprint(e.StreamID) {
			t.Errorf("stream %d: wrong x-stream %q", e.StreamID, v)
		}
		switch {
		case e.StreamID == 7:
			if e.Status != 200 || !hasWarn(e, http1.WarnRespBodyGap) || e.ResponseBodySize != 3000 || e.Path != "/s/7" {
				t.Errorf("stream 7 (DATA gap): %+v", e)
			}
		case e.StreamID == 19:
			if e.Method != "" || !hasWarn(e, http1.WarnRequestMissing) || e.Status != 200 {
				t.Errorf("stream 19 (request lost): %+v", e)
			}
		case e.StreamID < 19:
			if len(e.Warnings) != 0 || e.Path == "" {
				t.Errorf("stream %d before the header loss: %+v", e.StreamID, e)
			}
		default:
			if strings.Contains(strings.Join(e.Warnings, "|"), h2.WarnHPACKUnknownGap) {
				unknown++
			}
		}
	}
	// Stream 21+ requests reuse dynamic-table entries made while stream 19's
	// block was lost: their request headers cannot be trusted and say so.
	if unknown == 0 {
		t.Errorf("no exchange after the header loss says the HPACK context is unknown")
	}
}

// FuzzReadH2 runs the whole pipeline over mutated h2c captures: no panic,
// and the counters agree with what the sink received.
func FuzzReadH2(f *testing.F) {
	f.Add(h2Capture(f, 3, nil))
	f.Add(h2Capture(f, 4, map[int]bool{7: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, tightLimits()} {
			checkRead(t, data, opts)
		}
	})
}
