package capture

import (
	"net/netip"
	"time"

	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/storage"
)

// Stream is the packet-level entry into the pipeline Read uses, for live
// capture: packets are pushed one at a time instead of read from a file.
// Not safe for concurrent use; the sink is called on the caller's goroutine.
type Stream struct {
	pl *pipeline
	// Name prefixes warnings ("lo", "any"); "live" when empty.
	Name   string
	seg    packet.Segment
	last   time.Time // latest capture time seen
	adds   int64     // Assembler.Add calls, real and sweep probes
	probes int64     // sweep probes fed by Idle
	closed bool
}

// NewStream returns a stream feeding sink.
func NewStream(opts Options, sink Sink) *Stream {
	pl := newPipeline(opts, sink)
	pl.stats.Format = storage.FormatLive
	return &Stream{pl: pl}
}

// Packet decodes one captured frame of the given link type (packet.Link*)
// taken at ts. data is only read during the call.
func (s *Stream) Packet(linkType uint32, data []byte, ts time.Time) {
	if s.closed {
		return
	}
	pl := s.pl
	pl.stats.Packets++
	pl.stats.Bytes += int64(len(data))
	if ts.Before(s.last) {
		// Reassembly assumes capture order; a clock step back must not
		// make connections look idle or holes look stale.
		ts = s.last
	}
	s.last = ts
	switch pl.dec.Decode(linkType, data, ts, &s.seg) {
	case packet.ResultTCP:
		s.adds++
		pl.asm.Add(&s.seg, pl.stats.Packets, ts)
	case packet.ResultUnsupported:
		pl.unsupported[linkType]++
	}
}

// sweepProbe is a payload-less segment between unspecified addresses: the
// assembler counts it as belonging to no connection and ignores it.
var sweepProbe = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)

// Idle lets connections that saw no packet for the reassembly idle timeout
// close (their pending requests come out with status 0) when the capture is
// quiet. now is capture time: the caller passes the wall clock, which is
// what live capture timestamps are; it never goes back.
func (s *Stream) Idle(now time.Time) {
	if s.closed {
		return
	}
	if now.Before(s.last) {
		now = s.last
	}
	s.last = now
	// The assembler sweeps on every 1024th segment when a second of capture
	// time went by; feed probes up to the next such segment. This keeps the
	// assembler's API untouched; an exported Sweep would make it direct.
	n := 1024 - s.adds&1023
	seg := packet.Segment{Src: sweepProbe, Dst: sweepProbe}
	for range n {
		s.pl.asm.Add(&seg, s.pl.stats.Packets, now)
	}
	s.adds += n
	s.probes += n
}

// Stats returns the statistics so far without flushing anything.
func (s *Stream) Stats() Stats {
	st := s.snapshot()
	s.pl.stats.Warnings = nil // finish appends; keep the running stats clean
	return st
}

func (s *Stream) snapshot() Stats {
	name := s.Name
	if name == "" {
		name = "live"
	}
	s.pl.finish(&pcapio.Reader{}, name)
	st := s.pl.stats
	if st.Counters != nil {
		// The sweep probes are not captured segments.
		const k = "tcp.segments_ignored_no_conn"
		if v := st.Counters[k] - s.probes; v > 0 {
			st.Counters[k] = v
		} else {
			delete(st.Counters, k)
		}
	}
	return st
}

// Open returns how many connections are being reassembled.
func (s *Stream) Open() int { return s.pl.asm.Open() }

// Close flushes every connection at capture time now (the later of now and
// the last packet's time): requests still waiting for a response are emitted
// with status 0 and a warning. It returns the final statistics; the stream
// accepts nothing afterwards.
func (s *Stream) Close(now time.Time) Stats {
	if s.closed {
		return s.pl.stats
	}
	if now.Before(s.last) {
		now = s.last
	}
	s.pl.asm.FlushAll(now)
	s.closed = true
	s.pl.stats = s.snapshot()
	return s.pl.stats
}
