package tcpasm

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/packet"
)

// FuzzReassembly feeds random segment streams cut from one known byte
// stream in both directions: whatever the order, duplication or loss, the
// output must never disagree with the original at any position, and never
// run past what was sent.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 0, 10, 1, 0, 10, 10, 0, 0, 5, 5, 2})
	f.Add([]byte{1, 0, 100, 0, 200, 50, 0, 0, 0, 40, 0, 3, 0, 150, 60, 4})
	truth := make([]byte, 1<<12)
	for i := range truth {
		truth[i] = byte('A' + i%23)
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		h := newHarness(Options{ReorderPackets: 2, MaxBufferedPerConn: 512, MaxConnections: 2})
		var sent [2]int
		start := [2]int{-1, -1}
		for len(ops) >= 4 {
			dir := ops[0] & 1
			off := int(binary.BigEndian.Uint16(ops[1:]) % uint16(len(truth)))
			n := int(ops[3])
			flags := uint8(0)
			if ops[0]&2 != 0 {
				flags |= packet.FlagSYN
			}
			if ops[0]&4 != 0 {
				flags |= packet.FlagFIN
			}
			if ops[0]&8 != 0 {
				flags |= packet.FlagRST
			}
			ops = ops[4:]
			if off+n > len(truth) {
				n = len(truth) - off
			}
			from, to, isn := cli, srv, uint32(cISN)
			if dir == 1 {
				from, to, isn = srv, cli, sISN
			}
			seq := isn + 1 + uint32(off)
			if flags&packet.FlagSYN != 0 {
				seq--
			}
			if start[dir] < 0 && (n > 0 || flags&packet.FlagSYN != 0) {
				start[dir] = off
			}
			if off+n > sent[dir] {
				sent[dir] = off + n
			}
			s := packet.Segment{Src: from, Dst: to, Seq: seq, Ack: 0, Flags: flags | packet.FlagACK, Payload: truth[off : off+n]}
			if flags&packet.FlagSYN != 0 && dir == 0 {
				s.Flags &^= packet.FlagACK
			}
			h.pkt++
			h.t = h.t.Add(time.Millisecond)
			h.a.Add(&s, h.pkt, h.t)
		}
		h.a.FlushAll(h.t)
		for _, r := range h.recs {
			if !r.closed {
				t.Fatal("connection not closed at flush")
			}
			for d := 0; d < 2; d++ {
				_ = r.buf[d].Bytes()
			}
		}
		// With a single connection every byte that comes out sits at its
		// place in the original stream, counted from the first packet seen.
		if len(h.recs) == 1 {
			r := h.recs[0]
			for d := 0; d < 2; d++ {
				cd := d
				if r.conn.Client != cli {
					cd = 1 - d
				}
				got := r.buf[d].Bytes()
				if start[cd] < 0 {
					if len(got) != 0 {
						t.Fatalf("dir %d: output without input", d)
					}
					continue
				}
				if start[cd]+len(got) > len(truth) {
					t.Fatalf("dir %d: %d bytes out from offset %d", d, len(got), start[cd])
				}
				for i, c := range got {
					if c != '?' && c != truth[start[cd]+i] {
						t.Fatalf("dir %d: byte %d = %q, want %q", d, i, c, truth[start[cd]+i])
					}
				}
			}
		}
	})
}
