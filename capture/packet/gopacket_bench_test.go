package packet

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// BenchmarkGopacketDecodingLayerParser decodes the same frame with gopacket's
// zero-allocation parser, the baseline our own decoder was measured against.
func BenchmarkGopacketDecodingLayerParser(b *testing.B) {
	frame := AppendEthernetTCP(nil, cli4, srv4, 1, 2, FlagACK|FlagPSH, bytes.Repeat([]byte("z"), 800))
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var tcp layers.TCP
	var payload gopacket.Payload
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &payload)
	decoded := make([]gopacket.LayerType, 0, 8)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.DecodeLayers(frame, &decoded); err != nil || len(tcp.Payload) != 800 {
			b.Fatal(err)
		}
	}
}
