package packet

import (
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add(uint32(LinkEthernet), AppendEthernetTCP(nil, cli4, srv4, 1, 2, FlagACK, []byte("GET / HTTP/1.1\r\n\r\n")))
	f.Add(uint32(LinkEthernet), AppendEthernetTCP(nil, cli6, srv6, 1, 2, FlagSYN, nil))
	f.Add(uint32(LinkIPv4), outerIPv4(47, append([]byte{0, 0, 0x08, 0x00}, ipTCP(cli4, srv4, "gre")...)))
	f.Add(uint32(LinkNFLOG), []byte{2, 0, 0, 0, 8, 0, 9, 0, 0x45, 0, 0, 20})
	f.Add(uint32(LinkSLL2), append([]byte{0x86, 0xdd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, ipTCP(cli6, srv6, "x")...))
	d := NewDecoder(DefragLimits{MaxDatagrams: 8, MaxBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, link uint32, data []byte) {
		var s Segment
		r := d.Decode(link%300, data, t0, &s)
		if r == ResultTCP && (len(s.Payload) > len(data) && s.Payload != nil && len(s.Payload) > 70000) {
			t.Fatalf("payload %d bytes from a %d-byte frame", len(s.Payload), len(data))
		}
		if s.Missing < 0 {
			t.Fatalf("negative missing %d", s.Missing)
		}
	})
}
