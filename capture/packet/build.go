package packet

import (
	"encoding/binary"
	"net/netip"
)

// AppendEthernetTCP appends an Ethernet frame holding one TCP segment
// (IPv4 or IPv6 after src's family) with valid checksums. Test fixtures and
// the benchmark generator use it; the decoder never needs it.
func AppendEthernetTCP(dst []byte, src, to netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) []byte {
	v6 := src.Addr().Is6() && !src.Addr().Is4In6()
	dst = append(dst, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1)
	if v6 {
		dst = append(dst, 0x86, 0xdd)
	} else {
		dst = append(dst, 0x08, 0x00)
	}
	return AppendIPTCP(dst, src, to, seq, ack, flags, payload)
}

// AppendIPTCP appends a bare IPv4 or IPv6 packet holding one TCP segment.
func AppendIPTCP(dst []byte, src, to netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) []byte {
	v6 := src.Addr().Is6() && !src.Addr().Is4In6()
	tcpLen := 20 + len(payload)
	ipStart := len(dst)
	var sum uint32
	if v6 {
		dst = append(dst, 0x60, 0, 0, 0, byte(tcpLen>>8), byte(tcpLen), 6, 64)
		s, d := src.Addr().As16(), to.Addr().As16()
		dst = append(dst, s[:]...)
		dst = append(dst, d[:]...)
		sum = checksumAdd(0, s[:])
		sum = checksumAdd(sum, d[:])
	} else {
		total := 20 + tcpLen
		dst = append(dst, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, 6, 0, 0)
		s, d := src.Addr().As4(), to.Addr().As4()
		dst = append(dst, s[:]...)
		dst = append(dst, d[:]...)
		binary.BigEndian.PutUint16(dst[ipStart+10:], ^fold(checksumAdd(0, dst[ipStart:ipStart+20])))
		sum = checksumAdd(0, s[:])
		sum = checksumAdd(sum, d[:])
	}
	sum += 6 + uint32(tcpLen)
	t := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, src.Port())
	dst = binary.BigEndian.AppendUint16(dst, to.Port())
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = binary.BigEndian.AppendUint32(dst, ack)
	dst = append(dst, 5<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
	dst = append(dst, payload...)
	binary.BigEndian.PutUint16(dst[t+16:], ^fold(checksumAdd(sum, dst[t:])))
	return dst
}

func checksumAdd(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
