// Package packet turns captured frames into TCP segments: link layers,
// tunnels (VXLAN, GRE), IPv4/IPv6 with fragment reassembly, and TCP.
package packet

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Link types (LINKTYPE_* values as they appear in pcap and pcapng files).
const (
	LinkNull     = 0
	LinkEthernet = 1
	LinkRaw12    = 12 // DLT_RAW on some BSDs, seen in files
	LinkRaw14    = 14 // DLT_RAW on OpenBSD
	LinkRaw      = 101
	LinkLoop     = 108
	LinkSLL      = 113
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkNFLOG    = 239
	LinkSLL2     = 276
)

// TCP flag bits as in the TCP header.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
)

// Segment is one decoded TCP segment. Payload points into the frame (or the
// decoder's defragmentation buffer) and is valid only until the next Decode.
type Segment struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    uint8
	Payload  []byte
	// Missing counts payload bytes the IP header announces but the capture
	// does not hold (snaplen): the stream has a gap of this size after Payload.
	Missing int
}

// Result says what Decode found.
type Result uint8

const (
	ResultTCP         Result = iota // seg holds a TCP segment
	ResultOther                     // a well-formed packet that is not TCP (ARP, UDP, ICMP, ...)
	ResultFragment                  // an IP fragment held for reassembly
	ResultUnsupported               // unknown link type
	ResultMalformed                 // truncated or inconsistent headers
)

// Counters are the decoder's tallies, for the ingest statistics.
type Counters struct {
	Malformed, Unsupported, NonTCP    int64
	Fragments, Reassembled, FragDrops int64
	Tunnelled, SnaplenTruncated       int64
}

// Decoder decodes frames. It is not safe for concurrent use; the zero value
// is not usable, call NewDecoder.
type Decoder struct {
	defrag   *Defragmenter
	now      time.Time
	Counters Counters
}

// NewDecoder returns a decoder whose fragment reassembly is bounded by lim.
func NewDecoder(lim DefragLimits) *Decoder {
	return &Decoder{defrag: NewDefragmenter(lim)}
}

// Stats returns the counters including fragments the defragmenter dropped.
func (d *Decoder) Stats() Counters {
	c := d.Counters
	c.FragDrops += d.defrag.Dropped
	return c
}

const maxTunnelDepth = 3

// Decode decodes one frame of the given link type captured at t. It never
// panics on hostile input and does not allocate on the common path.
func (d *Decoder) Decode(link uint32, frame []byte, t time.Time, seg *Segment) Result {
	d.now = t
	r := d.link(link, frame, seg, 0)
	switch r {
	case ResultMalformed:
		d.Counters.Malformed++
	case ResultUnsupported:
		d.Counters.Unsupported++
	case ResultOther:
		d.Counters.NonTCP++
	case ResultTCP:
		if seg.Missing > 0 {
			d.Counters.SnaplenTruncated++
		}
	}
	return r
}

func (d *Decoder) link(link uint32, b []byte, seg *Segment, depth int) Result {
	switch link {
	case LinkEthernet:
		return d.ethernet(b, seg, depth)
	case LinkRaw, LinkRaw12, LinkRaw14:
		return d.ipAny(b, seg, depth)
	case LinkIPv4:
		return d.ipv4(b, seg, depth)
	case LinkIPv6:
		return d.ipv6(b, seg, depth)
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return ResultMalformed
		}
		// The family is in the writer's host byte order for NULL, network
		// order for LOOP; accept either.
		fam := binary.LittleEndian.Uint32(b)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(b)
		}
		switch fam {
		case 2:
			return d.ipv4(b[4:], seg, depth)
		case 10, 24, 28, 30:
			return d.ipv6(b[4:], seg, depth)
		}
		return ResultOther
	case LinkSLL:
		if len(b) < 16 {
			return ResultMalformed
		}
		return d.etherType(binary.BigEndian.Uint16(b[14:]), b[16:], seg, depth)
	case LinkSLL2:
		if len(b) < 20 {
			return ResultMalformed
		}
		return d.etherType(binary.BigEndian.Uint16(b), b[20:], seg, depth)
	case LinkNFLOG:
		return d.nflog(b, seg, depth)
	}
	return ResultUnsupported
}

func (d *Decoder) ethernet(b []byte, seg *Segment, depth int) Result {
	if len(b) < 14 {
		return ResultMalformed
	}
	et := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	// 802.1Q, 802.1ad (QinQ) and the old 0x9100 tag, any depth.
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
		if len(b) < 4 {
			return ResultMalformed
		}
		et = binary.BigEndian.Uint16(b[2:])
		b = b[4:]
	}
	return d.etherType(et, b, seg, depth)
}

func (d *Decoder) etherType(et uint16, b []byte, seg *Segment, depth int) Result {
	switch et {
	case 0x0800:
		return d.ipv4(b, seg, depth)
	case 0x86dd:
		return d.ipv6(b, seg, depth)
	}
	return ResultOther
}

func (d *Decoder) ipAny(b []byte, seg *Segment, depth int) Result {
	if len(b) < 1 {
		return ResultMalformed
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, seg, depth)
	case 6:
		return d.ipv6(b, seg, depth)
	}
	return ResultMalformed
}

func (d *Decoder) nflog(b []byte, seg *Segment, depth int) Result {
	if len(b) < 4 {
		return ResultMalformed
	}
	fam := b[0]
	b = b[4:]
	// TLVs: length and type in host order (little endian in practice),
	// length includes the 4-byte header, values padded to 4 bytes.
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint16(b))
		typ := binary.LittleEndian.Uint16(b[2:])
		if n < 4 || n > len(b) {
			return ResultMalformed
		}
		if typ == 9 { // NFULA_PAYLOAD
			p := b[4:n]
			switch fam {
			case 2:
				return d.ipv4(p, seg, depth)
			case 10:
				return d.ipv6(p, seg, depth)
			}
			return d.ipAny(p, seg, depth)
		}
		adv := (n + 3) &^ 3
		if adv > len(b) {
			break
		}
		b = b[adv:]
	}
	return ResultOther
}

func (d *Decoder) ipv4(b []byte, seg *Segment, depth int) Result {
	if len(b) < 20 || b[0]>>4 != 4 {
		return ResultMalformed
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || ihl > len(b) {
		return ResultMalformed
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	missing := 0
	switch {
	case total == 0:
		// BIG TCP / GSO super-packets carry length 0: the frame is the packet.
		total = len(b)
	case total < ihl:
		return ResultMalformed
	case total <= len(b):
		b = b[:total] // drop Ethernet padding and trailers
	default:
		missing = total - len(b)
	}
	proto := b[9]
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	flagsFrag := binary.BigEndian.Uint16(b[6:])
	payload := b[ihl:]
	if flagsFrag&0x3fff != 0 { // MF set or offset non-zero
		d.Counters.Fragments++
		if missing > 0 {
			d.Counters.FragDrops++
			return ResultMalformed
		}
		key := fragKey{src: src, dst: dst, id: uint32(binary.BigEndian.Uint16(b[4:])), proto: proto}
		whole, ok := d.defrag.add(key, int(flagsFrag&0x1fff)*8, flagsFrag&0x2000 != 0, payload, d.now)
		if !ok {
			return ResultFragment
		}
		d.Counters.Reassembled++
		payload = whole
	}
	return d.transport(proto, src, dst, payload, missing, seg, depth)
}

func (d *Decoder) ipv6(b []byte, seg *Segment, depth int) Result {
	if len(b) < 40 || b[0]>>4 != 6 {
		return ResultMalformed
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	next := b[6]
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	body := b[40:]
	missing := 0
	jumbo := plen == 0 && next == 0
	switch {
	case plen == 0:
		// Jumbogram (RFC 2675) or a GSO super-packet: use what was captured,
		// the hop-by-hop jumbo option below may narrow it.
	case plen <= len(body):
		body = body[:plen]
	default:
		missing = plen - len(body)
	}
	for hops := 0; hops < 8; hops++ {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(body) < 8 {
				return ResultMalformed
			}
			n := (int(body[1]) + 1) * 8
			if n > len(body) {
				return ResultMalformed
			}
			if next == 0 && jumbo {
				switch j := jumboLength(body[2:n]); {
				case j < n: // no usable jumbo option: keep the captured length
				case j <= len(body):
					body = body[:j]
				default:
					missing = j - len(body)
				}
			}
			next, body = body[0], body[n:]
		case 51: // AH
			if len(body) < 8 {
				return ResultMalformed
			}
			n := (int(body[1]) + 2) * 4
			if n > len(body) {
				return ResultMalformed
			}
			next, body = body[0], body[n:]
		case 44: // fragment
			if len(body) < 8 {
				return ResultMalformed
			}
			d.Counters.Fragments++
			if missing > 0 {
				d.Counters.FragDrops++
				return ResultMalformed
			}
			off := int(binary.BigEndian.Uint16(body[2:]) &^ 7)
			more := body[3]&1 != 0
			key := fragKey{src: src, dst: dst, id: binary.BigEndian.Uint32(body[4:]), proto: body[0], v6: true}
			if off == 0 && !more { // atomic fragment
				next, body = body[0], body[8:]
				continue
			}
			whole, ok := d.defrag.add(key, off, more, body[8:], d.now)
			if !ok {
				return ResultFragment
			}
			d.Counters.Reassembled++
			return d.transport(key.proto, src, dst, whole, 0, seg, depth)
		default:
			return d.transport(next, src, dst, body, missing, seg, depth)
		}
	}
	return ResultMalformed
}

// jumboLength returns the Jumbo Payload length from hop-by-hop options, or 0.
func jumboLength(opts []byte) int {
	for len(opts) >= 1 {
		if opts[0] == 0 { // Pad1
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1])+2 > len(opts) {
			return 0
		}
		if opts[0] == 0xc2 && opts[1] == 4 {
			// The jumbo length counts from after the IPv6 header, i.e. it
			// includes this hop-by-hop header.
			return int(binary.BigEndian.Uint32(opts[2:]))
		}
		opts = opts[2+int(opts[1]):]
	}
	return 0
}

func (d *Decoder) transport(proto uint8, src, dst netip.Addr, b []byte, missing int, seg *Segment, depth int) Result {
	switch proto {
	case 6:
		return tcp(src, dst, b, missing, seg)
	case 17:
		if depth < maxTunnelDepth && len(b) >= 8+8 && binary.BigEndian.Uint16(b[2:]) == 4789 && b[8]&0x08 != 0 {
			d.Counters.Tunnelled++
			return d.ethernet(b[16:], seg, depth+1)
		}
	case 47:
		if depth < maxTunnelDepth {
			return d.gre(b, seg, depth+1)
		}
	case 4: // IP in IP
		if depth < maxTunnelDepth {
			d.Counters.Tunnelled++
			return d.ipv4(b, seg, depth+1)
		}
	case 41:
		if depth < maxTunnelDepth {
			d.Counters.Tunnelled++
			return d.ipv6(b, seg, depth+1)
		}
	}
	return ResultOther
}

func (d *Decoder) gre(b []byte, seg *Segment, depth int) Result {
	if len(b) < 4 {
		return ResultMalformed
	}
	flags := binary.BigEndian.Uint16(b)
	if flags&0x0007 != 0 { // only GRE version 0
		return ResultOther
	}
	et := binary.BigEndian.Uint16(b[2:])
	n := 4
	if flags&0x8000 != 0 { // checksum present
		n += 4
	}
	if flags&0x2000 != 0 { // key
		n += 4
	}
	if flags&0x1000 != 0 { // sequence
		n += 4
	}
	if n > len(b) {
		return ResultMalformed
	}
	d.Counters.Tunnelled++
	if et == 0x6558 { // transparent Ethernet bridging
		return d.ethernet(b[n:], seg, depth)
	}
	return d.etherType(et, b[n:], seg, depth)
}

func tcp(src, dst netip.Addr, b []byte, missing int, seg *Segment) Result {
	if len(b) < 20 {
		return ResultMalformed
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) {
		return ResultMalformed
	}
	*seg = Segment{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b)),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
		Seq:     binary.BigEndian.Uint32(b[4:]),
		Ack:     binary.BigEndian.Uint32(b[8:]),
		Flags:   b[13],
		Payload: b[off:],
		Missing: missing,
	}
	return ResultTCP
}
