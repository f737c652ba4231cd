package h2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Preface is the client connection preface that opens every HTTP/2 connection.
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// LooksLikePreface reports whether b starts with the client connection
// preface (or, when shorter, with its first len(b) >= 8 bytes).
func LooksLikePreface(b []byte) bool {
	n := min(len(b), len(Preface))
	return n >= 8 && string(b[:n]) == Preface[:n]
}

const (
	frameHeaderLen    = 9
	defaultTableSize  = 4096
	defaultFrameSize  = 16384
	maxFrameSizeLimit = 1<<24 - 1
	maxConnWarnings   = 16
	// resyncWindow bounds the bytes held while looking for a frame boundary.
	resyncWindow = 256 << 10
)

// Stats count what one connection held.
type Stats struct {
	Frames              int64
	Streams             int64 // exchanges emitted
	MaxOpenStreams      int   // most streams open at once
	UntrackedStreams    int64 // streams over MaxStreams, not rebuilt
	HeaderBlocksFailed  int64
	HeaderBlocksOverCap int64 // failed because of the HPACK string or table cap
	BytesSkipped        int64 // frame bytes not parsed (resync, oversized frames)
}

// Parser rebuilds the exchanges of one HTTP/2 connection. It is not safe for
// concurrent use; one goroutine feeds both directions in capture order.
//
// What it records when the wire is imperfect:
//   - HPACK state is per direction and cannot be rebuilt from the middle of
//     a connection: without the preface, or after lost header bytes, a header
//     block is decoded against a fresh table and kept only as far as every
//     field resolved to an entry seen in the capture; the rest of the block
//     is dropped and the exchange says "HPACK context unknown (...)".
//   - Lost bytes inside a DATA frame cost only that frame's bytes (framing
//     continues at the known frame end); otherwise the stream is scanned for
//     the next plausible frame header.
//   - Trailers and interim 1xx responses become warnings, as in http1.
type Parser struct {
	opts Options
	meta http1.ConnMeta
	emit func(*storage.Exchange)

	half    [2]half
	streams map[uint32]*stream
	seq     int64 // creation order of streams

	maxClientID   uint32
	seen          [seenWindow / 64]uint64 // client stream ids seen, below maxClientID
	firstClientID uint32                  // first client stream seen; earlier ones predate a mid-connection capture
	bodyBytes     int64                   // body bytes stored by open streams
	midConn       bool
	closed        bool

	serverHost string
	serverPort int
	scheme     string

	warnings []string
	stats    Stats
}

// NewParser returns a parser that calls emit once per stream. emit owns the
// exchange it receives.
func NewParser(opts Options, meta http1.ConnMeta, emit func(*storage.Exchange)) *Parser {
	p := &Parser{opts: opts.withDefaults(), meta: meta, emit: emit, scheme: "http", streams: map[uint32]*stream{}}
	if meta.TLS {
		p.scheme = "https"
	}
	if h, port, err := net.SplitHostPort(meta.Server); err == nil {
		p.serverHost = strings.ToLower(h)
		p.serverPort, _ = strconv.Atoi(port)
	}
	for i := range p.half {
		h := &p.half[i]
		h.p, h.dir = p, http1.Dir(i)
		h.synced = true
		h.maxFrame = defaultFrameSize
		h.tableLimit = defaultTableSize
		h.fr = http2.NewFramer(nil, &h.rd)
		h.fr.AllowIllegalReads = true
		h.fr.SetReuseFrames()
		h.fr.SetMaxReadFrameSize(maxFrameSizeLimit)
		h.resetDecoder()
	}
	p.half[http1.ClientToServer].preface = 0
	p.half[http1.ServerToClient].preface = -1
	return p
}

// Upgrade seeds stream 1 with the HTTP/1.1 request that carried
// "Upgrade: h2c" and was answered 101 (its exchange, as http1 emitted it).
// The server's answer on stream 1 completes it; without one the exchange is
// emitted as it was. The client preface is still expected. The parser takes
// ownership of req.
func (p *Parser) Upgrade(req *storage.Exchange) {
	st := p.newStream(1, req.Started, req.FirstPacket)
	if st.untracked { // no room: keep the exchange http1 saw
		p.stats.UntrackedStreams--
		p.emit(req)
		return
	}
	st.upgradeSeed = req
	st.ex.Method, st.ex.Scheme, st.ex.Host, st.ex.Port = req.Method, req.Scheme, req.Host, req.Port
	st.ex.Path, st.ex.Query = req.Path, req.Query
	st.ex.RequestHeaders = req.RequestHeaders
	st.ex.RequestBody, st.ex.RequestBodySize = req.RequestBody, req.RequestBodySize
	st.ex.Upgrade = "h2c"
	for _, w := range req.Warnings {
		st.ex.AddWarning(w)
	}
	st.ex.AddWarning(WarnUpgradedH2C)
	st.reqHead, st.reqEnd = true, true
	if p.maxClientID < 1 {
		p.advanceClient(1)
	}
	p.markSeen(1)
	// HTTP2-Settings carries the client's SETTINGS payload (base64url).
	if v, ok := req.RequestHeaders.Get("HTTP2-Settings"); ok {
		if b, err := decodeBase64URL(v); err == nil && len(b)%6 == 0 {
			for i := 0; i+6 <= len(b); i += 6 {
				p.applySetting(http1.ClientToServer, http2.Setting{ID: http2.SettingID(binary.BigEndian.Uint16(b[i:])), Val: binary.BigEndian.Uint32(b[i+2:])})
			}
		}
	}
}

// Warnings returns connection-level warnings (GOAWAY, oversized frames,
// mid-connection start), at most a few of each kind.
func (p *Parser) Warnings() []string { return p.warnings }

// Stats returns the connection's counters.
func (p *Parser) Stats() Stats { return p.stats }

func (p *Parser) connWarn(w string) {
	for _, x := range p.warnings {
		if x == w {
			return
		}
	}
	if len(p.warnings) < maxConnWarnings {
		p.warnings = append(p.warnings, w)
	}
}

// Feed hands the parser the next in-order bytes of one direction. seg.Data
// is only read during the call.
func (p *Parser) Feed(dir http1.Dir, seg http1.Segment) {
	if p.closed || len(seg.Data) == 0 {
		return
	}
	p.half[dir&1].feed(seg)
}

// Gap says lost bytes are missing before the next Feed in dir; lost < 0
// means the amount is unknown.
func (p *Parser) Gap(dir http1.Dir, lost int, t time.Time) { p.LimitGap(dir, lost, t, "") }

// LimitGap is Gap for bytes the caller skipped because a resource limit
// forced it (they may be in the capture): why is added to every exchange
// the gap damages, including those whose header block it left undecodable.
func (p *Parser) LimitGap(dir http1.Dir, lost int, t time.Time, why string) {
	if p.closed || lost == 0 {
		return
	}
	h := &p.half[dir&1]
	h.cause = why
	h.gap(lost, t)
	h.cause = ""
}

// Close flushes everything: the connection or the capture ended at t.
// Streams without a response are emitted with status 0.
func (p *Parser) Close(t time.Time) {
	if p.closed {
		return
	}
	p.closed = true
	for i := range p.half {
		h := &p.half[i]
		if h.blk != nil {
			h.abortBlock(WarnHeaderBlockCut, false)
		}
	}
	open := make([]*stream, 0, len(p.streams))
	for _, st := range p.streams {
		open = append(open, st)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].seq < open[j].seq })
	for _, st := range open {
		p.finish(st, t)
	}
}

// pos is where a byte was in the capture.
type pos struct {
	time   time.Time
	packet int64
}

// mark records the capture position of the byte at stream offset off.
type mark struct {
	off int64
	pos
}

// half is one direction: its byte buffer, framing and HPACK state.
type half struct {
	p   *Parser
	dir http1.Dir

	buf   []byte // unconsumed bytes (a partial frame), copied from segments
	base  int64  // stream offset of the first unconsumed byte
	marks []mark

	preface int // client bytes of the preface matched so far; -1 once decided
	synced  bool

	skip    int64 // payload bytes of a frame being discarded
	skipHdr http2.FrameHeader
	skipAt  pos
	// skipDamaged: bytes of the frame being discarded were lost;
	// skipCause: why, when a limit skipped them.
	skipDamaged bool
	skipCause   string

	// cause explains the gap being handled (LimitGap); unknownCause the
	// gap that made the HPACK context unknown.
	cause, unknownCause string
	// lostCause is the cause of the latest gap that lost framing (header
	// blocks may have gone with it); "" for a capture loss.
	lostCause string

	rd bytes.Reader
	fr *http2.Framer

	dec        *hpack.Decoder
	tableLimit uint32 // largest dynamic table the peer allowed this encoder
	unknown    string // why the HPACK context is not known; "" when it is
	blk        *block
	blkMem     block

	tableClamped bool   // the peer allowed a table over MaxTableSize
	maxFrame     uint32 // SETTINGS_MAX_FRAME_SIZE the receiver announced
	oversize     bool
	lostWarnOpen bool
}

func (h *half) other() *half { return &h.p.half[1-h.dir&1] }

func (h *half) resetDecoder() {
	h.dec = hpack.NewDecoder(defaultTableSize, h.onField)
	h.dec.SetMaxStringLength(h.p.opts.MaxHeaderBytes)
	h.dec.SetAllowedMaxDynamicTableSize(h.tableLimit)
}

// poison marks the HPACK context unknown: later blocks are decoded against
// a fresh table, so a reference to an entry from before is an error, never
// a wrong field.
func (h *half) poison(why string) {
	if h.unknown == "" {
		h.unknown = why
		h.unknownCause = h.cause
	}
	h.resetDecoder()
}

func (h *half) posAt(off int64) pos {
	i := sort.Search(len(h.marks), func(i int) bool { return h.marks[i].off > off }) - 1
	if i < 0 {
		i = 0
	}
	if len(h.marks) == 0 {
		return pos{}
	}
	return h.marks[i].pos
}

func (h *half) feed(seg http1.Segment) {
	total := h.base + int64(len(h.buf))
	if n := len(h.marks); n > 0 && h.marks[n-1].off == total {
		h.marks[n-1].pos = pos{seg.Time, seg.Packet}
	} else {
		h.marks = append(h.marks, mark{off: total, pos: pos{seg.Time, seg.Packet}})
	}
	data := seg.Data
	buffered := len(h.buf) > 0
	if buffered {
		h.buf = append(h.buf, data...)
		data = h.buf
	}
	n := h.consume(data)
	h.base += int64(n)
	rest := data[n:]
	switch {
	case buffered:
		h.buf = h.buf[:copy(h.buf, rest)]
	default:
		h.buf = append(h.buf[:0], rest...)
	}
	if len(h.buf) == 0 && cap(h.buf) > 64<<10 {
		h.buf = nil // a big frame passed: do not keep its buffer per connection
	}
	// Drop marks before the one covering the first unconsumed byte.
	i := sort.Search(len(h.marks), func(i int) bool { return h.marks[i].off > h.base }) - 1
	if i > 0 {
		h.marks = h.marks[:copy(h.marks, h.marks[i:])]
	}
}

// consume parses whole frames from data (which starts at h.base) and
// returns how many bytes it used.
func (h *half) consume(data []byte) int {
	off := 0
	for off < len(data) {
		if h.skip > 0 {
			k := int(min(h.skip, int64(len(data)-off)))
			h.skip -= int64(k)
			off += k
			h.p.stats.BytesSkipped += int64(k)
			if h.skip == 0 {
				h.skippedFrame(h.skipHdr, h.skipAt, h.posAt(h.base+int64(off)-1), false)
			}
			continue
		}
		if h.preface >= 0 {
			k := min(len(Preface)-h.preface, len(data)-off)
			if string(data[off:off+k]) == Preface[h.preface:h.preface+k] {
				h.preface += k
				off += k
				if h.preface == len(Preface) {
					h.preface = -1
				}
				continue
			}
			h.preface = -1
			h.p.noPreface()
			continue
		}
		if !h.synced {
			k, ok := h.resync(data[off:])
			off += k
			h.p.stats.BytesSkipped += int64(k)
			if !ok {
				break
			}
			continue
		}
		if len(data)-off < frameHeaderLen {
			break
		}
		fh := readHeader(data[off:])
		start := h.posAt(h.base + int64(off))
		if fh.Length > h.maxFrame && !h.oversize {
			h.oversize = true
			h.p.connWarn(fmt.Sprintf("%s sent a %d-byte %s frame over the peer's SETTINGS_MAX_FRAME_SIZE %d", h.name(), fh.Length, fh.Type, h.maxFrame))
		}
		if int(fh.Length) > h.p.opts.MaxFrameBytes {
			h.p.connWarn(fmt.Sprintf("%s frame of %d bytes over the buffer cap skipped", fh.Type, fh.Length))
			h.skip, h.skipHdr, h.skipAt = int64(fh.Length), fh, start
			off += frameHeaderLen
			if h.skip == 0 {
				h.skippedFrame(fh, start, start, false)
			}
			continue
		}
		end := off + frameHeaderLen + int(fh.Length)
		if end > len(data) {
			break
		}
		h.frame(fh, data[off:end], start, h.posAt(h.base+int64(end)-1))
		off = end
	}
	return off
}

func (h *half) name() string {
	if h.dir == http1.ClientToServer {
		return "client"
	}
	return "server"
}

func readHeader(b []byte) http2.FrameHeader {
	return http2.FrameHeader{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     http2.FrameType(b[3]),
		Flags:    http2.Flags(b[4]),
		StreamID: binary.BigEndian.Uint32(b[5:]) & (1<<31 - 1),
	}
}

// noPreface: the client's first bytes are not the preface, so the capture
// began inside the connection and neither HPACK context is known.
func (p *Parser) noPreface() {
	p.midConn = true
	p.connWarn(WarnNoPreface)
	for i := range p.half {
		h := &p.half[i]
		h.poison(WarnHPACKUnknownStart)
		if h.base == 0 {
			h.synced = false // nothing framed yet: find the first boundary by plausibility
		}
	}
	p.half[http1.ClientToServer].synced = false
}

// plausible reports whether b (at least 9 bytes) starts with a frame header
// a peer of this direction could send, and the frame's total length.
func (h *half) plausible(b []byte) (int, bool) {
	if b[5]&0x80 != 0 {
		return 0, false
	}
	fh := readHeader(b)
	if fh.Length > max(h.maxFrame, defaultFrameSize) || fh.Type > http2.FrameContinuation {
		return 0, false
	}
	client := h.dir == http1.ClientToServer
	f, id, n := fh.Flags, fh.StreamID, fh.Length
	ok := false
	switch fh.Type {
	case http2.FrameData:
		ok = id != 0 && f&^0x09 == 0
	case http2.FrameHeaders:
		ok = id != 0 && f&^0x2d == 0 && (!client || id&1 == 1)
	case http2.FramePriority:
		ok = id != 0 && n == 5 && f == 0
	case http2.FrameRSTStream:
		ok = id != 0 && n == 4 && f == 0
	case http2.FrameSettings:
		ok = id == 0 && n%6 == 0 && f&^1 == 0 && (f == 0 || n == 0)
	case http2.FramePushPromise:
		ok = !client && id != 0 && f&^0x0c == 0 && n >= 4
	case http2.FramePing:
		ok = id == 0 && n == 8 && f&^1 == 0
	case http2.FrameGoAway:
		ok = id == 0 && n >= 8 && f == 0
	case http2.FrameWindowUpdate:
		ok = n == 4 && f == 0
	case http2.FrameContinuation:
		ok = id != 0 && f&^0x04 == 0
	}
	return frameHeaderLen + int(n), ok
}

// resync looks for a frame boundary in b: a plausible header followed by
// another one or by the end of the bytes seen so far. It returns how many
// bytes to drop and whether framing is back.
func (h *half) resync(b []byte) (int, bool) {
	for i := 0; i+frameHeaderLen <= len(b); i++ {
		n, ok := h.plausible(b[i:])
		if !ok {
			continue
		}
		switch next := i + n; {
		case next == len(b):
		case next+frameHeaderLen <= len(b):
			if _, ok := h.plausible(b[next:]); !ok {
				continue
			}
		default:
			if len(b) < resyncWindow {
				return i, false // wait for more bytes to confirm
			}
		}
		h.synced = true
		return i, true
	}
	// No position before the last 8 bytes can start a frame.
	return max(0, len(b)-(frameHeaderLen-1)), false
}

// gap handles lost bytes: inside a frame whose end is known, only that
// frame is damaged; otherwise framing and HPACK state are lost.
func (h *half) gap(lost int, t time.Time) {
	at := pos{time: t}
	if len(h.marks) > 0 {
		at.packet = h.marks[len(h.marks)-1].packet
	}
	if h.preface > 0 || (h.preface == 0 && h.dir == http1.ClientToServer) {
		h.preface = -1
		h.p.noPreface()
	}
	if lost > 0 && h.skip >= int64(lost) {
		// Inside a frame being discarded anyway: its end is still known.
		h.skip -= int64(lost)
		h.p.stats.BytesSkipped += int64(lost)
		if h.cause != "" {
			h.skipCause = h.cause
		}
		if h.skip == 0 {
			h.skippedFrame(h.skipHdr, h.skipAt, at, true)
		} else {
			h.skipDamaged = true
		}
		return
	}
	if h.synced && h.skip == 0 && len(h.buf) >= frameHeaderLen && lost > 0 {
		fh := readHeader(h.buf)
		remain := int64(frameHeaderLen) + int64(fh.Length) - int64(len(h.buf))
		if int64(lost) <= remain {
			start := h.posAt(h.base)
			h.base += int64(len(h.buf))
			h.buf = h.buf[:0]
			h.skip = remain - int64(lost)
			h.skipHdr, h.skipAt, h.skipDamaged, h.skipCause = fh, start, true, h.cause
			h.p.stats.BytesSkipped += int64(lost)
			if h.skip == 0 {
				h.skippedFrame(fh, start, at, true)
			}
			h.advanceMarks(lost)
			return
		}
	}
	// Framing lost: whatever was lost may have carried header blocks.
	h.lostCause = h.cause
	if h.skip > 0 {
		h.skippedFrame(h.skipHdr, h.skipAt, at, true)
		h.skip = 0
	}
	h.base += int64(len(h.buf))
	h.buf = h.buf[:0]
	if lost > 0 {
		h.advanceMarks(lost)
	}
	h.synced = false
	if h.blk != nil {
		h.abortBlock(WarnHPACKUnknownGap, true)
	}
	h.poison(WarnHPACKUnknownGap)
	for _, st := range h.p.streams {
		if !st.ended(h.dir) {
			st.ex.AddWarning(WarnFramesLost)
			if h.cause != "" {
				st.ex.AddWarning(h.cause)
			}
			st.body[h.dir&1].lost = true
		}
	}
}

// advanceMarks accounts for lost bytes in stream offsets.
func (h *half) advanceMarks(lost int) {
	h.base += int64(lost)
	if n := len(h.marks); n > 0 {
		h.marks = append(h.marks[:0], mark{off: h.base, pos: h.marks[n-1].pos})
	}
}
