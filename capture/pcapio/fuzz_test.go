package pcapio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func FuzzReader(f *testing.F) {
	f.Add(pcapFile(binary.LittleEndian, false, 65535, 1, [][]byte{[]byte("abc"), []byte("defgh")}))
	f.Add(pcapFile(binary.BigEndian, true, 100, 276, [][]byte{[]byte("x")}))
	nb := &ngBuilder{order: binary.LittleEndian}
	nb.shb()
	nb.idb(1, 0x80|10)
	nb.epb(0, 12345, []byte("pkt"))
	nb.block(blockDSB, []byte{0x4b, 0x53, 0x4c, 0x54, 2, 0, 0, 0, 'a', 'b'})
	f.Add(nb.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrNotCapture) && !IsPartial(err) {
				t.Fatalf("unclassified header error %v", err)
			}
			return
		}
		var p Packet
		for i := 0; ; i++ {
			err := r.Next(&p)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !IsPartial(err) {
					t.Fatalf("unclassified error %v", err)
				}
				return
			}
			if p.Offset < 0 || (len(data) > 1 && data[0] != 0x1f && p.Offset >= int64(len(data))) {
				t.Fatalf("offset %d outside input", p.Offset)
			}
		}
	})
}
