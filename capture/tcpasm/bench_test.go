package tcpasm

import (
	"bytes"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/packet"
)

type discard struct{ n int }

func (d *discard) Data(_ Dir, c *Chunk)    { d.n += len(c.Data) }
func (d *discard) Gap(Dir, int, time.Time) {}
func (d *discard) Close(time.Time)         {}

// BenchmarkInOrder is the common case: keep-alive request/response pairs
// arriving in order on one connection.
func BenchmarkInOrder(b *testing.B) {
	req := bytes.Repeat([]byte("q"), 400)
	resp := bytes.Repeat([]byte("r"), 1200)
	a := New(Options{}, func(*Conn) Stream { return &discard{} })
	syn := packet.Segment{Src: cli, Dst: srv, Seq: cISN, Flags: packet.FlagSYN}
	a.Add(&syn, 1, t0)
	cs, ss := uint32(cISN+1), uint32(sISN+1)
	q := packet.Segment{Src: cli, Dst: srv, Flags: packet.FlagACK, Payload: req}
	r := packet.Segment{Src: srv, Dst: cli, Flags: packet.FlagACK, Payload: resp}
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	pkt := int64(1)
	for b.Loop() {
		q.Seq, q.Ack = cs, ss
		pkt++
		a.Add(&q, pkt, t0)
		cs += uint32(len(req))
		r.Seq, r.Ack = ss, cs
		pkt++
		a.Add(&r, pkt, t0)
		ss += uint32(len(resp))
	}
}

// BenchmarkReordered swaps every other pair of segments: each second
// segment is buffered, then drained when its predecessor arrives.
func BenchmarkReordered(b *testing.B) {
	payload := bytes.Repeat([]byte("d"), 1000)
	a := New(Options{}, func(*Conn) Stream { return &discard{} })
	syn := packet.Segment{Src: cli, Dst: srv, Seq: cISN, Flags: packet.FlagSYN}
	a.Add(&syn, 1, t0)
	seq := uint32(cISN + 1)
	s1 := packet.Segment{Src: cli, Dst: srv, Flags: packet.FlagACK, Payload: payload}
	s2 := s1
	b.SetBytes(int64(2 * len(payload)))
	b.ReportAllocs()
	pkt := int64(1)
	for b.Loop() {
		s2.Seq, s1.Seq = seq+uint32(len(payload)), seq
		pkt++
		a.Add(&s2, pkt, t0)
		pkt++
		a.Add(&s1, pkt, t0)
		seq += uint32(2 * len(payload))
	}
}
