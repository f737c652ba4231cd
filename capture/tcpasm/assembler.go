// Package tcpasm reassembles TCP byte streams from captured segments, in
// capture order, with bounded buffering and explicit gaps. No goroutines.
package tcpasm

import (
	"net/netip"
	"sort"
	"time"

	"github.com/corscope/corscope/capture/packet"
)

// Dir is the direction of a byte stream within a connection.
type Dir uint8

const (
	ClientToServer Dir = 0
	ServerToClient Dir = 1
)

// Chunk is in-order stream data handed to a Stream. Data is valid only
// during the call.
type Chunk struct {
	Data   []byte
	Time   time.Time // capture time of the packet that carried Data
	Packet int64     // 1-based packet number of that packet
	Seq    uint32    // sequence number of Data[0]
	Ack    uint32    // acknowledgement number of that packet
}

// How a connection's direction was decided.
const (
	DirectionBySYN  = "syn"
	DirectionByData = "data"
	DirectionByPort = "port"
)

// Conn describes one tracked connection. The assembler owns it; a Stream
// may read it at any time and keep the pointer after Close.
type Conn struct {
	No          int64 // 1-based, in order of first appearance
	Client      netip.AddrPort
	Server      netip.AddrPort
	FirstSeen   time.Time
	LastSeen    time.Time
	Packets     int64
	Bytes       int64 // TCP payload bytes, both directions
	SawSYN      bool
	DirectionBy string
	Warnings    []string
	// ConflictPackets lists (up to 64) packets whose retransmitted bytes
	// differed from the copy already taken, so consumers can flag the
	// exchange they fall in.
	ConflictPackets []int64
	// ClosedBy names the limit closing the connection (LimitConnections or
	// LimitIdle). It is set before the final deliveries and Close, so a
	// Stream can flag what it emits from then on; NoLimit otherwise.
	ClosedBy Limit
	// EarlyReleases lists (up to 64) packets whose bytes a buffer cap made
	// the assembler hand over before the other direction's bytes they
	// acknowledge (a response before its request), so consumers can flag
	// the exchange they fall in.
	EarlyReleases []LimitHit
	// ResumedAfter is set on a connection without SYN whose 4-tuple a limit
	// closed shortly before (LimitConnections or LimitIdle): its first bytes
	// continue what was cut.
	ResumedAfter Limit
}

// LimitHit is a packet a limit affected, and the limit.
type LimitHit struct {
	Packet int64
	By     Limit
}

// Limit names a resource limit of the assembler that cut a connection short.
type Limit uint8

const (
	NoLimit            Limit = iota
	LimitConnections         // MaxConnections: evicted
	LimitIdle                // IdleTimeout: closed while silent
	LimitBufferPerConn       // MaxBufferedPerConn: a hole skipped
	LimitBufferTotal         // MaxBufferedTotal: a hole skipped
)

// LimitGapStream is implemented by Streams that want to tell holes a buffer
// cap forced (the bytes may still be in the capture, later) from bytes the
// capture lacks. The assembler calls LimitGap instead of Gap for those.
type LimitGapStream interface {
	Stream
	LimitGap(dir Dir, skipped int, t time.Time, by Limit)
}

const maxConflictPackets = 64

func (c *Conn) conflict(pkt int64) {
	c.warn("retransmitted segment with different data (first copy kept)")
	if len(c.ConflictPackets) < maxConflictPackets {
		c.ConflictPackets = append(c.ConflictPackets, pkt)
	}
}

func (c *Conn) warn(w string) {
	for _, x := range c.Warnings {
		if x == w {
			return
		}
	}
	c.Warnings = append(c.Warnings, w)
}

// Stream consumes one connection's reassembled bytes.
type Stream interface {
	// Data delivers the next in-order bytes of one direction.
	Data(dir Dir, c *Chunk)
	// Gap reports lost bytes in one direction before the next Data.
	Gap(dir Dir, lost int, t time.Time)
	// Close ends the connection (FIN/RST, idle timeout, eviction or end of
	// capture); t is capture time. No call follows.
	Close(t time.Time)
}

// Factory returns the consumer of a new connection.
type Factory func(c *Conn) Stream

// Options bound the assembler. Zero fields take the defaults in brackets.
type Options struct {
	MaxConnections     int           // tracked at once [65536]; the least recently seen are closed beyond
	MaxBufferedPerConn int           // out-of-order bytes held per connection [4 MiB]
	MaxBufferedTotal   int           // out-of-order bytes held in all [128 MiB]
	IdleTimeout        time.Duration // capture time without packets before a connection is closed [5 min]
	// A hole is declared lost once the peer acknowledged past it and
	// ReorderPackets packets of the connection went by (or ReorderWindow of
	// capture time), or after 16×ReorderPackets packets / 10×ReorderWindow
	// without such evidence. [16 packets, 200 ms]
	ReorderPackets int
	ReorderWindow  time.Duration
	// Classify looks at the first payload of a connection without SYN and
	// says whether its sender is the client or the server (neither: ports decide).
	Classify func(b []byte) (isClient, isServer bool)
}

func (o *Options) defaults() {
	if o.MaxConnections <= 0 {
		o.MaxConnections = 1 << 16
	}
	if o.MaxBufferedPerConn <= 0 {
		o.MaxBufferedPerConn = 4 << 20
	}
	if o.MaxBufferedTotal <= 0 {
		o.MaxBufferedTotal = 128 << 20
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.ReorderPackets <= 0 {
		o.ReorderPackets = 16
	}
	if o.ReorderWindow <= 0 {
		o.ReorderWindow = 200 * time.Millisecond
	}
}

// Counters are the assembler's tallies for the ingest statistics.
type Counters struct {
	Connections          int64 // connections created
	OutOfOrder           int64 // segments buffered ahead of a hole
	Retransmissions      int64 // segments (or parts) whose bytes were already seen, identical
	ConflictingRetrans   int64 // ... with different bytes (first copy kept)
	KeepAlives           int64 // one-byte keep-alive probes below the next sequence number
	Gaps, GapBytes       int64 // holes declared lost
	ForcedByBufferCap    int64 // holes resolved because a buffer cap was hit
	BufferCapBytes       int64 // bytes those holes skipped
	IdleClosed           int64
	Evicted              int64 // closed because MaxConnections was reached
	IgnoredNoConnection  int64 // payload-less segments of unknown connections
	IgnoredAfterClose    int64
	DirectionByPort      int64
	ConnectionsAtOnceMax int64
}

type connKey struct{ a, b netip.AddrPort }

func keyOf(s, d netip.AddrPort) (connKey, bool) {
	if s.Compare(d) <= 0 {
		return connKey{s, d}, true
	}
	return connKey{d, s}, false
}

// Assembler tracks connections and feeds their streams. Not safe for
// concurrent use.
type Assembler struct {
	opt     Options
	factory Factory
	conns   map[connKey]*conn
	// limited remembers the 4-tuples of connections a limit closed and
	// forgot, so their continuation can say so; bounded by maxLimited.
	limited   map[connKey]Limit
	nextNo    int64
	buffered  int // out-of-order bytes held in all connections
	packets   int64
	lastSweep time.Time
	now       time.Time
	c         Counters
	open      int64
}

// New returns an assembler that asks factory for each new connection's Stream.
func New(opt Options, factory Factory) *Assembler {
	opt.defaults()
	return &Assembler{opt: opt, factory: factory, conns: make(map[connKey]*conn)}
}

// Counters returns the tallies so far.
func (a *Assembler) Counters() Counters { return a.c }

// Options returns the options in force, defaults filled in.
func (a *Assembler) Options() Options { return a.opt }

// Open returns how many connections are tracked now.
func (a *Assembler) Open() int { return int(a.open) }

type oooSeg struct {
	seq     uint32
	data    []byte
	time    time.Time
	packet  int64
	ack     uint32
	ackOK   bool
	missing int // bytes lost right after data (snaplen)
}

// waitItem is in-order data (or a gap, when data is nil) held back until
// the other direction has delivered the bytes it acknowledges.
type waitItem struct {
	data   []byte
	time   time.Time
	packet int64
	seq    uint32
	ack    uint32
	ackOK  bool
	gap    int
	by     Limit // the cap that forced the gap, if any
}

type half struct {
	started  bool
	next     uint32
	isn      uint32
	synSeen  bool
	fin      bool
	finSeq   uint32
	done     bool // FIN reached in order
	ooo      []oooSeg
	oooBytes int
	// hole bookkeeping
	holeOpen  bool
	holeSince time.Time
	holePkts  int64
	ackBeyond bool
	maxAck    uint32
	hist      []byte // last delivered bytes, for retransmission comparison
	// Cross-direction ordering: dnext is the sequence number after the last
	// byte handed to the Stream (next minus what waits in wait).
	dnext     uint32
	lastPkt   int64 // packet of the last bytes delivered
	wait      []waitItem
	waitBytes int
	waitSince time.Time
	waitPkts  int64
}

type conn struct {
	info     Conn
	key      connKey
	aIsCli   bool // key.a is the client
	half     [2]half
	stream   Stream
	closed   bool
	closedAt time.Time
	chunk    Chunk // reused for every delivery: no allocation per segment
	curPkt   int64 // packet being added
	// Direction guessed from ports, Stream not created yet: output is held.
	tentative bool
	tentPkts  int
	held      []heldItem
	heldBytes int
	// resetAt is when a RST was seen. The connection stays open while
	// bytes sent before it are known to be missing (reordered after it in
	// the capture), until they arrive, a later sweep or the end of input.
	resetAt time.Time
}

const histSize = 512 // per direction; bounds memory at 2 KiB per connection

// maxAckLead is the furthest an acknowledgement may run ahead of the bytes
// seen and still count as evidence of lost capture.
const maxAckLead = 16 << 20

func after(a, b uint32) bool { return int32(a-b) > 0 }

// Add feeds one decoded segment, captured at t as packet number pkt.
func (a *Assembler) Add(seg *packet.Segment, pkt int64, t time.Time) {
	a.now = t
	a.packets++
	if a.packets&1023 == 0 && t.Sub(a.lastSweep) >= time.Second {
		a.sweep(t)
	}
	key, srcIsA := keyOf(seg.Src, seg.Dst)
	c := a.conns[key]
	syn := seg.Flags&packet.FlagSYN != 0
	hasData := len(seg.Payload) > 0 || seg.Missing > 0
	if c != nil && c.closed {
		// A fresh SYN reuses the 4-tuple; anything else is the old
		// connection's tail (final ACKs, late retransmissions).
		if syn && seg.Flags&packet.FlagACK == 0 {
			delete(a.conns, key)
			c = nil
		} else {
			a.c.IgnoredAfterClose++
			return
		}
	}
	if c != nil && syn && seg.Flags&packet.FlagACK == 0 {
		h := &c.half[c.dirOf(srcIsA)]
		if h.synSeen && h.isn != seg.Seq || !c.resetAt.IsZero() {
			a.close(c, t) // port reuse without a visible close, or after a RST
			delete(a.conns, key)
			c = nil
		}
	}
	if c == nil {
		if !syn && !hasData {
			a.c.IgnoredNoConnection++
			return
		}
		c = a.newConn(key, srcIsA, seg, t)
		if by, ok := a.limited[key]; ok {
			delete(a.limited, key)
			if !syn {
				c.info.ResumedAfter = by
			}
		}
	}
	if c.tentative && len(seg.Payload) > 0 && c.info.Packets > 0 {
		a.settle(c, srcIsA, seg.Payload)
	}
	dir := c.dirOf(srcIsA)
	c.curPkt = pkt
	c.info.LastSeen = t
	c.info.Packets++
	c.info.Bytes += int64(len(seg.Payload))
	h, peer := &c.half[dir], &c.half[1-dir]

	dataSeq := seg.Seq
	if syn {
		c.info.SawSYN = true
		if !h.synSeen {
			h.synSeen, h.isn = true, seg.Seq
		}
		dataSeq++
		if !h.started {
			h.started, h.next, h.dnext = true, dataSeq, dataSeq
		}
	}
	// The peer's ACK proves bytes we did not see were sent, but only from
	// a side whose own stream we track, never from a RST, and within a
	// plausible window: challenge ACKs and stale-connection noise carry
	// arbitrary numbers.
	if seg.Flags&(packet.FlagACK|packet.FlagRST) == packet.FlagACK && peer.started && h.started {
		ack := seg.Ack
		if peer.fin && ack == peer.finSeq+1 { // acknowledging the FIN, not data
			ack = peer.finSeq
		}
		if !peer.ackBeyond || after(ack, peer.maxAck) {
			if after(ack, peer.next) && ack-peer.next <= maxAckLead {
				peer.ackBeyond, peer.maxAck = true, ack
				if !peer.holeOpen {
					peer.holeOpen, peer.holeSince, peer.holePkts = true, t, c.info.Packets
				}
			}
		}
	}
	if hasData {
		if !h.started {
			h.started, h.next, h.dnext = true, dataSeq, dataSeq
		}
		a.data(c, dir, dataSeq, seg.Payload, seg.Missing, t, pkt, seg.Ack, seg.Flags&packet.FlagACK != 0)
	}
	if seg.Flags&packet.FlagFIN != 0 && h.started && !h.fin {
		h.fin, h.finSeq = true, dataSeq+uint32(len(seg.Payload)+seg.Missing)
	}
	if seg.Flags&packet.FlagRST != 0 && c.resetAt.IsZero() {
		c.resetAt = t
		// A RST's sequence number is where its sender's stream ended: a
		// RST beyond the bytes seen means some are still to come (or
		// lost). It then ends the stream the way a FIN does.
		end := seg.Seq
		if h.fin && end == h.finSeq+1 {
			end = h.finSeq
		}
		if h.started && !h.fin && after(end, h.next) && end-h.next <= maxAckLead {
			h.fin, h.finSeq = true, end
		}
	}
	a.checkHoles(c, t)
	if h.fin && h.next == h.finSeq && len(h.ooo) == 0 {
		h.done = true
	}
	if c.half[0].done && c.half[1].done || !c.resetAt.IsZero() && !c.missingBeforeReset() {
		a.close(c, t)
	}
}

// missingBeforeReset reports bytes known to be missing in either direction
// of a reset connection: buffered beyond a hole, acknowledged by the peer,
// or before the end its FIN or RST marked.
func (c *conn) missingBeforeReset() bool {
	for d := range c.half {
		h := &c.half[d]
		if len(h.ooo) > 0 || h.ackBeyond || h.fin && after(h.finSeq, h.next) {
			return true
		}
	}
	return false
}

func (c *conn) dirOf(srcIsA bool) Dir {
	if srcIsA == c.aIsCli {
		return ClientToServer
	}
	return ServerToClient
}

func (a *Assembler) newConn(key connKey, srcIsA bool, seg *packet.Segment, t time.Time) *conn {
	if int(a.open) >= a.opt.MaxConnections {
		a.evict()
	}
	c := &conn{key: key}
	senderIsClient := true
	switch {
	case seg.Flags&packet.FlagSYN != 0:
		// SYN comes from the client, SYN+ACK from the server.
		senderIsClient = seg.Flags&packet.FlagACK == 0
		c.info.DirectionBy = DirectionBySYN
	default:
		isCli, isSrv := false, false
		if a.opt.Classify != nil {
			isCli, isSrv = a.opt.Classify(seg.Payload)
		}
		switch {
		case isCli:
			c.info.DirectionBy = DirectionByData
		case isSrv:
			senderIsClient = false
			c.info.DirectionBy = DirectionByData
		default:
			// Guess from the ports for now; the first later payload that
			// reads like a request or a status line settles it.
			senderIsClient = likelyServerPort(seg.Src.Port(), seg.Dst.Port())
			c.tentative = true
		}
	}
	c.aIsCli = senderIsClient == srcIsA
	if senderIsClient {
		c.info.Client, c.info.Server = seg.Src, seg.Dst
	} else {
		c.info.Client, c.info.Server = seg.Dst, seg.Src
	}
	a.nextNo++
	c.info.No = a.nextNo
	c.info.FirstSeen = t
	if seg.Flags&packet.FlagSYN == 0 {
		c.info.warn("connection start not captured (no SYN)")
	}
	a.conns[key] = c
	a.open++
	a.c.Connections++
	if a.open > a.c.ConnectionsAtOnceMax {
		a.c.ConnectionsAtOnceMax = a.open
	}
	if !c.tentative {
		c.stream = a.factory(&c.info)
	}
	return c
}

// maxTentative bounds what a connection of undecided direction holds.
const (
	maxTentativeBytes   = 64 << 10
	maxTentativePackets = 32
)

// heldItem is stream output kept while the direction is undecided.
type heldItem struct {
	dir    Dir
	data   []byte
	time   time.Time
	packet int64
	seq    uint32
	ack    uint32
	gap    int
	by     Limit
}

// settle looks at a payload of a connection whose direction was guessed
// from ports; when it reads like a request or a response, the direction
// follows it (swapping the guess if needed) and held output is handed over.
func (a *Assembler) settle(c *conn, srcIsA bool, payload []byte) {
	isCli, isSrv := false, false
	if a.opt.Classify != nil {
		isCli, isSrv = a.opt.Classify(payload)
	}
	if !isCli && !isSrv {
		c.tentPkts++
		if c.tentPkts > maxTentativePackets || c.heldBytes > maxTentativeBytes {
			a.decide(c, false)
		}
		return
	}
	if isCli != (srcIsA == c.aIsCli) {
		c.aIsCli = !c.aIsCli
		c.info.Client, c.info.Server = c.info.Server, c.info.Client
		c.half[0], c.half[1] = c.half[1], c.half[0]
		for i := range c.held {
			c.held[i].dir = 1 - c.held[i].dir
		}
	}
	a.decide(c, true)
}

// decide ends the tentative state: byData says the bytes decided, else the
// port guess stands. The Stream is created and receives what was held.
func (a *Assembler) decide(c *conn, byData bool) {
	c.tentative = false
	if byData {
		c.info.DirectionBy = DirectionByData
	} else {
		c.info.DirectionBy = DirectionByPort
		a.c.DirectionByPort++
		c.info.warn("connection direction guessed from port numbers (no SYN, no recognisable first bytes)")
	}
	c.stream = a.factory(&c.info)
	held := c.held
	c.held, a.buffered = nil, a.buffered-c.heldBytes
	c.heldBytes = 0
	for _, it := range held {
		if it.data == nil {
			a.streamGap(c, it.dir, it.gap, it.time, it.by)
			continue
		}
		c.chunk = Chunk{Data: it.data, Time: it.time, Packet: it.packet, Seq: it.seq, Ack: it.ack}
		c.stream.Data(it.dir, &c.chunk)
	}
	c.chunk.Data = nil
}

func (a *Assembler) streamData(c *conn, dir Dir) {
	if c.tentative {
		ch := c.chunk
		c.held = append(c.held, heldItem{dir: dir, data: append([]byte(nil), ch.Data...), time: ch.Time, packet: ch.Packet, seq: ch.Seq, ack: ch.Ack})
		c.heldBytes += len(ch.Data)
		a.buffered += len(ch.Data)
		if c.heldBytes > maxTentativeBytes || a.buffered > a.opt.MaxBufferedTotal {
			a.decide(c, false)
		}
		return
	}
	c.stream.Data(dir, &c.chunk)
}

func (a *Assembler) streamGap(c *conn, dir Dir, lost int, t time.Time, by Limit) {
	if c.tentative {
		c.held = append(c.held, heldItem{dir: dir, gap: lost, time: t, by: by})
		return
	}
	if by != NoLimit {
		if ls, ok := c.stream.(LimitGapStream); ok {
			ls.LimitGap(dir, lost, t, by)
			return
		}
	}
	c.stream.Gap(dir, lost, t)
}

var wellKnownHTTPPorts = map[uint16]bool{80: true, 443: true, 8080: true, 8000: true, 8008: true, 8443: true, 8888: true, 3128: true, 3000: true, 5000: true, 9000: true, 9090: true}

// likelyServerPort reports whether dst looks more like the server than src.
func likelyServerPort(src, dst uint16) bool {
	if wellKnownHTTPPorts[dst] != wellKnownHTTPPorts[src] {
		return wellKnownHTTPPorts[dst]
	}
	if (dst < 1024) != (src < 1024) {
		return dst < 1024
	}
	return dst <= src
}

// data handles payload of one direction starting at seq.
func (a *Assembler) data(c *conn, dir Dir, seq uint32, p []byte, missing int, t time.Time, pkt int64, ack uint32, ackOK bool) {
	h := &c.half[dir]
	if rel := int32(seq - h.next); rel < 0 {
		old := -int(rel) // in int: -rel overflows int32 for a segment 2 GiB behind
		if old >= len(p)+missing {
			// A one-byte segment just below the next sequence number is a
			// keep-alive probe (Windows sends a garbage byte): no anomaly.
			if len(p) == 1 && old == 1 {
				a.c.KeepAlives++
				return
			}
			a.compareOld(c, h, seq, p)
			return
		}
		if old > len(p) {
			missing -= old - len(p)
			old = len(p)
		}
		a.compareOld(c, h, seq, p[:old])
		p, seq = p[old:], h.next
	}
	if seq != h.next {
		a.buffer(c, h, seq, p, missing, t, pkt, ack, ackOK)
		return
	}
	a.deliver(c, dir, h, p, t, pkt, seq, ack, ackOK)
	if missing > 0 {
		a.gap(c, dir, h, missing, t, NoLimit)
	}
	a.drain(c, dir, h)
}

// compareOld checks bytes at seq that were already delivered against the
// recent history: identical is a retransmission, different is an anomaly.
func (a *Assembler) compareOld(c *conn, h *half, seq uint32, p []byte) {
	if len(p) == 0 {
		return
	}
	histStart := h.next - uint32(len(h.hist))
	// Part of p inside the history window [histStart, next).
	off := int(int32(seq - histStart)) // in int: negating an int32 may overflow
	q := p
	if off < 0 {
		if -off >= len(q) {
			a.c.Retransmissions++
			return
		}
		q, off = q[-off:], 0
	}
	if int(off) < len(h.hist) {
		hv := h.hist[off:]
		if len(q) > len(hv) {
			q = q[:len(hv)]
		}
		if string(hv[:len(q)]) != string(q) {
			a.c.ConflictingRetrans++
			c.info.conflict(c.curPkt)
			// The first copy most likely came in the last packet delivered
			// in this direction: its exchange is the one affected.
			if h.lastPkt != 0 && h.lastPkt != c.curPkt {
				c.info.conflict(h.lastPkt)
			}
			return
		}
	}
	a.c.Retransmissions++
}

func (a *Assembler) deliver(c *conn, dir Dir, h *half, p []byte, t time.Time, pkt int64, seq, ack uint32, ackOK bool) {
	if len(p) == 0 {
		return
	}
	h.next = seq + uint32(len(p))
	// Keep the tail for retransmission comparison.
	if h.hist == nil {
		h.hist = make([]byte, 0, 2*histSize)
	}
	if len(p) >= histSize {
		h.hist = append(h.hist[:0], p[len(p)-histSize:]...)
	} else {
		if len(h.hist)+len(p) > cap(h.hist) {
			keep := histSize - len(p)
			copy(h.hist, h.hist[len(h.hist)-keep:])
			h.hist = h.hist[:keep]
		}
		h.hist = append(h.hist, p...)
	}
	if h.ackBeyond && !after(h.maxAck, h.next) {
		h.ackBeyond = false
	}
	if len(h.ooo) == 0 && !h.ackBeyond {
		h.holeOpen = false
	}
	if len(h.wait) > 0 || a.mustWait(c, dir, ack, ackOK) {
		a.hold(c, h, waitItem{data: append([]byte(nil), p...), time: t, packet: pkt, seq: seq, ack: ack, ackOK: ackOK})
		return
	}
	a.emitData(c, dir, h, p, t, pkt, seq, ack)
	a.release(c, false)
}

// mustWait reports whether data of dir acknowledging ack must wait for the
// other direction: a response is handed over only after the request bytes
// it acknowledges, whatever order the capture recorded them in.
func (a *Assembler) mustWait(c *conn, dir Dir, ack uint32, ackOK bool) bool {
	peer := &c.half[1-dir]
	if !ackOK || !peer.started {
		return false
	}
	if peer.fin && ack == peer.finSeq+1 {
		ack = peer.finSeq
	}
	return after(ack, peer.dnext) && ack-peer.dnext <= maxAckLead
}

func (a *Assembler) hold(c *conn, h *half, w waitItem) {
	if len(h.wait) == 0 {
		h.waitSince, h.waitPkts = w.time, c.info.Packets
	}
	h.wait = append(h.wait, w)
	h.waitBytes += len(w.data)
	a.buffered += len(w.data)
	if h.waitBytes+h.oooBytes > a.opt.MaxBufferedPerConn || a.buffered > a.opt.MaxBufferedTotal {
		a.c.ForcedByBufferCap++
		c.info.warn("reassembly buffer limit reached: directions handed over out of order")
		by := LimitBufferPerConn
		if h.waitBytes+h.oooBytes <= a.opt.MaxBufferedPerConn {
			by = LimitBufferTotal
		}
		for d := Dir(0); d < 2; d++ {
			for _, x := range c.half[d].wait {
				if x.data != nil && len(c.info.EarlyReleases) < maxConflictPackets && a.mustWait(c, d, x.ack, x.ackOK) {
					c.info.EarlyReleases = append(c.info.EarlyReleases, LimitHit{x.packet, by})
				}
			}
		}
		a.release(c, true)
	}
}

func (a *Assembler) emitData(c *conn, dir Dir, h *half, p []byte, t time.Time, pkt int64, seq, ack uint32) {
	h.dnext = seq + uint32(len(p))
	h.lastPkt = pkt
	c.chunk = Chunk{Data: p, Time: t, Packet: pkt, Seq: seq, Ack: ack}
	a.streamData(c, dir)
	c.chunk.Data = nil
}

// release hands over held data whose acknowledged bytes were delivered;
// force hands over everything (timeouts, caps, close).
func (a *Assembler) release(c *conn, force bool) {
	for progress := true; progress; {
		progress = false
		for d := Dir(0); d < 2; d++ {
			h := &c.half[d]
			for len(h.wait) > 0 {
				w := h.wait[0]
				if w.data != nil && !force && a.mustWait(c, d, w.ack, w.ackOK) {
					break
				}
				h.wait[0] = waitItem{}
				h.wait = h.wait[1:]
				h.waitBytes -= len(w.data)
				a.buffered -= len(w.data)
				if w.data == nil {
					h.dnext += uint32(w.gap)
					a.streamGap(c, d, w.gap, w.time, w.by)
				} else {
					a.emitData(c, d, h, w.data, w.time, w.packet, w.seq, w.ack)
				}
				progress = true
			}
			if len(h.wait) == 0 {
				h.wait = nil
			} else {
				h.waitSince, h.waitPkts = h.wait[0].time, c.info.Packets
			}
		}
	}
}

// gap declares lost bytes; by names the cap that forced it, if any.
func (a *Assembler) gap(c *conn, dir Dir, h *half, lost int, t time.Time, by Limit) {
	if lost <= 0 {
		return
	}
	if by != NoLimit {
		a.c.BufferCapBytes += int64(lost)
	}
	h.next += uint32(lost)
	h.hist = h.hist[:0]
	a.c.Gaps++
	a.c.GapBytes += int64(lost)
	if h.ackBeyond && !after(h.maxAck, h.next) {
		h.ackBeyond = false
	}
	h.holeOpen = len(h.ooo) > 0 || h.ackBeyond
	if h.holeOpen {
		h.holeSince, h.holePkts = t, c.info.Packets
	}
	if len(h.wait) > 0 {
		a.hold(c, h, waitItem{gap: lost, time: t, by: by})
		return
	}
	h.dnext += uint32(lost)
	a.streamGap(c, dir, lost, t, by)
	a.release(c, false)
}

// drain delivers buffered segments that became contiguous.
func (a *Assembler) drain(c *conn, dir Dir, h *half) {
	for len(h.ooo) > 0 {
		s := h.ooo[0]
		rel := int32(s.seq - h.next)
		if rel > 0 {
			if h.holeOpen {
				return
			}
			h.holeOpen, h.holeSince, h.holePkts = true, a.now, c.info.Packets
			return
		}
		h.ooo = h.ooo[1:]
		h.oooBytes -= len(s.data)
		a.buffered -= len(s.data)
		skip := -int(rel) // in int: -rel overflows int32
		if skip < len(s.data) {
			a.deliver(c, dir, h, s.data[skip:], s.time, s.packet, h.next, s.ack, s.ackOK)
			if s.missing > 0 {
				a.gap(c, dir, h, s.missing, s.time, NoLimit)
			}
		} else if skip < len(s.data)+s.missing {
			a.gap(c, dir, h, len(s.data)+s.missing-skip, s.time, NoLimit)
		}
	}
	if len(h.ooo) == 0 {
		h.ooo = nil
		if !h.ackBeyond {
			h.holeOpen = false
		}
	}
}

// buffer stores an out-of-order segment, keeping the first copy of every
// byte already buffered.
func (a *Assembler) buffer(c *conn, h *half, seq uint32, p []byte, missing int, t time.Time, pkt int64, ack uint32, ackOK bool) {
	a.c.OutOfOrder++
	if !h.holeOpen {
		h.holeOpen, h.holeSince, h.holePkts = true, t, c.info.Packets
	}
	end := seq + uint32(len(p))
	cur := seq
	var pieces [4]oooSeg
	parts := pieces[:0]
	for _, x := range h.ooo {
		xe := x.seq + uint32(len(x.data))
		if !after(xe, cur) || !after(end, x.seq) {
			continue
		}
		if after(x.seq, cur) {
			parts = append(parts, oooSeg{seq: cur, data: p[cur-seq : x.seq-seq]})
		}
		// Overlap [max(cur,x.seq), min(end,xe)) compared with the buffered copy.
		os, oe := cur, end
		if after(x.seq, os) {
			os = x.seq
		}
		if after(oe, xe) {
			oe = xe
		}
		if string(p[os-seq:oe-seq]) != string(x.data[os-x.seq:oe-x.seq]) {
			a.c.ConflictingRetrans++
			c.info.conflict(c.curPkt)
		} else {
			a.c.Retransmissions++
		}
		cur = xe
		if !after(end, cur) {
			break
		}
	}
	if after(end, cur) || (cur == seq && len(p) == 0 && missing > 0) {
		parts = append(parts, oooSeg{seq: cur, data: p[cur-seq:]})
	}
	for i, part := range parts {
		s := oooSeg{seq: part.seq, data: append([]byte(nil), part.data...), time: t, packet: pkt, ack: ack, ackOK: ackOK}
		if i == len(parts)-1 && part.seq+uint32(len(part.data)) == end {
			s.missing = missing
		}
		h.ooo = append(h.ooo, s)
		h.oooBytes += len(s.data)
		a.buffered += len(s.data)
	}
	if len(parts) > 0 {
		next := h.next
		sort.SliceStable(h.ooo, func(i, j int) bool { return int32(h.ooo[i].seq-next) < int32(h.ooo[j].seq-next) })
	}
	if h.oooBytes > a.opt.MaxBufferedPerConn || a.buffered > a.opt.MaxBufferedTotal {
		a.c.ForcedByBufferCap++
		c.info.warn("reassembly buffer limit reached: a hole was skipped")
		by := LimitBufferPerConn
		if h.oooBytes <= a.opt.MaxBufferedPerConn {
			by = LimitBufferTotal
		}
		a.resolve(c, c.dirOfHalf(h), t, by)
		if a.buffered > a.opt.MaxBufferedTotal {
			a.shedGlobal(t)
		}
	}
}

func (c *conn) dirOfHalf(h *half) Dir {
	if h == &c.half[0] {
		return 0
	}
	return 1
}

// resolve declares the first hole of one direction lost and delivers the
// buffered data that follows it. Each call makes progress: it either skips
// to the first buffered segment or consumes the peer's acknowledgement.
func (a *Assembler) resolve(c *conn, dir Dir, t time.Time, by Limit) {
	h := &c.half[dir]
	var target uint32
	switch {
	case len(h.ooo) > 0:
		target = h.ooo[0].seq
	case h.ackBeyond:
		target = h.maxAck
		if h.fin && target == h.finSeq+1 { // the FIN's sequence number is no data
			target = h.finSeq
		}
		h.ackBeyond = false
	default:
		h.holeOpen = false
		return
	}
	if lost := int(int32(target - h.next)); lost > 0 {
		a.gap(c, dir, h, lost, t, by)
	}
	h.holeOpen = false
	a.drain(c, dir, h)
}

func (a *Assembler) checkHoles(c *conn, t time.Time) {
	for d := Dir(0); d < 2; d++ {
		h := &c.half[d]
		if len(h.wait) > 0 && (c.info.Packets-h.waitPkts >= 16*int64(a.opt.ReorderPackets) || t.Sub(h.waitSince) >= 10*a.opt.ReorderWindow) {
			a.release(c, true)
		}
		if !h.holeOpen {
			continue
		}
		pk := c.info.Packets - h.holePkts
		dt := t.Sub(h.holeSince)
		evidence := h.ackBeyond
		// Time alone is weak evidence: captures merged from several
		// interfaces are not in time order, and a quiet keep-alive
		// connection's next packet comes late anyway. Ask for a few packets too.
		minPk := int64(max(a.opt.ReorderPackets/4, 1))
		if (evidence && (pk >= int64(a.opt.ReorderPackets) || (dt >= a.opt.ReorderWindow && pk >= minPk))) ||
			pk >= 16*int64(a.opt.ReorderPackets) || (dt >= 10*a.opt.ReorderWindow && pk >= minPk) {
			a.resolve(c, d, t, NoLimit)
		}
	}
}

// shedGlobal resolves the holes of the connections holding the most
// buffered bytes until the global cap is respected again.
func (a *Assembler) shedGlobal(t time.Time) {
	for a.buffered > a.opt.MaxBufferedTotal {
		var worst *conn
		var wd Dir
		most := 0
		for _, c := range a.conns {
			for d := Dir(0); d < 2; d++ {
				if n := c.half[d].oooBytes; n > most {
					worst, wd, most = c, d, n
				}
			}
		}
		if worst == nil {
			return
		}
		a.c.ForcedByBufferCap++
		worst.info.warn("reassembly buffer limit reached: a hole was skipped")
		for len(worst.half[wd].ooo) > 0 {
			a.resolve(worst, wd, t, LimitBufferTotal)
		}
	}
}

// close flushes a connection: every remaining hole becomes a gap, buffered
// data is delivered, and the stream is closed. The entry stays as a
// tombstone so the connection's late packets are not taken for a new one.
func (a *Assembler) close(c *conn, t time.Time) {
	if c.closed {
		return
	}
	if c.tentative {
		a.decide(c, false)
	}
	for d := Dir(0); d < 2; d++ {
		h := &c.half[d]
		for len(h.ooo) > 0 || h.ackBeyond {
			a.resolve(c, d, t, NoLimit)
		}
		if h.fin && after(h.finSeq, h.next) {
			a.gap(c, d, h, int(int32(h.finSeq-h.next)), t, NoLimit)
		}
	}
	a.release(c, false)
	a.release(c, true)
	c.closed, c.closedAt = true, t
	c.half[0].hist, c.half[1].hist = nil, nil
	a.open--
	c.stream.Close(t)
	c.stream = nil
}

const tombstoneTTL = 30 * time.Second

// Sweep closes connections idle for longer than the idle timeout and
// resolves stale holes, at capture time t. Add sweeps by itself now and
// then; live capture calls Sweep when no packets arrive.
func (a *Assembler) Sweep(t time.Time) {
	if t.After(a.now) {
		a.now = t
	}
	a.sweep(a.now)
}

// sweep closes idle connections, resolves stale holes and forgets old tombstones.
func (a *Assembler) sweep(t time.Time) {
	a.lastSweep = t
	for _, c := range a.conns {
		switch {
		case c.closed:
			if t.Sub(c.closedAt) > tombstoneTTL {
				a.forget(c)
			}
		case !c.resetAt.IsZero() && t.Sub(c.resetAt) >= a.opt.ReorderWindow:
			// What was missing before the RST did not come: close with
			// the holes reported as gaps.
			a.close(c, t)
		case t.Sub(c.info.LastSeen) > a.opt.IdleTimeout:
			a.c.IdleClosed++
			c.info.warn("closed after idle timeout (no FIN/RST captured)")
			c.info.ClosedBy = LimitIdle
			a.close(c, t)
		default:
			a.checkHoles(c, t)
		}
	}
}

// evict makes room below MaxConnections: tombstones go first, then the
// least recently seen sixteenth of the open connections.
func (a *Assembler) evict() {
	for _, c := range a.conns {
		if c.closed {
			a.forget(c)
		}
	}
	if int(a.open) < a.opt.MaxConnections {
		return
	}
	open := make([]*conn, 0, len(a.conns))
	for _, c := range a.conns {
		open = append(open, c)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].info.LastSeen.Before(open[j].info.LastSeen) })
	n := len(open)/16 + 1
	for _, c := range open[:n] {
		a.c.Evicted++
		c.info.warn("closed early: too many concurrent connections")
		c.info.ClosedBy = LimitConnections
		a.close(c, a.now)
		a.forget(c)
	}
}

// maxLimited bounds the 4-tuples remembered for ResumedAfter.
const maxLimited = 4096

// forget drops a closed connection's entry, remembering its 4-tuple when a
// limit closed it.
func (a *Assembler) forget(c *conn) {
	delete(a.conns, c.key)
	if c.info.ClosedBy == NoLimit {
		return
	}
	if a.limited == nil || len(a.limited) >= maxLimited {
		a.limited = make(map[connKey]Limit)
	}
	a.limited[c.key] = c.info.ClosedBy
}

// FlushAll closes every open connection at capture time t (use the last
// packet's time at the end of a capture, never the wall clock).
func (a *Assembler) FlushAll(t time.Time) {
	open := make([]*conn, 0, a.open)
	for _, c := range a.conns {
		if !c.closed {
			open = append(open, c)
		}
	}
	// Close in order of appearance so output is deterministic.
	sort.Slice(open, func(i, j int) bool { return open[i].info.No < open[j].info.No })
	for _, c := range open {
		a.close(c, t)
	}
	clear(a.conns)
}
