package packet

import (
	"bytes"
	"encoding/binary"
	"github.com/corscope/corscope/internal/shared"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/pcapio"
)

var (
	cli4 = netip.MustParseAddrPort("10.0.0.1:40000")
	srv4 = netip.MustParseAddrPort("10.0.0.2:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::1]:40000")
	srv6 = netip.MustParseAddrPort("[2001:db8::2]:8080")
	t0   = time.Unix(1700000000, 0)
)

func ipTCP(src, dst netip.AddrPort, payload string) []byte {
	return AppendIPTCP(nil, src, dst, 1000, 2000, FlagACK|FlagPSH, []byte(payload))
}

func decodeOne(t *testing.T, link uint32, frame []byte) (Segment, Result) {
	t.Helper()
	d := NewDecoder(DefragLimits{})
	var s Segment
	r := d.Decode(link, frame, t0, &s)
	return s, r
}

func wantTCP(t *testing.T, name string, link uint32, frame []byte, src, dst netip.AddrPort, payload string) {
	t.Helper()
	s, r := decodeOne(t, link, frame)
	if r != ResultTCP {
		t.Fatalf("%s: result %d, want TCP", name, r)
	}
	if s.Src != src || s.Dst != dst || string(s.Payload) != payload || s.Seq != 1000 || s.Ack != 2000 || s.Flags != FlagACK|FlagPSH {
		t.Fatalf("%s: got %v > %v seq %d ack %d %q", name, s.Src, s.Dst, s.Seq, s.Ack, s.Payload)
	}
}

func TestLinkTypes(t *testing.T) {
	ip4 := ipTCP(cli4, srv4, "GET / HTTP/1.1\r\n")
	ip6 := ipTCP(cli6, srv6, "HTTP/1.1 200 OK\r\n")
	eth := func(et uint16, tags []uint16, ip []byte) []byte {
		b := make([]byte, 12)
		for _, tag := range tags {
			b = binary.BigEndian.AppendUint16(b, tag)
			b = append(b, 0, 7)
		}
		b = binary.BigEndian.AppendUint16(b, et)
		return append(b, ip...)
	}
	sll := append(append(make([]byte, 14), 0x08, 0x00), ip4...)
	sll2 := append(append([]byte{0x86, 0xdd}, make([]byte, 18)...), ip6...)
	nullLE := append([]byte{2, 0, 0, 0}, ip4...)
	loopBE := append([]byte{0, 0, 0, 30}, ip6...)
	nflog := []byte{2, 0, 0, 0}
	nflog = append(nflog, 8, 0, 1, 0, 0x08, 0x00, 0, 0) // NFULA_PACKET_HDR-ish TLV
	tlv := make([]byte, 4)
	binary.LittleEndian.PutUint16(tlv, uint16(4+len(ip4)))
	binary.LittleEndian.PutUint16(tlv[2:], 9)
	nflog = append(append(nflog, tlv...), ip4...)

	cases := []struct {
		name  string
		link  uint32
		frame []byte
		v6    bool
	}{
		{"ethernet", LinkEthernet, eth(0x0800, nil, ip4), false},
		{"802.1Q", LinkEthernet, eth(0x86dd, []uint16{0x8100}, ip6), true},
		{"QinQ", LinkEthernet, eth(0x0800, []uint16{0x88a8, 0x8100}, ip4), false},
		{"linux SLL", LinkSLL, sll, false},
		{"linux SLL2 (tcpdump -i any)", LinkSLL2, sll2, true},
		{"raw 101", LinkRaw, ip6, true},
		{"raw 12", LinkRaw12, ip4, false},
		{"raw 14", LinkRaw14, ip6, true},
		{"IPv4 228", LinkIPv4, ip4, false},
		{"IPv6 229", LinkIPv6, ip6, true},
		{"BSD null little endian", LinkNull, nullLE, false},
		{"BSD loop", LinkLoop, loopBE, true},
		{"NFLOG", LinkNFLOG, nflog, false},
	}
	for _, c := range cases {
		if c.v6 {
			wantTCP(t, c.name, c.link, c.frame, cli6, srv6, "HTTP/1.1 200 OK\r\n")
		} else {
			wantTCP(t, c.name, c.link, c.frame, cli4, srv4, "GET / HTTP/1.1\r\n")
		}
	}
	if _, r := decodeOne(t, 147, ip4); r != ResultUnsupported {
		t.Errorf("unknown link type: %d", r)
	}
}

func TestEthernetPaddingIsNotPayload(t *testing.T) {
	frame := AppendEthernetTCP(nil, cli4, srv4, 1000, 2000, FlagACK|FlagPSH, []byte("ab"))
	frame = append(frame, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef) // padding + FCS
	wantTCP(t, "padded", LinkEthernet, frame, cli4, srv4, "ab")
}

func TestIPv4TotalLengthZeroUsesCapturedLength(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 70000)
	frame := AppendEthernetTCP(nil, cli4, srv4, 1000, 2000, FlagACK|FlagPSH, payload)
	frame[14+2], frame[14+3] = 0, 0
	s, r := decodeOne(t, LinkEthernet, frame)
	if r != ResultTCP || len(s.Payload) != 70000 || s.Missing != 0 {
		t.Fatalf("BIG TCP: %d, %d bytes, missing %d", r, len(s.Payload), s.Missing)
	}
}

func TestIPv6Jumbogram(t *testing.T) {
	payload := bytes.Repeat([]byte("j"), 70000)
	ip := AppendIPTCP(nil, cli6, srv6, 1000, 2000, FlagACK, payload)
	tcpPart := append([]byte(nil), ip[40:]...)
	hbh := []byte{6, 0, 0xc2, 4, 0, 0, 0, 0} // next TCP, 8 bytes, jumbo option
	binary.BigEndian.PutUint32(hbh[4:], uint32(len(hbh)+len(tcpPart)))
	pkt := append(append(ip[:40:40], hbh...), tcpPart...)
	pkt[4], pkt[5], pkt[6] = 0, 0, 0 // payload length 0, next header hop-by-hop
	pkt = append(pkt, 1, 2, 3)       // trailing junk beyond the jumbo length
	s, r := decodeOne(t, LinkIPv6, pkt)
	if r != ResultTCP || len(s.Payload) != 70000 {
		t.Fatalf("jumbo: %d, %d bytes", r, len(s.Payload))
	}
}

func TestSnaplenTruncationReportsMissingBytes(t *testing.T) {
	frame := AppendEthernetTCP(nil, cli4, srv4, 1000, 2000, FlagACK, bytes.Repeat([]byte("y"), 1000))
	s, r := decodeOne(t, LinkEthernet, frame[:14+20+20+100])
	if r != ResultTCP || len(s.Payload) != 100 || s.Missing != 900 {
		t.Fatalf("snaplen: %d %d missing %d", r, len(s.Payload), s.Missing)
	}
}

func TestVXLANAndGRE(t *testing.T) {
	inner := AppendEthernetTCP(nil, cli4, srv4, 1000, 2000, FlagACK|FlagPSH, []byte("inner"))
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp, 5555)
	binary.BigEndian.PutUint16(udp[2:], 4789)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+8+len(inner)))
	vx := append(udp, 0x08, 0, 0, 0, 0, 0, 42, 0)
	outer := outerIPv4(17, append(vx, inner...))
	wantTCP(t, "vxlan", LinkIPv4, outer, cli4, srv4, "inner")

	gre := append([]byte{0, 0, 0x08, 0x00}, ipTCP(cli4, srv4, "gre")...)
	wantTCP(t, "gre", LinkIPv4, outerIPv4(47, gre), cli4, srv4, "gre")
}

func outerIPv4(proto byte, payload []byte) []byte {
	total := 20 + len(payload)
	h := []byte{0x45, 0, byte(total >> 8), byte(total), 0, 0, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
	return append(h, payload...)
}

func TestIPv4FragmentsReassembleOutOfOrder(t *testing.T) {
	whole := ipTCP(cli4, srv4, string(bytes.Repeat([]byte("F"), 100)))
	body := whole[20:] // TCP header + payload, 120 bytes
	frag := func(off int, data []byte, more bool) []byte {
		h := append([]byte(nil), whole[:20]...)
		total := 20 + len(data)
		h[2], h[3] = byte(total>>8), byte(total)
		h[4], h[5] = 0x12, 0x34
		v := uint16(off / 8)
		if more {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], v)
		return append(h, data...)
	}
	d := NewDecoder(DefragLimits{})
	var s Segment
	if r := d.Decode(LinkIPv4, frag(64, body[64:], false), t0, &s); r != ResultFragment {
		t.Fatalf("last fragment first: %d", r)
	}
	if r := d.Decode(LinkIPv4, frag(0, body[:64], true), t0, &s); r != ResultTCP || len(s.Payload) != 100 || s.Src != cli4 {
		t.Fatalf("reassembled: %d %d", r, len(s.Payload))
	}
	if c := d.Stats(); c.Fragments != 2 || c.Reassembled != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestIPv6Fragments(t *testing.T) {
	whole := ipTCP(cli6, srv6, string(bytes.Repeat([]byte("S"), 200)))
	body := whole[40:]
	frag := func(off int, data []byte, more bool) []byte {
		h := append([]byte(nil), whole[:40]...)
		plen := 8 + len(data)
		h[4], h[5], h[6] = byte(plen>>8), byte(plen), 44
		fh := []byte{6, 0, 0, 0, 0, 0, 0, 99}
		v := uint16(off)
		if more {
			v |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], v)
		return append(append(h, fh...), data...)
	}
	d := NewDecoder(DefragLimits{})
	var s Segment
	d.Decode(LinkIPv6, frag(0, body[:112], true), t0, &s)
	if r := d.Decode(LinkIPv6, frag(112, body[112:], false), t0, &s); r != ResultTCP || len(s.Payload) != 200 {
		t.Fatalf("v6 reassembled: %d %d", r, len(s.Payload))
	}
}

func TestDefragIsBounded(t *testing.T) {
	d := NewDecoder(DefragLimits{MaxDatagrams: 4, MaxBytes: 1 << 20, Timeout: time.Second})
	var s Segment
	for i := 0; i < 100; i++ {
		h := outerIPv4(6, make([]byte, 64))
		h[4], h[5] = byte(i>>8), byte(i)
		h[6] = 0x20 // MF
		d.Decode(LinkIPv4, h, t0.Add(time.Duration(i)*time.Millisecond), &s)
	}
	if p := d.defrag.Pending(); p > 4 {
		t.Fatalf("%d pending datagrams, cap 4", p)
	}
}

func TestTruncatedHeadersAreMalformedNotPanics(t *testing.T) {
	frame := AppendEthernetTCP(nil, cli6, srv6, 1, 2, FlagACK, []byte("data"))
	for n := 0; n < len(frame); n++ {
		for _, link := range []uint32{LinkEthernet, LinkSLL2, LinkNFLOG, LinkNull, LinkRaw} {
			var s Segment
			NewDecoder(DefragLimits{}).Decode(link, frame[:n], t0, &s)
		}
	}
}

func corpusDir(t testing.TB) string {
	t.Helper()
	return shared.Path(t, "corpus")
}

// TestCorpusLinkTypes decodes the tcpdump link-type samples: the raw and
// NFLOG ones hold non-TCP IP packets (must decode, not count as malformed),
// the BIG TCP and GSO ones hold one super-segment each.
func TestCorpusLinkTypes(t *testing.T) {
	dir := corpusDir(t)
	cases := []struct {
		file             string
		tcp, other       int
		payload          int
		loopbackOrLinked uint32
	}{
		{"tcpdump_LINKTYPE_IPV4.pcap", 0, 1, 0, LinkIPv4},
		{"tcpdump_LINKTYPE_IPV6.pcap", 0, 1, 0, LinkIPv6},
		{"tcpdump_LINKTYPE_RAW_ipv4.pcap", 0, 1, 0, LinkRaw},
		{"tcpdump_nflog.pcap", 0, 4, 0, LinkNFLOG},
		{"tcpdump_bigtcp-ipv4.pcap", 1, 0, 80000, LinkEthernet},
		{"tcpdump_gso-ipv4.pcap", 1, 0, 7240, LinkEthernet},
		{"tcpdump_ipv4_tcp_http_xml_tso.pcap", 1, 0, 1976, LinkEthernet},
		{"gopacket_test_loopback.pcap", 24, 0, 56331, LinkNull},
	}
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join(dir, "pcap", c.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapio.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(DefragLimits{})
		var p pcapio.Packet
		var s Segment
		tcpN, other, payload := 0, 0, 0
		for r.Next(&p) == nil {
			if p.LinkType != c.loopbackOrLinked {
				t.Errorf("%s: link type %d", c.file, p.LinkType)
			}
			switch d.Decode(p.LinkType, p.Data, p.Time, &s) {
			case ResultTCP:
				tcpN++
				payload += len(s.Payload)
			case ResultOther:
				other++
			default:
				t.Errorf("%s: undecodable packet", c.file)
			}
		}
		if tcpN != c.tcp || other != c.other || payload != c.payload {
			t.Errorf("%s: tcp %d other %d payload %d, want %d %d %d", c.file, tcpN, other, payload, c.tcp, c.other, c.payload)
		}
	}
}

func BenchmarkDecodeEthernetIPv4TCP(b *testing.B) {
	frame := AppendEthernetTCP(nil, cli4, srv4, 1, 2, FlagACK|FlagPSH, bytes.Repeat([]byte("z"), 800))
	d := NewDecoder(DefragLimits{})
	var s Segment
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if d.Decode(LinkEthernet, frame, t0, &s) != ResultTCP {
			b.Fatal("decode")
		}
	}
}
