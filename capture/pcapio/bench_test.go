package pcapio

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

func benchCapture() []byte {
	pkts := make([][]byte, 10000)
	for i := range pkts {
		pkts[i] = bytes.Repeat([]byte{byte(i)}, 60+i%1400)
	}
	return pcapFile(binary.LittleEndian, false, 65535, 1, pkts)
}

// BenchmarkReader is the lean reader: zero-copy records out of the bufio buffer.
func BenchmarkReader(b *testing.B) {
	data := benchCapture()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		var p Packet
		for r.Next(&p) == nil {
		}
	}
}

// BenchmarkPcapgoReader is gopacket's reader over the same bytes, for the
// comparison that decided to keep our own.
func BenchmarkPcapgoReader(b *testing.B) {
	data := benchCapture()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
