package capture

import (
	"time"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
)

// h2Conn is the HTTP/2 side of a connection: prior knowledge (client
// preface), or "Upgrade: h2c" answered 101 on an HTTP/1 connection.
type h2Conn struct {
	p      *h2.Parser
	seed   *storage.Exchange // the 101 exchange of an h2c upgrade, until stream 1 takes it
	seeded bool
}

// h2Counters summarise the HTTP/2 connections of one input.
type h2Counters struct {
	connections, streams, blocksFailed, untracked, skippedBytes int64
	blocksOverCap                                               int64
	maxOpen                                                     int
}

func (c *h2Counters) addTo(m map[string]int64) {
	m["h2.connections"] = c.connections
	m["h2.streams"] = c.streams
	m["h2.header_blocks_failed"] = c.blocksFailed
	m["h2.header_blocks_over_cap"] = c.blocksOverCap
	m["h2.streams_untracked"] = c.untracked
	m["h2.bytes_skipped"] = c.skippedBytes
	m["h2.max_open_streams"] = int64(c.maxOpen)
}

// startH2 hands the connection to the HTTP/2 parser (prior knowledge, or
// ALPN "h2" after decryption).
func (s *connStream) startH2() {
	meta := http1.ConnMeta{Client: s.info.Client.String(), Server: s.info.Server.String(), TLS: s.tls, ConnNo: s.info.No}
	s.h2.p = h2.NewParser(s.pl.h2Options(), meta, s.emit)
	s.pl.h2.connections++
}

// h2Options are the HTTP/1 limits with the HTTP/2-only ones set in Options.
func (pl *pipeline) h2Options() h2.Options {
	o := h2.OptionsFrom(pl.opts.HTTP)
	x := pl.opts.HTTP2
	o.MaxStreams, o.MaxFrameBytes, o.MaxConnBody, o.MaxTableSize = x.MaxStreams, x.MaxFrameBytes, x.MaxConnBody, x.MaxTableSize
	return o
}

// holdUpgrade keeps the 101 exchange of an h2c upgrade from the sink: its
// request is stream 1's, whose response follows as HTTP/2 frames.
func (s *connStream) holdUpgrade(e *storage.Exchange) bool {
	if e.Upgrade != "h2c" || e.Status != 101 || s.h2.seeded || e.Proto == storage.ProtoHTTP2 {
		return false
	}
	s.h2.seeded = true
	if s.h2.p != nil {
		s.h2.p.Upgrade(e)
	} else {
		s.h2.seed = e
	}
	return true
}

// afterHTTP1 switches to HTTP/2 once the HTTP/1 parser saw a 101 to h2c,
// replaying the bytes that followed the switch in both directions.
func (s *connStream) afterHTTP1(seg http1.Segment) {
	if s.h2.p != nil || s.parser == nil {
		return
	}
	if proto, up := s.parser.Upgraded(); !up || proto != "h2c" {
		return
	}
	s.startH2()
	if s.h2.seed != nil {
		s.h2.p.Upgrade(s.h2.seed)
		s.h2.seed = nil
	}
	at := http1.Segment{Time: seg.Time, Packet: seg.Packet}
	for _, dir := range []http1.Dir{http1.ClientToServer, http1.ServerToClient} {
		if b := s.parser.Leftover(dir); len(b) > 0 {
			at.Data = b
			s.h2.p.Feed(dir, at)
		}
	}
}

// closeH2 flushes the HTTP/2 parser and returns its connection warnings.
func (s *connStream) closeH2(t time.Time) []string {
	if s.h2.seed != nil { // a 101 to h2c with nothing after it
		seed := s.h2.seed
		s.h2.seed = nil
		s.emit(seed)
	}
	if s.h2.p == nil {
		return nil
	}
	s.h2.p.Close(t)
	st := s.h2.p.Stats()
	c := &s.pl.h2
	c.streams += st.Streams
	c.blocksFailed += st.HeaderBlocksFailed
	c.blocksOverCap += st.HeaderBlocksOverCap
	c.untracked += st.UntrackedStreams
	c.skippedBytes += st.BytesSkipped
	c.maxOpen = max(c.maxOpen, st.MaxOpenStreams)
	return s.h2.p.Warnings()
}
