package h2

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/corscope/corscope/capture/content"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
)

// stream is one exchange being rebuilt.
type stream struct {
	id  uint32
	seq int64
	ex  storage.Exchange

	reqHead, respHead bool // request headers / final response headers seen
	reqEnd, respEnd   bool
	reset             bool
	body              [2]bodyAcc
	upgradeSeed       *storage.Exchange
	untracked         bool // over MaxStreams: emitted after its first header block
}

func (st *stream) ended(dir http1.Dir) bool {
	if dir == http1.ClientToServer {
		return st.reqEnd
	}
	return st.respEnd
}

// bodyAcc collects a message body up to the stored cap.
type bodyAcc struct {
	data []byte
	size int64 // bytes seen on the wire (DATA payloads), lost ones included
	lost bool  // bytes missing: the stored prefix stops at the hole
}

// newStream starts rebuilding stream id. Over MaxStreams the stream is not
// tracked: the caller fills it from its first header block and hands it to
// untracked, so the request is never dropped silently.
func (p *Parser) newStream(id uint32, t time.Time, packet int64) *stream {
	st := &stream{id: id}
	if len(p.streams) >= p.opts.MaxStreams {
		p.stats.UntrackedStreams++
		p.connWarn("too many concurrent streams: some not rebuilt")
		st.untracked = true
	} else {
		p.seq++
		st.seq = p.seq
		p.streams[id] = st
		p.stats.MaxOpenStreams = max(p.stats.MaxOpenStreams, len(p.streams))
	}
	x := &st.ex
	x.EntryIndex = -1
	x.StreamID = id
	x.ConnNo = p.meta.ConnNo
	x.Client, x.Server, x.TLS = p.meta.Client, p.meta.Server, p.meta.TLS
	x.Proto = storage.ProtoHTTP2
	x.Started, x.FirstPacket = t, packet
	x.Scheme, x.Host, x.Port = p.scheme, p.serverHost, p.serverPort
	return st
}

// seenWindow is how many client stream ids below the highest one seen are
// remembered, so an answer to a stream whose request was lost (a gap took
// its HEADERS) is told from one to a stream already finished.
const seenWindow = 1024

// advanceClient makes id the highest client stream id seen; the ids it
// skips are marked unseen.
func (p *Parser) advanceClient(id uint32) {
	from := p.maxClientID + 1
	if id-p.maxClientID > 2*seenWindow {
		from = id - 2*seenWindow
	}
	for x := from | 1; x < id; x += 2 {
		p.seen[(x>>1)%seenWindow/64] &^= 1 << ((x >> 1) % 64)
	}
	p.maxClientID = id
}

func (p *Parser) markSeen(id uint32) {
	p.seen[(id>>1)%seenWindow/64] |= 1 << ((id >> 1) % 64)
}

// seenOrForgotten reports whether client stream id (at most maxClientID)
// had its request seen, or is too old to know.
func (p *Parser) seenOrForgotten(id uint32) bool {
	if p.maxClientID-id >= 2*seenWindow {
		return true
	}
	return p.seen[(id>>1)%seenWindow/64]&(1<<((id>>1)%64)) != 0
}

// untracked emits a stream over MaxStreams with what its first header block
// said; its later frames are ignored.
func (p *Parser) untracked(st *stream) {
	x := &st.ex
	x.AddWarning(fmt.Sprintf(WarnStreamCapFmt, p.opts.MaxStreams))
	if !st.respHead {
		x.Status = 0
		x.Ended, x.LastPacket = time.Time{}, 0
		x.AddWarning(http1.WarnNoResponse)
	}
	p.stats.Streams++
	p.emit(x)
}

// requestBlock handles a header block from the client: a request, or its
// trailers.
func (p *Parser) requestBlock(h *half, b *block, warn string) {
	st := p.streams[b.streamID]
	if st == nil {
		if b.streamID <= p.maxClientID {
			return // a stream already finished, or not tracked
		}
		p.advanceClient(b.streamID)
		p.markSeen(b.streamID)
		if p.firstClientID == 0 {
			p.firstClientID = b.streamID
		}
		st = p.newStream(b.streamID, b.start.time, b.start.packet)
	}
	flagBlock(st, b, warn)
	if st.reqHead {
		trailers(st, b.fields)
	} else {
		st.reqHead = true
		st.ex.RequestHeaders = b.fields
		p.requestTarget(st, b.fields)
	}
	if st.untracked {
		p.untracked(st)
		return
	}
	if b.endStream {
		p.endSide(st, http1.ClientToServer, b.start)
	}
}

// requestTarget maps pseudo-header fields to method and URL.
func (p *Parser) requestTarget(st *stream, fields storage.Headers) {
	x := &st.ex
	x.Method = fields.Value(":method")
	if s := strings.ToLower(fields.Value(":scheme")); s != "" {
		x.Scheme = s
	}
	authority, ok := fields.Get(":authority")
	if !ok {
		authority, ok = fields.Get("host")
	}
	if ok && authority != "" {
		host, port := splitAuthority(authority)
		x.Host = host
		x.Port = port
		if port == 0 {
			x.Port = storage.DefaultPort(x.Scheme)
		}
	}
	path := fields.Value(":path")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		x.Path, x.Query = path[:i], path[i+1:]
	} else {
		x.Path = path
	}
	switch {
	case x.Method == "CONNECT" && fields.Value(":protocol") != "":
		x.Upgrade = strings.ToLower(fields.Value(":protocol"))
	case x.Method == "CONNECT":
		x.Upgrade = "connect"
	}
}

// splitAuthority splits "host[:port]" (IPv6 in brackets) and lower-cases the host.
func splitAuthority(a string) (string, int) {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		a = a[i+1:]
	}
	host, port := a, ""
	if strings.HasPrefix(a, "[") {
		if j := strings.IndexByte(a, ']'); j > 0 {
			host = a[1:j]
			if rest := a[j+1:]; strings.HasPrefix(rest, ":") {
				port = rest[1:]
			}
		}
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 && strings.Count(a, ":") == 1 {
		host, port = a[:i], a[i+1:]
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n > 65535 {
		n = 0
	}
	return strings.ToLower(host), n
}

// responseBlock handles a header block from the server: interim or final
// response headers, or trailers.
func (p *Parser) responseBlock(h *half, b *block, warn string) {
	st := p.streams[b.streamID]
	if st == nil {
		preCapture := p.midConn && b.streamID < p.firstClientID
		lostBelow := false // a stream under the highest one seen whose request was lost
		if b.streamID&1 == 1 && b.streamID <= p.maxClientID && !preCapture {
			if p.seenOrForgotten(b.streamID) {
				return // answer to a finished or untracked stream
			}
			lostBelow = true
		}
		if b.streamID == 0 {
			return
		}
		// The request is not in the capture (started or lost before it).
		st = p.newStream(b.streamID, b.start.time, b.start.packet)
		st.ex.AddWarning(http1.WarnRequestMissing)
		if c := p.half[http1.ClientToServer].lostCause; lostBelow && c != "" {
			st.ex.AddWarning(c)
		}
		st.reqHead, st.reqEnd = true, true
		if b.streamID&1 == 1 && !preCapture {
			if b.streamID > p.maxClientID {
				p.advanceClient(b.streamID)
			}
			p.markSeen(b.streamID)
		}
	}
	flagBlock(st, b, warn)
	status, ok := b.fields.Get(":status")
	code, err := strconv.Atoi(status)
	switch {
	case st.respHead:
		trailers(st, b.fields)
	case ok && err == nil && code >= 100 && code < 200 && !b.endStream:
		st.ex.AddWarning("interim response " + strconv.Itoa(code))
	default:
		st.respHead = true
		st.ex.ResponseHeaders = b.fields
		st.ex.RespStarted = b.start.time
		if err == nil && code >= 0 && code <= 999 {
			st.ex.Status = code
		} else if !ok && warn == "" {
			st.ex.AddWarning("response without :status")
		}
	}
	p.touch(st, http1.ServerToClient, b.start)
	if st.untracked {
		p.untracked(st)
		return
	}
	if b.endStream {
		p.endSide(st, http1.ServerToClient, b.start)
	}
}

// pushed creates the stream a PUSH_PROMISE announced, with the promised
// request headers; the server answers it like any request.
func (p *Parser) pushed(h *half, b *block, warn string) {
	if p.streams[b.promised] != nil || b.promised&1 == 1 {
		return
	}
	st := p.newStream(b.promised, b.start.time, b.start.packet)
	st.ex.AddWarning(WarnPushed + " (promised on stream " + strconv.FormatUint(uint64(b.streamID), 10) + ")")
	flagBlock(st, b, warn)
	st.reqHead, st.reqEnd = true, true
	st.ex.RequestHeaders = b.fields
	p.requestTarget(st, b.fields)
	if st.untracked {
		p.untracked(st)
	}
}

// flagBlock puts what went wrong with a header block on its stream.
func flagBlock(st *stream, b *block, warn string) {
	if warn != "" {
		st.ex.AddWarning(warn)
	}
	if b.cause != "" {
		st.ex.AddWarning(b.cause)
	}
	if b.capped != "" {
		st.ex.AddWarning(b.capped)
	}
}

func trailers(st *stream, fields storage.Headers) {
	if len(fields) == 0 {
		return
	}
	w := "trailer fields:"
	for i, f := range fields {
		if i == 8 {
			w += " ..."
			break
		}
		v := f.Name + ": " + f.Value
		if len(v) > 80 {
			v = v[:80] + "..."
		}
		w += " " + strconv.Quote(v)
	}
	st.ex.AddWarning(w)
}

func (h *half) data(id uint32, payload []byte, end bool, at pos) {
	st := h.p.streams[id]
	if st == nil {
		return
	}
	b := &st.body[h.dir&1]
	b.size += int64(len(payload))
	if !b.lost {
		room := min(h.p.opts.MaxBody-int64(len(b.data)), h.p.opts.MaxConnBody-h.p.bodyBytes)
		if room < int64(len(payload)) && len(b.data) < int(h.p.opts.MaxBody) {
			st.ex.AddWarning(WarnConnBodyCap)
		}
		if room > 0 {
			n := min(int64(len(payload)), room)
			b.data = append(b.data, payload[:n]...)
			h.p.bodyBytes += n
		}
	}
	h.p.touch(st, h.dir, at)
	if end {
		h.p.endSide(st, h.dir, at)
	}
}

// touch records the last response byte seen so far.
func (p *Parser) touch(st *stream, dir http1.Dir, at pos) {
	if dir == http1.ServerToClient && !at.time.IsZero() {
		st.ex.Ended, st.ex.LastPacket = at.time, at.packet
	}
}

func (p *Parser) endSide(st *stream, dir http1.Dir, at pos) {
	if dir == http1.ClientToServer {
		st.reqEnd = true
	} else {
		st.respEnd = true
		p.touch(st, dir, at)
	}
	if st.reqEnd && st.respEnd {
		p.finish(st, at.time)
	}
}

// finish emits a stream, complete or not.
func (p *Parser) finish(st *stream, t time.Time) {
	delete(p.streams, st.id)
	p.bodyBytes -= int64(len(st.body[0].data) + len(st.body[1].data))
	x := &st.ex
	if !st.respHead {
		if seed := st.upgradeSeed; seed != nil && !st.reset {
			// No HTTP/2 answer on stream 1: keep the exchange http1 saw (101).
			p.stats.Streams++
			p.emit(seed)
			return
		}
		x.Status = 0
		x.Ended, x.LastPacket = time.Time{}, 0
		x.AddWarning(http1.WarnNoResponse)
	} else if !st.respEnd && !st.reset {
		x.AddWarning(http1.WarnRespBodyEOF)
	}
	if !st.reqEnd && !st.reset && st.reqHead {
		x.AddWarning(http1.WarnReqBodyEOF)
	}
	if st.upgradeSeed == nil {
		x.RequestBody, x.RequestBodySize = p.finishBody(&st.body[0], x.RequestHeaders, x)
	}
	x.ResponseBody, x.ResponseBodySize = p.finishBody(&st.body[1], x.ResponseHeaders, x)
	p.stats.Streams++
	p.emit(x)
}

// finishBody decodes content codings and caps what is stored; the size is
// the decoded size when decoding succeeded, else the size on the wire.
func (p *Parser) finishBody(a *bodyAcc, hs storage.Headers, x *storage.Exchange) ([]byte, int64) {
	if a.size == 0 {
		return nil, 0
	}
	codings := content.Codings(hs.Values("content-encoding")...)
	if len(codings) == 0 {
		return a.data, a.size
	}
	if a.lost {
		x.AddWarning(http1.WarnBodyNotDecoded)
		return a.data, a.size
	}
	out, truncated, err := content.Decode(codings, a.data, p.opts.MaxDecoded)
	cut := a.size > int64(len(a.data))
	switch {
	case cut:
		x.AddWarning(http1.WarnBodyDecodedPrefix)
	case err != nil:
		x.AddWarning("body decoding failed: " + err.Error())
		if len(out) == 0 {
			return a.data, a.size
		}
	}
	size := int64(len(out))
	if truncated {
		x.AddWarning(http1.WarnDecompressionCap)
	}
	if cut {
		size = a.size
	}
	if int64(len(out)) > p.opts.MaxBody {
		out = append([]byte(nil), out[:p.opts.MaxBody]...)
	}
	return out, size
}
