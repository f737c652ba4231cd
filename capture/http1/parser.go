package http1

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/corscope/corscope/capture/content"
	"github.com/corscope/corscope/storage"
)

// maxPending bounds the requests waiting for responses on one connection.
const maxPending = 1024

// entry is one exchange being rebuilt, with what pairing and framing need.
type entry struct {
	ex       storage.Exchange
	reqDone  bool
	respDone bool
	orphan   bool // response whose request is not in the capture

	reqStart   pos   // first byte of the request
	reqLastPkt int64 // packet of the request's last byte
	head       bool  // HEAD: the response has no body
	connect    bool
	upgrade    bool // asked for a protocol switch
	h09        bool
	malformed  bool // request line did not parse
	gapsAtEnd  int  // client losses counted when the request ended
}

func (e *entry) addWarning(w string) {
	if e != nil && w != "" {
		e.ex.AddWarning(w)
	}
}

// Parser rebuilds the exchanges of one connection. It is not safe for
// concurrent use; one goroutine feeds both directions in capture order.
//
// What it records when the wire is imperfect:
//   - A response is framed by its request (HEAD, CONNECT, 1xx, 204, 304).
//     Interim 1xx responses become warnings ("interim response 100 ...") on
//     the exchange whose final status they precede.
//   - Trailer fields become a warning ("trailer fields: ..."), not headers:
//     browsers ignore trailers for CORS, so merging them would invent policy.
//   - After lost bytes, known lengths are skipped exactly; otherwise the
//     stream is scanned for the next start line. Responses are then paired
//     by TCP seq/ack, so a lost response leaves its request with status 0
//     and WarnResponseLost instead of shifting later pairs.
//   - A response whose request is not in the capture is emitted with an
//     empty Method and WarnRequestMissing.
//   - An HTTP/0.9 answer (no status line) is stored as status 200 with
//     WarnHTTP09Response. A malformed request line that still names a
//     method or a version is kept, split as a server would, and flagged.
type Parser struct {
	opts Options
	meta ConnMeta
	emit func(*storage.Exchange)

	c, s half

	queue  []*entry // request order; the front is emitted once complete
	target *entry   // receives the response being read (kept across 1xx)

	upgraded     string
	leftover     [2][]byte
	resumeClient bool
	closed       bool

	serverIP   string
	serverPort int
	scheme     string
}

// NewParser returns a parser that calls emit once per exchange, in request
// order. emit owns the exchange it receives.
func NewParser(opts Options, meta ConnMeta, emit func(*storage.Exchange)) *Parser {
	p := &Parser{opts: opts.withDefaults(), meta: meta, emit: emit, scheme: "http"}
	if meta.TLS {
		p.scheme = "https"
	}
	if h, port, err := net.SplitHostPort(meta.Server); err == nil {
		p.serverIP = strings.ToLower(h)
		p.serverPort, _ = strconv.Atoi(port)
	}
	p.c = half{p: p, dir: ClientToServer}
	p.s = half{p: p, dir: ServerToClient}
	return p
}

func (p *Parser) half(dir Dir) *half {
	if dir == ServerToClient {
		return &p.s
	}
	return &p.c
}

// Feed hands the parser the next in-order bytes of one direction.
func (p *Parser) Feed(dir Dir, seg Segment) {
	if p.closed || len(seg.Data) == 0 {
		return
	}
	at := pos{seq: seg.Seq, ack: seg.Ack, known: seg.Seq != 0 || seg.Ack != 0, time: seg.Time, packet: seg.Packet}
	p.half(dir).feed(seg.Data, at)
	p.runDeferred()
}

// runDeferred resumes a client direction that waited for the answer to an
// upgrade request which did not switch protocols.
func (p *Parser) runDeferred() {
	for p.resumeClient {
		p.resumeClient = false
		h := &p.c
		if h.st != stPaused {
			continue
		}
		h.st = stIdle
		if h.everLost {
			h.enterResync(true)
		}
		if len(h.buf) > 0 {
			b := append([]byte(nil), h.buf...)
			h.buf = h.buf[:0]
			h.feed(b, h.bufStart)
		}
	}
}

// Gap says lost bytes are missing before the next Feed in dir; lost < 0
// means the amount is unknown.
func (p *Parser) Gap(dir Dir, lost int, t time.Time) { p.LimitGap(dir, lost, t, "") }

// LimitGap is Gap for bytes the caller skipped because a resource limit
// forced it (they may be in the capture): why is added to every exchange
// the gap cuts, to the next message of dir when the gap fell between
// messages, and to requests whose response it may have taken.
func (p *Parser) LimitGap(dir Dir, lost int, t time.Time, why string) {
	if p.closed {
		return
	}
	p.half(dir).gap(lost, why, t)
	if dir == ServerToClient && !p.s.msg.active {
		// A final response after an interim one may be what was lost: let
		// sequence numbers pair the next response instead of the 1xx lock.
		p.target = nil
	}
	p.runDeferred()
}

// Close flushes everything: the connection or the capture ended at t.
// Requests without a response are emitted with status 0.
func (p *Parser) Close(t time.Time) {
	if p.closed {
		return
	}
	if p.c.st == stPaused && p.upgraded == "" {
		p.resumeClient = true // the switch never happened: what followed is HTTP
	}
	p.runDeferred()
	p.closeHalf(&p.c, WarnReqHeadersEOF, WarnReqBodyEOF)
	p.closeHalf(&p.s, WarnRespHeadersEOF, WarnRespBodyEOF)
	p.closed = true
	for _, e := range p.queue {
		e.reqDone = true
		if !e.respDone {
			p.noResponse(e, WarnNoResponse)
			p.serverCause(e)
		}
	}
	p.flush()
}

func (p *Parser) closeHalf(h *half, headWarn, bodyWarn string) {
	switch h.st {
	case stHead:
		if h.hs.lineDone && len(h.buf) > 0 {
			lastNL := strings.LastIndexByte(string(h.buf), '\n')
			h.msg.last = h.seg
			h.headComplete(h.buf[:lastNL+1], nil, false)
			if h.msg.active {
				h.endMessage(headWarn)
			} else if h.msg.e != nil {
				h.msg.e.addWarning(headWarn)
			}
		}
	case stSkipHead, stBody, stChunkSize, stChunkData, stChunkEnd, stTrailer, stPeekBody:
		if h.msg.active {
			h.endMessage(bodyWarn)
		}
	case stUntilClose:
		h.endMessage("")
	}
	h.st = stDone
}

// Upgraded reports whether the connection left HTTP/1 (101 Switching
// Protocols or a 2xx answer to CONNECT) and to what: "websocket", "h2c",
// "connect" or the lower-cased Upgrade token. The caller stops feeding then.
func (p *Parser) Upgraded() (proto string, ok bool) { return p.upgraded, p.upgraded != "" }

// Leftover returns the bytes of dir that followed the switch of protocols
// and were already fed (at most MaxHeaderBytes): the first WebSocket or
// HTTP/2 frames. The slice belongs to the parser.
func (p *Parser) Leftover(dir Dir) []byte { return p.leftover[dir&1] }

func (p *Parser) keepLeftover(dir Dir, b []byte) {
	lo := &p.leftover[dir&1]
	if room := p.opts.MaxHeaderBytes - len(*lo); room > 0 {
		*lo = append(*lo, b[:min(room, len(b))]...)
	}
}

// requestHead turns a request head into a queued exchange.
func (p *Parser) requestHead(h *half, block string, nls []int32, overflow bool) {
	nl := strings.IndexByte(block, '\n')
	if nl < 0 {
		nl = len(block)
	}
	rl, valid := parseRequestLine(block[:nl])
	if !valid {
		rl = lenientRequestLine(block[:nl])
	}
	from := min(nl+1, len(block))
	e := &entry{reqStart: h.msg.start, h09: rl.h09, malformed: !valid}
	x := &e.ex
	if !valid {
		x.AddWarning("malformed request line: " + quoteCut(strings.TrimSuffix(block[:nl], "\r")))
	}
	x.EntryIndex = -1
	x.ConnNo = p.meta.ConnNo
	x.Client, x.Server, x.TLS = p.meta.Client, p.meta.Server, p.meta.TLS
	x.Started = h.msg.start.time
	x.FirstPacket = h.msg.start.packet
	x.Method = rl.method
	switch {
	case rl.version == "HTTP/1.1":
		x.Proto = storage.ProtoHTTP11
	case rl.version == "HTTP/1.0":
		x.Proto = storage.ProtoHTTP10
	case rl.h09:
		x.Proto = storage.ProtoHTTP09
		if valid {
			x.AddWarning(WarnHTTP09)
		}
	case rl.version == "":
		// Garbled line with "HTTP/" glued to something: version unknown.
	default:
		x.Proto = rl.version
		x.AddWarning("unusual HTTP version " + quoteCut(rl.version))
	}
	if rl.oddSpaces {
		x.AddWarning(WarnSpaceInTarget)
	}
	var hi headInfo
	if !rl.h09 {
		hi = parseFields(block, from, nls, p.opts.MaxHeaders, false)
		x.RequestHeaders = hi.headers
		for _, w := range hi.warnings {
			x.AddWarning(w)
		}
	}
	if overflow {
		x.AddWarning(WarnHeaderBytesCap)
	}
	p.setTarget(e, rl, &hi)
	e.head = rl.method == "HEAD"
	e.connect = rl.method == "CONNECT"
	e.upgrade = hi.upgrade != "" && hi.connUpg
	h.takeWarnings(e)
	p.enqueue(e)

	h.msg.e = e
	chunked, te := hi.chunked()
	switch {
	case rl.h09:
		h.endMessage("")
	case te && chunked:
		if hi.contentLength >= 0 {
			x.AddWarning(WarnTEAndCL)
		}
		h.msg.body.codings = requestCodings(&hi)
		h.st = stChunkSize
	case te:
		x.AddWarning(WarnReqTEUnknown)
		h.endMessage("")
		h.enterResync(false)
	case hi.clBad || hi.clConflict:
		x.AddWarning(WarnReqBadLength)
		h.endMessage("")
		h.enterResync(false)
	case hi.contentLength > 0:
		h.msg.body.codings = requestCodings(&hi)
		h.msg.body.expect(hi.contentLength, p.opts.MaxBody)
		h.remain = hi.contentLength
		h.st = stBody
	default:
		h.endMessage("")
	}
}

func requestCodings(hi *headInfo) []string {
	if len(hi.ce) == 0 && len(hi.te) <= 1 {
		if len(hi.te) == 0 || equalFoldLower(trimOWS(hi.te[0]), "chunked") {
			return content.Codings(hi.ce...)
		}
	}
	return append(content.Codings(hi.ce...), hi.transferCodings()...)
}

// setTarget fills scheme, host, port, path and query from the request target
// and Host header.
func (p *Parser) setTarget(e *entry, rl requestLine, hi *headInfo) {
	x := &e.ex
	x.Scheme = p.scheme
	target := rl.target
	authority := ""
	explicitAuthority := false
	switch {
	case rl.method == "CONNECT" && !strings.HasPrefix(target, "/"):
		authority, explicitAuthority = target, true
		target = ""
	case len(target) > 7 && (equalFoldLower(target[:7], "http://") || len(target) > 8 && equalFoldLower(target[:8], "https://")):
		i := strings.Index(target, "://")
		x.Scheme = toLowerASCII(target[:i])
		rest := target[i+3:]
		end := strings.IndexAny(rest, "/?")
		if end < 0 {
			end = len(rest)
		}
		authority, explicitAuthority = rest[:end], true
		target = rest[end:]
	}
	if q := strings.IndexByte(target, '?'); q >= 0 {
		x.Path, x.Query = target[:q], target[q+1:]
	} else {
		x.Path = target
	}
	if hi.hostCount > 1 {
		x.AddWarning(WarnMultipleHost)
	}
	if !explicitAuthority {
		authority = hi.host
	}
	host, port, bad := splitHostPort(authority)
	if bad {
		x.AddWarning(WarnBadHostPort)
	}
	if host == "" {
		host = p.serverIP
	}
	x.Host = toLowerASCII(host)
	switch {
	case port != 0:
		x.Port = port
	case explicitAuthority && rl.method != "CONNECT":
		x.Port = storage.DefaultPort(x.Scheme)
	default:
		x.Port = p.serverPort
	}
}

func (p *Parser) enqueue(e *entry) {
	if len(p.queue) >= maxPending {
		front := p.queue[0]
		front.ex.AddWarning(WarnTooManyPending)
		front.reqDone = true
		if !front.respDone {
			p.noResponse(front, WarnNoResponse)
		}
		if p.target == front {
			p.target = nil
		}
		p.flush()
		if len(p.queue) >= maxPending { // front could not be flushed: force it out
			p.emitEntry(p.queue[0])
			p.queue = p.queue[1:]
		}
	}
	p.queue = append(p.queue, e)
}

// requestDone finishes a request message.
func (p *Parser) requestDone(h *half, m *message) {
	e := m.e
	if e == nil {
		return
	}
	e.reqLastPkt = m.last.packet
	e.gapsAtEnd = h.gapCount
	e.reqDone = true
	e.ex.RequestBody, e.ex.RequestBodySize = p.finishBody(&m.body, &e.ex)
	if (e.upgrade || e.connect) && !e.respDone && h.st == stIdle {
		h.st = stPaused // the bytes after it may not be HTTP: wait for the answer
		h.buf = h.buf[:0]
		h.pauseDecided = false
	}
	p.flush()
}

// responseHead pairs a response head with its request and sets up its body.
func (p *Parser) responseHead(h *half, block string, nls []int32, overflow bool) {
	nl := strings.IndexByte(block, '\n')
	if nl < 0 {
		nl = len(block)
	}
	sl, _ := parseStatusLine(block[:nl])
	start := h.msg.start
	e := p.target
	if e == nil {
		e = p.pair(start)
	}
	h.lossSince = false
	h.takeWarnings(e)
	h.msg.e = e
	h.msg.status = sl.code
	x := &e.ex
	hi := parseFields(block, min(nl+1, len(block)), nls, p.opts.MaxHeaders, true)
	if sl.code >= 100 && sl.code < 200 && sl.code != 101 {
		// Interim: the final response follows for the same request.
		x.AddWarning("interim response " + strconv.Itoa(sl.code) + " " + quoteCut(sl.reason))
		p.target = e
		h.msg.active = false
		h.st = stIdle
		return
	}
	p.target = e
	x.Status, x.StatusText = sl.code, sl.reason
	x.ResponseHeaders = hi.headers
	x.RespStarted = start.time
	if e.orphan {
		switch sl.version {
		case "HTTP/1.1":
			x.Proto = storage.ProtoHTTP11
		case "HTTP/1.0":
			x.Proto = storage.ProtoHTTP10
		default:
			x.Proto = sl.version
		}
	}
	for _, w := range hi.warnings {
		x.AddWarning(w)
	}
	if overflow {
		x.AddWarning(WarnHeaderBytesCap)
	}
	chunked, te := hi.chunked()
	switch {
	case sl.code == 101 || e.connect && sl.code >= 200 && sl.code < 300:
		proto := "connect"
		if sl.code == 101 {
			up := hi.upgrade
			if up == "" {
				up = e.ex.RequestHeaders.Value("Upgrade")
			}
			proto = upgradeName(up)
		}
		x.Upgrade = proto
		p.upgraded = proto
		h.endMessage("")
		p.switchProtocols()
	case e.head && !(e.malformed && sl.code == 400) || sl.code == 204 || sl.code == 304:
		// (A server that rejected a garbled "HEAD" line did not treat it as HEAD.)
		h.endMessage("")
	case te && chunked:
		if hi.contentLength >= 0 {
			x.AddWarning(WarnTEAndCL)
		}
		h.msg.body.codings = responseCodings(&hi)
		h.st = stChunkSize
	case te:
		h.msg.body.codings = responseCodings(&hi)
		h.st = stUntilClose
	case hi.contentLength >= 0 && !hi.clBad:
		h.msg.body.codings = responseCodings(&hi)
		if hi.contentLength == 0 {
			h.endMessage("")
			return
		}
		h.msg.body.expect(hi.contentLength, p.opts.MaxBody)
		h.remain = hi.contentLength
		h.st = stBody
	default:
		h.msg.body.codings = responseCodings(&hi)
		h.st = stUntilClose
	}
	if e.orphan && (h.st == stBody || h.st == stChunkSize) {
		// Without its request the framing may be wrong (a HEAD answer has
		// no body): look at the first bytes before trusting it.
		h.peekNext, h.st = h.st, stPeekBody
	}
}

func responseCodings(hi *headInfo) []string { return requestCodings(hi) }

// upgradeName maps an Upgrade value to the name recorded in Exchange.Upgrade.
func upgradeName(v string) string {
	tok := v
	if i := strings.IndexByte(tok, ','); i >= 0 {
		tok = tok[:i]
	}
	tok = strings.ToLower(trimOWS(tok))
	switch {
	case tok == "websocket":
		return "websocket"
	case tok == "h2c":
		return "h2c"
	case tok == "":
		return "unknown"
	}
	return tok
}

// switchProtocols stops HTTP parsing in both directions.
func (p *Parser) switchProtocols() {
	if p.c.st == stPaused && len(p.c.buf) > 0 {
		p.keepLeftover(ClientToServer, p.c.buf)
		p.c.buf = p.c.buf[:0]
	}
	if p.c.msg.active {
		p.c.endMessage("")
	}
	p.c.st = stDone
	p.s.st = stDone
}

// nextUnanswered returns the oldest request still waiting for a response.
func (p *Parser) nextUnanswered() *entry {
	for _, e := range p.queue {
		if !e.respDone && !e.orphan {
			return e
		}
	}
	return nil
}

// pair chooses the request a response answers. Without loss on the server
// side, responses come in request order. After loss, TCP numbers decide: the
// server had received the request's first byte (its ack is past it), and the
// client had not yet received this response when it sent the request (its
// ack was at or before the response's first byte). Among those, the request
// sent last answers: in keep-alive traffic each request follows the previous
// response, so an earlier match is one whose own response was lost.
func (p *Parser) pair(start pos) *entry {
	first := -1
	for i, e := range p.queue {
		if !e.respDone && !e.orphan {
			first = i
			break
		}
	}
	if first < 0 {
		return p.orphanAt(len(p.queue), start)
	}
	if !p.s.lossSince || !start.known {
		return p.queue[first]
	}
	best := -1
	for i := first; i < len(p.queue); i++ {
		e := p.queue[i]
		if e.respDone || e.orphan || !e.reqStart.known {
			continue
		}
		if !seqLT(e.reqStart.seq, start.ack) || !seqLE(e.reqStart.ack, start.seq) {
			continue
		}
		if best < 0 || seqLT(p.queue[best].reqStart.ack, e.reqStart.ack) {
			best = i
		}
	}
	ties := 0
	for i := first; best >= 0 && i < len(p.queue); i++ {
		if e := p.queue[i]; !e.respDone && !e.orphan && e.reqStart.known && e.reqStart.ack == p.queue[best].reqStart.ack &&
			seqLT(e.reqStart.seq, start.ack) {
			ties++
		}
	}
	if ties > 1 {
		// Pipelined requests sent with the same ack cannot be told apart
		// by TCP numbers: the pairing below is by order, and may be off.
		p.queue[best].ex.AddWarning(WarnPairingGuessed)
	}
	if best < 0 {
		if p.c.everLost {
			return p.orphanAt(first, start)
		}
		return p.queue[first]
	}
	// The server had received client bytes that were lost in the capture
	// after the best match and before any later request we know: in
	// keep-alive traffic those bytes were the request this answers.
	b := p.queue[best]
	orphan := b.reqDone && p.c.lostBefore(b.gapsAtEnd, start.ack)
	for i := best + 1; orphan && i < len(p.queue); i++ {
		if e := p.queue[i]; !e.orphan && e.reqStart.known && seqLT(e.reqStart.seq, start.ack) {
			orphan = false
		}
	}
	last := best
	if orphan {
		last = best + 1
	}
	for i := first; i < last; i++ {
		if e := p.queue[i]; !e.respDone && !e.orphan {
			p.noResponse(e, WarnResponseLost)
			p.serverCause(e)
		}
	}
	if orphan {
		return p.orphanAt(best+1, start)
	}
	return p.queue[best]
}

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }

// orphanAt inserts an exchange for a response whose request is not in the capture.
func (p *Parser) orphanAt(i int, start pos) *entry {
	e := &entry{orphan: true, reqDone: true, reqStart: start}
	x := &e.ex
	x.EntryIndex = -1
	x.ConnNo = p.meta.ConnNo
	x.Client, x.Server, x.TLS = p.meta.Client, p.meta.Server, p.meta.TLS
	x.Started = start.time
	x.FirstPacket = start.packet
	x.Scheme, x.Host, x.Port = p.scheme, p.serverIP, p.serverPort
	x.AddWarning(WarnRequestMissing)
	if p.c.lastCause != "" { // the request may be what a LimitGap skipped
		x.AddWarning(p.c.lastCause)
	}
	if len(p.queue) >= maxPending {
		p.enqueue(e) // makes room, appends at the end
		return e
	}
	p.queue = append(p.queue, nil)
	copy(p.queue[i+1:], p.queue[i:])
	p.queue[i] = e
	return e
}

// serverCause flags a request left without a response with the cause of a
// server-side LimitGap no response took since, if the request came first.
func (p *Parser) serverCause(e *entry) {
	if p.s.causeNext != "" && !e.ex.Started.After(p.s.causeAt) {
		e.ex.AddWarning(p.s.causeNext)
	}
}

func (p *Parser) noResponse(e *entry, warn string) {
	if (e.upgrade || e.connect) && p.c.st == stPaused {
		p.resumeClient = true // its answer is lost: assume no switch
	}
	e.respDone = true
	e.ex.AddWarning(warn)
	if e.ex.LastPacket == 0 {
		e.ex.LastPacket = e.reqLastPkt
	}
}

// startH09Response treats the rest of the server stream as an HTTP/0.9 body.
func (p *Parser) startH09Response(h *half, e *entry) {
	h.takeWarnings(e)
	h.msg.e = e
	h.msg.active = true
	e.ex.Status = 200
	e.ex.RespStarted = h.msg.start.time
	e.ex.AddWarning(WarnHTTP09Response)
	p.target = e
	h.lossSince = false
	h.st = stUntilClose
}

// responseDone finishes a final response.
func (p *Parser) responseDone(h *half, m *message) {
	e := m.e
	if e == nil {
		return
	}
	if p.target == e {
		p.target = nil
	}
	e.respDone = true
	e.ex.Ended = m.last.time
	e.ex.LastPacket = m.last.packet
	e.ex.ResponseBody, e.ex.ResponseBodySize = p.finishBody(&m.body, &e.ex)
	if (e.upgrade || e.connect) && e.ex.Upgrade == "" && p.c.st == stPaused {
		// Parse what the client sent meanwhile before the next response,
		// which may answer it. Only the client half runs here.
		p.resumeClient = true
		p.runDeferred()
	}
	p.flush()
}

// flush emits complete exchanges from the front of the queue.
func (p *Parser) flush() {
	n := 0
	for n < len(p.queue) && p.queue[n].reqDone && p.queue[n].respDone {
		p.emitEntry(p.queue[n])
		n++
	}
	if n == 0 {
		return
	}
	if n == len(p.queue) {
		clear(p.queue)
		p.queue = p.queue[:0]
		return
	}
	rest := copy(p.queue, p.queue[n:])
	clear(p.queue[rest:])
	p.queue = p.queue[:rest]
}

func (p *Parser) emitEntry(e *entry) {
	if p.c.msg.e == e {
		p.c.msg.e = nil
	}
	if p.s.msg.e == e {
		p.s.msg.e = nil
	}
	p.emit(&e.ex)
}

// finishBody decodes a body's content codings and caps what is stored.
// The size is the decoded size when decoding succeeded, else the size on
// the wire after de-chunking.
func (p *Parser) finishBody(a *bodyAcc, x *storage.Exchange) ([]byte, int64) {
	if a.size == 0 {
		return nil, 0
	}
	if len(a.codings) == 0 {
		return a.data, a.size
	}
	if a.lost {
		x.AddWarning(WarnBodyNotDecoded)
		return a.data, a.size
	}
	out, truncated, err := content.Decode(a.codings, a.data, p.opts.MaxDecoded)
	cut := a.size > int64(len(a.data))
	switch {
	case cut:
		x.AddWarning(WarnBodyDecodedPrefix)
	case err != nil:
		x.AddWarning("body decoding failed: " + err.Error())
		if len(out) == 0 {
			return a.data, a.size
		}
	}
	size := int64(len(out))
	if truncated {
		x.AddWarning(WarnDecompressionCap)
	}
	if cut {
		size = a.size
	}
	if int64(len(out)) > p.opts.MaxBody {
		out = append([]byte(nil), out[:p.opts.MaxBody]...)
	}
	return out, size
}

// bodyAcc collects a message body up to the stored cap.
type bodyAcc struct {
	data    []byte
	size    int64 // bytes seen on the wire after de-chunking, lost ones included
	lost    bool  // a capture gap inside: stored bytes stop at the hole
	codings []string
}

// expect sizes the buffer for a declared length, but only up to
// maxPrealloc: a hostile Content-Length must not reserve memory by itself.
func (a *bodyAcc) expect(n, max int64) {
	if a.data == nil {
		a.data = make([]byte, 0, min(n, max, maxPrealloc))
	}
}

const maxPrealloc = 32 << 10

func (a *bodyAcc) add(b []byte, max int64) {
	a.size += int64(len(b))
	if a.lost || int64(len(a.data)) >= max {
		return
	}
	a.data = append(a.data, b[:min(int64(len(b)), max-int64(len(a.data)))]...)
}

func (a *bodyAcc) hole(n int64) {
	a.size += n
	a.lost = true
}
