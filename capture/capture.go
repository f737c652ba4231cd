// Package capture rebuilds HTTP exchanges from pcap and pcapng files:
// reader → link/IP decode → TCP reassembly → HTTP/1 parser → Sink.
package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"time"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/capture/keylog"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/capture/tcpasm"
	"github.com/corscope/corscope/storage"
)

// Sink receives what the pipeline rebuilds, on the calling goroutine.
// Exchanges of a connection always come before that connection's record
// (the connection is written when it closes, with its final counters).
// The sink owns what it receives.
type Sink interface {
	Exchange(*storage.Exchange)
	Connection(*storage.Connection)
}

// Options tune the pipeline; the zero value is fine.
type Options struct {
	HTTP http1.Options
	// HTTP2 bounds what only HTTP/2 has (MaxStreams, MaxFrameBytes,
	// MaxConnBody, MaxTableSize); body and header caps come from HTTP.
	HTTP2      h2.Options
	Reassembly tcpasm.Options
	Defrag     packet.DefragLimits
	// Progress, when set, is called now and then with the number of input
	// bytes read so far (compressed bytes for .gz), for progress bars.
	Progress func(read int64)
	// Keylogs are NSS key log files (SSLKEYLOGFILE) loaded into Keys (or a
	// fresh store) for TLS decryption; pcapng Decryption Secrets Blocks are
	// added as they are read.
	Keylogs []string
	Keys    *keylog.Log
}

// Stats summarise one input.
type Stats struct {
	Packets     int64
	Bytes       int64 // captured frame bytes
	Connections int64
	Exchanges   int64
	Warnings    []string
	Counters    map[string]int64
	Format      string // storage.FormatPCAP or storage.FormatPCAPNG
	// Secrets holds the pcapng Decryption Secrets Blocks (TLS key logs).
	Secrets []pcapio.Secret
}

// IsPartial reports whether err means the input was read only in part
// (exit code 3): everything before the broken record was kept.
func IsPartial(err error) bool { return pcapio.IsPartial(err) }

// IsNotCapture reports whether err means the input is no capture at all
// (exit code 2).
func IsNotCapture(err error) bool { return errors.Is(err, pcapio.ErrNotCapture) }

// ReadFile ingests the capture at path ("-" is standard input).
func ReadFile(ctx context.Context, path string, opts Options, sink Sink) (Stats, error) {
	if path == "-" {
		return Read(ctx, os.Stdin, "stdin", opts, sink)
	}
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	return Read(ctx, f, path, opts, sink)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Read ingests a capture from r; name is used in errors and warnings. On a
// broken record the connections seen so far are flushed and the error
// (IsPartial) names the file and byte offset.
func Read(ctx context.Context, r io.Reader, name string, opts Options, sink Sink) (Stats, error) {
	cr := &countingReader{r: r}
	rd, err := pcapio.NewReader(cr)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", name, err)
	}
	defer rd.Close()
	pl := newPipeline(opts, sink)
	if pl.tls.keyErr != nil {
		return Stats{}, pl.tls.keyErr
	}
	pl.stats.Format = rd.Format()

	var pkt pcapio.Packet
	var seg packet.Segment
	var readErr error
	var last time.Time
	for {
		err := rd.Next(&pkt)
		if err != nil {
			if err != io.EOF {
				readErr = fmt.Errorf("%s: %w", name, err)
			}
			break
		}
		if len(rd.Secrets()) > pl.tls.secretsSeen {
			pl.addSecrets(rd.Secrets())
		}
		pl.stats.Packets++
		pl.stats.Bytes += int64(len(pkt.Data))
		pl.offsets[pl.stats.Packets&(offsetRing-1)] = pkt.Offset
		last = pkt.Time
		switch pl.dec.Decode(pkt.LinkType, pkt.Data, pkt.Time, &seg) {
		case packet.ResultTCP:
			if seg.Missing > 0 {
				pl.noteSnaplen(pl.stats.Packets, &seg)
			}
			pl.asm.Add(&seg, pl.stats.Packets, pkt.Time)
		case packet.ResultUnsupported:
			pl.unsupported[pkt.LinkType]++
		}
		if pl.stats.Packets&4095 == 0 {
			if err := ctx.Err(); err != nil {
				readErr = fmt.Errorf("%s: stopped after %d packets: %w", name, pl.stats.Packets, err)
				break
			}
			if opts.Progress != nil {
				opts.Progress(cr.n)
			}
		}
	}
	// End of capture: flush by capture time, never the wall clock.
	pl.asm.FlushAll(last)
	pl.finish(rd, name)
	if opts.Progress != nil {
		opts.Progress(cr.n)
	}
	return pl.stats, readErr
}

// offsetRing remembers the file offsets of the most recent packets, so an
// exchange can point at its first packet record (most exchanges start
// within this many packets of their emission).
const offsetRing = 1 << 16

type pipeline struct {
	offsets     [offsetRing]int64
	opts        Options
	sink        Sink
	dec         *packet.Decoder
	asm         *tcpasm.Assembler
	stats       Stats
	unsupported map[uint32]int64
	skipped     map[string]int64 // connections not parsed as HTTP/1, by reason
	upgrades    map[string]int64
	h2          h2Counters
	limits      limitCounters
	tls         tlsState
	noResponse  int64
	snaplen     []snaplenCut // recent snaplen-cut packets, ascending
}

func newPipeline(opts Options, sink Sink) *pipeline {
	pl := &pipeline{
		opts:        opts,
		sink:        sink,
		dec:         packet.NewDecoder(opts.Defrag),
		unsupported: map[uint32]int64{},
		skipped:     map[string]int64{},
		upgrades:    map[string]int64{},
	}
	pl.tls.keys, pl.tls.keyErr = openKeys(opts)
	ro := opts.Reassembly
	if ro.Classify == nil {
		ro.Classify = classify
	}
	pl.asm = tcpasm.New(ro, pl.newStream)
	return pl
}

// classify decides a SYN-less connection's direction from its first bytes.
func classify(b []byte) (isClient, isServer bool) {
	switch {
	case http1.LooksLikeRequest(b), isTLSHandshake(b, 1), hasH2Preface(b):
		return true, false
	case http1.LooksLikeResponse(b), isTLSHandshake(b, 2):
		return false, true
	}
	return false, false
}

// isTLSHandshake reports a TLS handshake record starting with message type
// typ (1 ClientHello, 2 ServerHello).
func isTLSHandshake(b []byte, typ byte) bool {
	return len(b) >= 6 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && b[5] == typ
}

const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func hasH2Preface(b []byte) bool {
	n := min(len(b), len(h2Preface))
	return n >= 8 && string(b[:n]) == h2Preface[:n]
}

func (pl *pipeline) finish(rd *pcapio.Reader, name string) {
	s := &pl.stats
	ac := pl.asm.Counters()
	dc := pl.dec.Stats()
	s.Connections = ac.Connections
	s.Secrets = rd.Secrets()
	c := map[string]int64{
		"packets.non_tcp":                  dc.NonTCP,
		"packets.malformed":                dc.Malformed,
		"packets.unsupported_link":         dc.Unsupported,
		"packets.snaplen_truncated":        dc.SnaplenTruncated,
		"packets.tunnelled":                dc.Tunnelled,
		"ip.fragments":                     dc.Fragments,
		"ip.reassembled":                   dc.Reassembled,
		"ip.fragments_dropped":             dc.FragDrops,
		"tcp.out_of_order":                 ac.OutOfOrder,
		"tcp.retransmissions":              ac.Retransmissions,
		"tcp.conflicting_retransmissions":  ac.ConflictingRetrans,
		"tcp.gaps":                         ac.Gaps,
		"tcp.gap_bytes":                    ac.GapBytes,
		"tcp.holes_forced_by_buffer_cap":   ac.ForcedByBufferCap,
		"tcp.idle_closed":                  ac.IdleClosed,
		"tcp.evicted":                      ac.Evicted,
		"tcp.direction_by_port":            ac.DirectionByPort,
		"tcp.max_concurrent_connections":   ac.ConnectionsAtOnceMax,
		"tcp.segments_ignored_no_conn":     ac.IgnoredNoConnection,
		"tcp.segments_ignored_after_close": ac.IgnoredAfterClose,
		"http.exchanges_without_response":  pl.noResponse,
		"pcapng.decryption_secrets_blocks": int64(len(s.Secrets)),
	}
	for typ, n := range rd.SkippedBlocks() {
		c[fmt.Sprintf("pcapng.skipped_blocks_type_%#x", typ)] = n
	}
	for reason, n := range pl.skipped {
		c["connections.skipped_"+reason] = n
	}
	pl.h2.addTo(c)
	pl.tls.addTo(c)
	pl.limits.addTo(c)
	c["tcp.buffer_cap_bytes_skipped"] = ac.BufferCapBytes
	for proto, n := range pl.upgrades {
		c["http.upgraded_"+proto] = n
	}
	for k, v := range c {
		if v == 0 {
			delete(c, k)
		}
	}
	s.Counters = c

	links := make([]uint32, 0, len(pl.unsupported))
	for l := range pl.unsupported {
		links = append(links, l)
	}
	sort.Slice(links, func(i, j int) bool { return links[i] < links[j] })
	for _, l := range links {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d packets of unsupported link type %d skipped", name, pl.unsupported[l], l))
	}
	if ac.GapBytes > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d bytes in %d places missing from the capture (TCP gaps)", name, ac.GapBytes, ac.Gaps))
	}
	if ac.ConflictingRetrans > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d retransmitted segments carried different data (first copy kept)", name, ac.ConflictingRetrans))
	}
	if ac.ForcedByBufferCap > 0 || ac.Evicted > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: reassembly limits reached (%d holes skipped at buffer cap, %d connections evicted; %d exchanges flagged)",
			name, ac.ForcedByBufferCap, ac.Evicted, pl.limits.bufferCap+pl.limits.evicted))
	}
	if n := pl.limits.idleClosed; n > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d exchanges cut short by the idle timeout (flagged)", name, n))
	}
	if dc.SnaplenTruncated > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d packets cut by the capture's snap length", name, dc.SnaplenTruncated))
	}
	if err := pl.tls.keyErr; err != nil { // Read stops on it; a Stream carries on
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %v", name, err))
	}
	if n := pl.tls.undecrypted; n > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d TLS connections not decrypted (no key log secrets for them)", name, n))
	}
	if n := pl.skipped["h2"]; n > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d cleartext HTTP/2 connections not parsed", name, n))
	}
}

// connStream feeds one connection to the HTTP/1 parser.
type connStream struct {
	pl      *pipeline
	info    *tcpasm.Conn
	parser  *http1.Parser
	h2      h2Conn
	tls     bool
	tlsc    *tlsConn // the TLS decoder, when tls
	skip    string   // reason the connection is not parsed as HTTP/1
	decided bool
	capGaps bool // a buffer cap forced a hole in this connection
	// server bytes that came before any client byte
	early      []earlyChunk
	earlyBytes int
}

func (pl *pipeline) newStream(c *tcpasm.Conn) tcpasm.Stream {
	return &connStream{pl: pl, info: c}
}

// start decides how to parse the connection from its first bytes (the
// client's unless the server's came first and looked like HTTP/1) and
// replays server bytes held meanwhile.
func (s *connStream) start(first []byte, dir tcpasm.Dir) {
	s.decided = true
	if dir == tcpasm.ClientToServer {
		switch {
		case isTLSHandshake(first, 1) || (len(first) >= 3 && first[0] >= 0x14 && first[0] <= 0x17 && first[1] == 3 && first[2] <= 4):
			s.startTLS()
		case hasH2Preface(first):
			s.startH2()
		}
	}
	if s.skip != "" {
		s.pl.skipped[s.skip]++
		s.early = nil
		return
	}
	if s.h2.p == nil && s.tlsc == nil {
		meta := http1.ConnMeta{Client: s.info.Client.String(), Server: s.info.Server.String(), ConnNo: s.info.No}
		s.parser = http1.NewParser(s.pl.opts.HTTP, meta, s.emit)
	}
	early := s.early
	s.early = nil
	for _, e := range early {
		if e.seg.Data == nil {
			s.replayGap(e)
			continue
		}
		s.feed(tcpasm.ServerToClient, e.seg)
	}
}

// snaplenCut is a packet whose payload the capture's snap length cut.
type snaplenCut struct {
	packet   int64
	src, dst netip.AddrPort
}

const maxSnaplenCuts = 4096

func (pl *pipeline) noteSnaplen(n int64, seg *packet.Segment) {
	if len(pl.snaplen) >= maxSnaplenCuts {
		copy(pl.snaplen, pl.snaplen[maxSnaplenCuts/2:])
		pl.snaplen = pl.snaplen[:len(pl.snaplen)-maxSnaplenCuts/2]
	}
	pl.snaplen = append(pl.snaplen, snaplenCut{n, seg.Src, seg.Dst})
}

// WarnSnaplen marks exchanges with bytes missing because the capture's
// snap length cut their packets (not because packets were lost).
const WarnSnaplen = "packets cut by the capture's snap length: bytes missing"

// snaplenHit reports whether a packet of this connection between first and
// last was cut by the snap length.
func (s *connStream) snaplenHit(first, last int64) bool {
	cuts := s.pl.snaplen
	i := sort.Search(len(cuts), func(i int) bool { return cuts[i].packet >= first })
	for ; i < len(cuts) && cuts[i].packet <= last; i++ {
		c := cuts[i]
		if (c.src == s.info.Client && c.dst == s.info.Server) || (c.src == s.info.Server && c.dst == s.info.Client) {
			return true
		}
	}
	return false
}

// WarnConflictingRetransmission marks exchanges with a retransmitted
// segment whose bytes differed from the first copy (which was kept).
const WarnConflictingRetransmission = "retransmitted segment with different data (first copy kept)"

func (s *connStream) emit(e *storage.Exchange) {
	if s.holdUpgrade(e) {
		return
	}
	if len(s.info.ConflictPackets) > 0 && e.FirstPacket > 0 {
		last := e.LastPacket
		if last < e.FirstPacket {
			last = s.pl.stats.Packets
		}
		for _, p := range s.info.ConflictPackets {
			if p >= e.FirstPacket && p <= last {
				e.AddWarning(WarnConflictingRetransmission)
				break
			}
		}
	}
	if len(s.pl.snaplen) > 0 && e.FirstPacket > 0 {
		last := e.LastPacket
		if last < e.FirstPacket {
			last = s.pl.stats.Packets
		}
		if s.snaplenHit(e.FirstPacket, last) {
			e.AddWarning(WarnSnaplen)
		}
	}
	s.flagLimits(e)
	s.pl.stats.Exchanges++
	if n := e.FirstPacket; n > 0 && n > s.pl.stats.Packets-offsetRing && n <= s.pl.stats.Packets {
		e.Offset = s.pl.offsets[n&(offsetRing-1)]
	}
	if e.Status == 0 {
		s.pl.noResponse++
	}
	s.pl.sink.Exchange(e)
}

// maxEarlyServerBytes bounds what is held while a connection's server
// speaks first (HTTP/2 SETTINGS, banners) and its client bytes decide.
const maxEarlyServerBytes = 64 << 10

type earlyChunk struct {
	seg   http1.Segment
	gap   int    // a Gap of this size, when seg.Data is nil
	cause string // why a limit forced that gap, if one did
	time  time.Time
}

func (s *connStream) Data(dir tcpasm.Dir, c *tcpasm.Chunk) {
	if !s.decided {
		// The client's first bytes decide (HTTP/1, TLS, h2 preface); a server
		// that speaks first is held until then unless it looks like HTTP/1.
		if dir == tcpasm.ServerToClient && !http1.LooksLikeResponse(c.Data) && s.earlyBytes+len(c.Data) <= maxEarlyServerBytes {
			s.early = append(s.early, earlyChunk{seg: http1.Segment{Data: append([]byte(nil), c.Data...), Time: c.Time, Packet: c.Packet, Seq: c.Seq, Ack: c.Ack}})
			s.earlyBytes += len(c.Data)
			return
		}
		s.start(c.Data, dir)
	}
	s.feed(dir, http1.Segment{Data: c.Data, Time: c.Time, Packet: c.Packet, Seq: c.Seq, Ack: c.Ack})
}

func (s *connStream) feed(dir tcpasm.Dir, seg http1.Segment) {
	if s.tlsc != nil {
		s.feedTLS(dir, seg)
		return
	}
	s.feedApp(dir, seg)
}

// feedApp hands application bytes (cleartext, or decrypted) to the parser.
func (s *connStream) feedApp(dir tcpasm.Dir, seg http1.Segment) {
	if s.h2.p != nil {
		s.h2.p.Feed(http1.Dir(dir), seg)
		return
	}
	if s.parser == nil {
		return
	}
	if _, up := s.parser.Upgraded(); up {
		return
	}
	s.parser.Feed(http1.Dir(dir), seg)
	s.afterHTTP1(seg)
}

func (s *connStream) Gap(dir tcpasm.Dir, lost int, t time.Time) {
	if !s.decided && dir == tcpasm.ServerToClient {
		s.early = append(s.early, earlyChunk{gap: lost, time: t})
		return
	}
	if s.tlsc != nil {
		s.gapTLS(dir, lost)
		return
	}
	s.gapApp(dir, lost, t, "")
}

// replayGap hands over a server gap held until the connection was decided.
func (s *connStream) replayGap(e earlyChunk) {
	if s.tlsc != nil {
		s.gapTLS(tcpasm.ServerToClient, e.gap)
		if e.cause != "" {
			s.tlsc.lostCause[1] = e.cause
		}
		return
	}
	s.gapApp(tcpasm.ServerToClient, e.gap, e.time, e.cause)
}

func (s *connStream) Close(t time.Time) {
	if !s.decided && len(s.early) > 0 {
		s.start(nil, tcpasm.ServerToClient)
	}
	if s.tlsc != nil {
		s.drainTLS(t)
	}
	if s.parser != nil {
		s.parser.Close(t)
		if proto, up := s.parser.Upgraded(); up {
			s.pl.upgrades[proto]++
		}
	}
	h2Warnings := s.closeH2(t)
	in := s.info
	c := &storage.Connection{
		No:        in.No,
		Client:    in.Client.String(),
		Server:    in.Server.String(),
		TLS:       s.tls,
		FirstSeen: in.FirstSeen,
		LastSeen:  in.LastSeen,
		Packets:   in.Packets,
		Bytes:     in.Bytes,
		Warnings:  append(append([]string(nil), in.Warnings...), h2Warnings...),
	}
	if s.tlsc != nil {
		s.closeTLS(c)
	}
	s.pl.sink.Connection(c)
}
