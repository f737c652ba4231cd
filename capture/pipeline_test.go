package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/lossy"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/capture/synth"
	"github.com/corscope/corscope/storage"
)

func synthCapture(t testing.TB, o synth.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := synth.Write(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readBytes(t testing.TB, data []byte) (*memSink, Stats, error) {
	t.Helper()
	s := &memSink{}
	st, err := Read(context.Background(), bytes.NewReader(data), "test.pcap", Options{}, s)
	return s, st, err
}

func exchangeKey(e *storage.Exchange) string {
	return e.Client + " " + e.Method + " " + e.Path + "?" + e.Query
}

func TestSyntheticTrafficIsRebuiltExactly(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		data := synthCapture(t, synth.Options{Exchanges: 300, PerConn: 30, Seed: 7, IPv6: v6})
		s, st, err := readBytes(t, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.ex) != 300 || st.Connections != 10 || len(s.conns) != 10 || s.statusZero() != 0 {
			t.Fatalf("v6=%v: %d exchanges, %d connections, %d without response", v6, len(s.ex), st.Connections, s.statusZero())
		}
		pre := 0
		for _, e := range s.ex {
			if e.IsPreflight() {
				pre++
				if e.Status != 204 || e.ResponseHeaders.Value("Access-Control-Allow-Methods") == "" {
					t.Errorf("preflight %s %d", e.Path, e.Status)
				}
			} else if e.Status != 200 || e.Origin() == "" || e.ResponseHeaders.Value("Access-Control-Allow-Origin") == "" || len(e.Warnings) != 0 {
				t.Errorf("exchange %s %d origin %q warnings %v", e.Path, e.Status, e.Origin(), e.Warnings)
			}
		}
		if e := s.ex[0]; e.Offset <= 24 || e.Offset >= int64(len(data)) || e.EntryIndex != -1 && e.EntryIndex != 0 {
			t.Errorf("first exchange offset %d", e.Offset)
		}
		if pre != 30 {
			t.Errorf("%d preflights, want 30", pre)
		}
		if c := s.conns[0]; c.No != 1 || !strings.HasSuffix(c.Server, ":8080") || c.Packets == 0 || c.FirstSeen.IsZero() || !c.LastSeen.After(c.FirstSeen) {
			t.Errorf("connection record %+v", c)
		}
		if v6 && !strings.HasPrefix(s.ex[0].Server, "[fd00::80]:") {
			t.Errorf("IPv6 server %q", s.ex[0].Server)
		}
	}
}

// TestLossyCaptureRebuildsEveryExchangeWhoseBytesArePresent degrades a
// capture (3% loss, 10% reordering, 1% duplication, fixed seeds) and checks
// that every exchange none of whose payload packets was dropped comes out
// identical to the clean run, and that the damaged ones are still stored.
func TestLossyCaptureRebuildsEveryExchangeWhoseBytesArePresent(t *testing.T) {
	clean := synthCapture(t, synth.Options{Exchanges: 2000, PerConn: 50, Seed: 3})
	want, _, err := readBytes(t, clean)
	if err != nil || len(want.ex) != 2000 {
		t.Fatalf("clean run: %d exchanges, %v", len(want.ex), err)
	}
	for seed := int64(1); seed <= 3; seed++ {
		var degraded bytes.Buffer
		rep, err := lossy.Mangle(bytes.NewReader(clean), &degraded, lossy.Options{Drop: 0.03, Reorder: 0.10, Duplicate: 0.01, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		hit := damaged(t, clean, rep.Dropped, want.ex)
		got, st, err := readBytes(t, degraded.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		// The degraded file keeps the original timestamps, and an intact
		// exchange's first request packet is there: it identifies it.
		byKey := map[string]*storage.Exchange{}
		for _, e := range got.ex {
			byKey[exchangeKey(e)+e.Started.String()] = e
		}
		intact, rebuilt := 0, 0
		for i, w := range want.ex {
			g := byKey[exchangeKey(w)+w.Started.String()]
			if hit[i] {
				continue
			}
			intact++
			if g == nil {
				t.Errorf("seed %d: intact exchange %s missing", seed, exchangeKey(w))
				continue
			}
			if g.Status != w.Status || len(g.ResponseHeaders) != len(w.ResponseHeaders) || g.ResponseBodySize != w.ResponseBodySize || !bytes.Equal(g.ResponseBody, w.ResponseBody) {
				t.Errorf("seed %d: %s differs: status %d/%d, %d/%d headers, body %d/%d, warnings %v",
					seed, exchangeKey(w), g.Status, w.Status, len(g.ResponseHeaders), len(w.ResponseHeaders), g.ResponseBodySize, w.ResponseBodySize, g.Warnings)
				continue
			}
			rebuilt++
		}
		t.Logf("seed %d: %d packets dropped, %d reordered, %d duplicated; %d of %d intact exchanges rebuilt, %d exchanges stored in all (%d hit by loss); gaps %d",
			seed, len(rep.Dropped), len(rep.Reordered), len(rep.Duplicated), rebuilt, intact, len(got.ex), 2000-intact, st.Counters["tcp.gaps"])
		if intact < 1500 {
			t.Errorf("seed %d: only %d intact exchanges: the damage model is off", seed, intact)
		}
	}
}

// damaged marks the exchanges one of whose payload packets was dropped:
// (a response's last packet bounds the range; pipelined neighbours count too)
// in this keep-alive traffic without pipelining, the payload packets of a
// connection between an exchange's first and last packet are its own.
func damaged(t *testing.T, capture []byte, dropped []int64, ex []*storage.Exchange) map[int]bool {
	t.Helper()
	drop := map[int64]bool{}
	for _, n := range dropped {
		drop[n] = true
	}
	type hitPkt struct {
		no       int64
		src, dst string
	}
	var hits []hitPkt
	r, err := pcapio.NewReader(bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	d := packet.NewDecoder(packet.DefragLimits{})
	var p pcapio.Packet
	var seg packet.Segment
	for n := int64(1); r.Next(&p) == nil; n++ {
		if !drop[n] || d.Decode(p.LinkType, p.Data, p.Time, &seg) != packet.ResultTCP || len(seg.Payload) == 0 {
			continue
		}
		hits = append(hits, hitPkt{n, seg.Src.String(), seg.Dst.String()})
	}
	out := map[int]bool{}
	for i, e := range ex {
		for _, h := range hits {
			sameConn := (h.src == e.Client && h.dst == e.Server) || (h.src == e.Server && h.dst == e.Client)
			if sameConn && h.no >= e.FirstPacket && h.no <= e.LastPacket {
				out[i] = true
			}
		}
	}
	return out
}

// reencapsulate rewrites an Ethernet capture into another link type.
func reencapsulate(t *testing.T, data []byte, link uint32, wrap func(ip []byte, v6 bool) []byte) []byte {
	t.Helper()
	r, err := pcapio.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, _ := pcapio.NewWriter(&out, link, 262144)
	var p pcapio.Packet
	for r.Next(&p) == nil {
		ip := p.Data[14:]
		w.WritePacket(p.Time, wrap(ip, p.Data[12] == 0x86), 0)
	}
	return out.Bytes()
}

func TestLinkTypesCarryTheSameExchanges(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		data := synthCapture(t, synth.Options{Exchanges: 40, PerConn: 20, Seed: 5, IPv6: v6})
		fam := func(v6 bool, v4, v6v uint32) uint32 {
			if v6 {
				return v6v
			}
			return v4
		}
		cases := []struct {
			name string
			link uint32
			wrap func(ip []byte, v6 bool) []byte
		}{
			{"SLL2", packet.LinkSLL2, func(ip []byte, v6 bool) []byte {
				h := make([]byte, 20)
				binary.BigEndian.PutUint16(h, uint16(fam(v6, 0x0800, 0x86dd)))
				return append(h, ip...)
			}},
			{"SLL", packet.LinkSLL, func(ip []byte, v6 bool) []byte {
				h := make([]byte, 16)
				binary.BigEndian.PutUint16(h[14:], uint16(fam(v6, 0x0800, 0x86dd)))
				return append(h, ip...)
			}},
			{"raw", packet.LinkRaw, func(ip []byte, _ bool) []byte { return ip }},
			{"IPv4/IPv6 228/229", fam(v6, packet.LinkIPv4, packet.LinkIPv6), func(ip []byte, _ bool) []byte { return ip }},
			{"BSD loopback", packet.LinkNull, func(ip []byte, v6 bool) []byte {
				h := make([]byte, 4)
				binary.LittleEndian.PutUint32(h, fam(v6, 2, 30))
				return append(h, ip...)
			}},
			{"NFLOG", packet.LinkNFLOG, func(ip []byte, v6 bool) []byte {
				h := []byte{byte(fam(v6, 2, 10)), 0, 0, 0}
				tlv := make([]byte, 4)
				binary.LittleEndian.PutUint16(tlv, uint16(4+len(ip)))
				binary.LittleEndian.PutUint16(tlv[2:], 9)
				b := append(append(h, tlv...), ip...)
				for len(b)%4 != 0 {
					b = append(b, 0)
				}
				return b
			}},
		}
		for _, c := range cases {
			s, st, err := readBytes(t, reencapsulate(t, data, c.link, c.wrap))
			if err != nil || len(s.ex) != 40 || s.statusZero() != 0 {
				t.Errorf("v6=%v %s: %d exchanges, %d without response, err %v, counters %v", v6, c.name, len(s.ex), s.statusZero(), err, st.Counters)
			}
		}
	}
}

// TestPcapngMixedLinkTypes puts the two directions of the traffic on two
// interfaces with different link types (as `tcpdump -i any` plus a second
// interface would): dropping either interface would lose every response.
func TestPcapngMixedLinkTypes(t *testing.T) {
	data := synthCapture(t, synth.Options{Exchanges: 20, PerConn: 10, Seed: 9})
	r, _ := pcapio.NewReader(bytes.NewReader(data))
	var ng bytes.Buffer
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		var h [8]byte
		le.PutUint32(h[:], typ)
		le.PutUint32(h[4:], n)
		ng.Write(h[:])
		ng.Write(body)
		le.PutUint32(h[:4], n)
		ng.Write(h[:4])
	}
	shb := make([]byte, 16)
	le.PutUint32(shb, 0x1a2b3c4d)
	le.PutUint16(shb[4:], 1)
	block(0x0a0d0d0a, shb)
	idb := func(link uint16, tsresol byte) {
		b := make([]byte, 8)
		le.PutUint16(b, link)
		b = append(b, 9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0)
		block(1, b)
	}
	idb(packet.LinkEthernet, 6)
	idb(packet.LinkSLL2, 9)
	dsb := make([]byte, 8)
	le.PutUint32(dsb, pcapio.SecretsTLSKeyLog)
	le.PutUint32(dsb[4:], 4)
	block(0x0a, append(dsb, "keys"...))
	var p pcapio.Packet
	for r.Next(&p) == nil {
		ifc, frame, ts := uint32(0), p.Data, uint64(p.Time.UnixMicro())
		if binary.BigEndian.Uint16(p.Data[14+20:]) == 8080 { // from the server: SLL2 interface
			ifc, ts = 1, uint64(p.Time.UnixNano())
			h := make([]byte, 20)
			binary.BigEndian.PutUint16(h, 0x0800)
			frame = append(h, p.Data[14:]...)
		}
		b := make([]byte, 20)
		le.PutUint32(b, ifc)
		le.PutUint32(b[4:], uint32(ts>>32))
		le.PutUint32(b[8:], uint32(ts))
		le.PutUint32(b[12:], uint32(len(frame)))
		le.PutUint32(b[16:], uint32(len(frame)))
		block(6, append(b, frame...))
	}
	s, st, err := readBytes(t, ng.Bytes())
	if err != nil || st.Format != pcapio.FormatPCAPNG || len(s.ex) != 20 || s.statusZero() != 0 {
		t.Fatalf("pcapng: %s, %d exchanges, %d without response, %v", st.Format, len(s.ex), s.statusZero(), err)
	}
	if len(st.Secrets) != 1 || string(st.Secrets[0].Data) != "keys" {
		t.Errorf("secrets %+v", st.Secrets)
	}
	// Timestamps of both interfaces agree in spite of different resolutions.
	if e := s.ex[0]; e.RespStarted.Before(e.Started) || e.RespStarted.Sub(e.Started) > time.Second {
		t.Errorf("request at %v, response at %v", e.Started, e.RespStarted)
	}
}

func TestTruncatedCaptureKeepsEverythingBefore(t *testing.T) {
	data := synthCapture(t, synth.Options{Exchanges: 100, PerConn: 50, Seed: 2})
	cut := data[:len(data)*2/3+5]
	s, st, err := readBytes(t, cut)
	if !IsPartial(err) || IsNotCapture(err) {
		t.Fatalf("want a partial-read error, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), "test.pcap: truncated packet record at byte ") {
		t.Errorf("error %q", err)
	}
	if len(s.ex) < 60 || st.Packets == 0 {
		t.Fatalf("only %d exchanges kept", len(s.ex))
	}
}

func TestNotACaptureIsRejected(t *testing.T) {
	_, _, err := readBytes(t, []byte(`{"log":{"version":"1.2","entries":[]}}`))
	if !IsNotCapture(err) || IsPartial(err) || !strings.HasPrefix(err.Error(), "test.pcap: ") {
		t.Fatalf("got %v", err)
	}
}

func TestContextCancelStopsAndFlushes(t *testing.T) {
	data := synthCapture(t, synth.Options{Exchanges: 2000, PerConn: 100, Seed: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &memSink{}
	_, err := Read(ctx, bytes.NewReader(data), "x", Options{}, s)
	if err == nil || len(s.conns) == 0 {
		t.Fatalf("err %v, %d connections flushed", err, len(s.conns))
	}
}

// BenchmarkPipeline is the full pipeline (reader, decoder, reassembly,
// HTTP/1 parser) over synthetic CORS traffic, without a store.
func BenchmarkPipeline(b *testing.B) {
	data := synthCapture(b, synth.Options{Exchanges: 5000, PerConn: 100, Seed: 1})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		st, err := Read(context.Background(), bytes.NewReader(data), "bench", Options{}, discardSink{})
		if err != nil || st.Exchanges != 5000 {
			b.Fatal(st.Exchanges, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/exchange")
}

type discardSink struct{}

func (discardSink) Exchange(*storage.Exchange)     {}
func (discardSink) Connection(*storage.Connection) {}

// TestSnaplenCutExchangesAreFlagged: a capture taken with a small snap
// length keeps the headers; the exchanges say their bodies were cut.
func TestSnaplenCutExchangesAreFlagged(t *testing.T) {
	data := synthCapture(t, synth.Options{Exchanges: 20, PerConn: 10, Seed: 4})
	r, _ := pcapio.NewReader(bytes.NewReader(data))
	var out bytes.Buffer
	w, _ := pcapio.NewWriter(&out, packet.LinkEthernet, 400)
	var p pcapio.Packet
	for r.Next(&p) == nil {
		w.WritePacket(p.Time, p.Data[:min(len(p.Data), 400)], len(p.Data))
	}
	s, st, err := readBytes(t, out.Bytes())
	if err != nil || st.Counters["packets.snaplen_truncated"] == 0 {
		t.Fatalf("err %v counters %v", err, st.Counters)
	}
	flagged := 0
	for _, e := range s.ex {
		for _, w := range e.Warnings {
			if w == WarnSnaplen {
				flagged++
			}
		}
	}
	if flagged == 0 || flagged > len(s.ex) {
		t.Fatalf("%d of %d exchanges flagged", flagged, len(s.ex))
	}
	clean, _, _ := readBytes(t, data)
	for _, e := range clean.ex {
		if slices.Contains(e.Warnings, WarnSnaplen) {
			t.Fatal("clean capture flagged")
		}
	}
}

// TestVXLANAndFragmentedTraffic wraps every frame in VXLAN and splits the
// inner IPv4 packets over 200 bytes into two fragments, the second sent
// first: the exchanges come out as from the plain capture.
func TestVXLANAndFragmentedTraffic(t *testing.T) {
	data := synthCapture(t, synth.Options{Exchanges: 30, PerConn: 10, Seed: 6})
	outerIP := func(proto byte, payload []byte, id uint16, fragOff int, more bool) []byte {
		total := 20 + len(payload)
		h := []byte{0x45, 0, byte(total >> 8), byte(total), byte(id >> 8), byte(id), 0, 0, 64, proto, 0, 0, 10, 9, 9, 1, 10, 9, 9, 2}
		v := uint16(fragOff / 8)
		if more {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], v)
		return append(h, payload...)
	}
	vxlan := func(inner []byte) []byte {
		udp := make([]byte, 8)
		binary.BigEndian.PutUint16(udp, 40000)
		binary.BigEndian.PutUint16(udp[2:], 4789)
		binary.BigEndian.PutUint16(udp[4:], uint16(16+len(inner)))
		b := append(udp, 0x08, 0, 0, 0, 0, 0, 7, 0)
		eth := append([]byte{2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 8}, 0x08, 0x00)
		return append(eth, outerIP(17, append(b, inner...), 0, 0, false)...)
	}
	r, _ := pcapio.NewReader(bytes.NewReader(data))
	var out bytes.Buffer
	w, _ := pcapio.NewWriter(&out, packet.LinkEthernet, 262144)
	var p pcapio.Packet
	id := uint16(0)
	frags := 0
	for r.Next(&p) == nil {
		ip := p.Data[14:]
		if len(ip) <= 200 {
			w.WritePacket(p.Time, vxlan(p.Data), 0)
			continue
		}
		id++
		frags++
		body := ip[20:]
		first := append(append([]byte(nil), p.Data[:14]...), outerIP(6, body[:96], id, 0, true)...)
		second := append(append([]byte(nil), p.Data[:14]...), outerIP(6, body[96:], id, 96, false)...)
		copy(first[14+12:14+20], ip[12:20])
		copy(second[14+12:14+20], ip[12:20])
		w.WritePacket(p.Time, vxlan(second), 0)
		w.WritePacket(p.Time, vxlan(first), 0)
	}
	s, st, err := readBytes(t, out.Bytes())
	if err != nil || len(s.ex) != 30 || s.statusZero() != 0 || frags == 0 {
		t.Fatalf("%d exchanges, %d without response, err %v, counters %v", len(s.ex), s.statusZero(), err, st.Counters)
	}
	if st.Counters["ip.reassembled"] != int64(frags) || st.Counters["packets.tunnelled"] == 0 {
		t.Errorf("counters %v, %d fragmented packets", st.Counters, frags)
	}
	if s.ex[0].Client != "10.0.1.1:20000" {
		t.Errorf("inner endpoints lost: %q", s.ex[0].Client)
	}
}
