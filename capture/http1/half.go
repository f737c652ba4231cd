package http1

import (
	"bytes"
	"strconv"
	"time"
)

// state is where a direction's byte stream is in the HTTP grammar.
type state uint8

const (
	stIdle       state = iota // between messages
	stHead                    // reading a start line and header section
	stSkipHead                // header section over the cap: discarding to its end
	stBody                    // body with a known remaining length
	stChunkSize               // chunk-size line
	stChunkData               // chunk data
	stChunkEnd                // CRLF after chunk data
	stTrailer                 // trailer section after the last chunk
	stUntilClose              // body delimited by the end of the connection
	stResync                  // after loss or junk: scanning for a message start
	stPaused                  // client: waiting for the answer to an upgrade/CONNECT
	stDone                    // left HTTP/1 (upgrade, tunnel): bytes go to leftover
	stPeekBody                // orphan response: is a body or the next status line next?
)

// maxChunkLine bounds a chunk-size line including extensions.
const maxChunkLine = 4096

// pos locates a byte in the stream: its TCP sequence number, the ack of the
// packet that carried it, and that packet's time and number.
type pos struct {
	seq, ack uint32
	known    bool
	time     time.Time
	packet   int64
}

func (p pos) add(n int) pos { p.seq += uint32(n); return p }

// headScan is the progress of scanning a header section held in half.buf, so
// byte-by-byte delivery does not rescan from the start each time.
type headScan struct {
	lineDone   bool // first line complete and valid
	searchFrom int
	nls        []int32 // offsets of the line feeds ending the start line and each field line
}

func (hs *headScan) reset() {
	hs.lineDone, hs.searchFrom, hs.nls = false, 0, hs.nls[:0]
}

func (hs *headScan) line(j int) {
	if n := len(hs.nls); n == 0 || hs.nls[n-1] != int32(j) {
		hs.nls = append(hs.nls, int32(j))
	}
}

// message is the message a direction is reading.
type message struct {
	active bool
	start  pos // first byte
	last   pos // packet of the latest byte
	e      *entry
	resp   bool
	body   bodyAcc
	status int
}

// half is one direction's parsing state.
type half struct {
	p   *Parser
	dir Dir
	st  state

	buf       []byte // partial header section, chunk line, trailer, paused bytes
	bufStart  pos    // position of buf[0] (paused bytes)
	hs        headScan
	tentative bool  // head found by resync scanning: failures are silent
	lineStart bool  // resync: the next byte starts a line
	skipNL    uint8 // stSkipHead: 1 after '\n', 2 after "\n\r"
	afterSkip state
	sawCR     bool // stChunkEnd

	pauseDecided bool  // stPaused: the held bytes were classified
	peekNext     state // stPeekBody: the body state if a body follows

	remain int64 // body or chunk bytes left
	msg    message
	seg    pos // the segment being fed

	next      pos      // position after the last byte fed
	gapCount  int      // losses so far
	gaps      []gapRec // the latest losses
	lossSince bool     // bytes lost since the last response was paired (server)
	everLost  bool     // any loss or resync on this direction
	skipped   int64    // bytes skipped while resynchronising, reported on the next message
	warn      []string
	// cause explains the gap being handled (LimitGap); causeNext is the
	// cause of a gap between messages, for the next message (or, on the
	// server side, for requests whose response it may have taken); causeAt
	// is when that gap was declared.
	cause, causeNext string
	causeAt          time.Time
	lastCause        string // cause of the latest gap, if it may have taken a message start
}

// feed runs b (starting at position at) through the state machine.
func (h *half) feed(b []byte, at pos) {
	h.seg = at
	if h.st == stResync {
		h.lineStart = true // writes usually start segments: try this one
	}
	stuck := 0
	for len(b) > 0 {
		n := h.step(b, at)
		if n == 0 {
			// Every state consumes or changes state; this guards against a
			// bug turning hostile input into an endless loop.
			if stuck++; stuck > 4 {
				h.skipped += int64(len(b))
				h.enterResync(false)
				return
			}
			continue
		}
		stuck = 0
		b = b[n:]
		at = at.add(n)
	}
	h.next = at
}

// gapRec is a loss in this direction: its number and where it started.
type gapRec struct {
	n     int
	start uint32
}

// maxGapRecs bounds the losses remembered for pairing.
const maxGapRecs = 16

// noteGap remembers where a loss started, for pairing by sequence numbers.
func (h *half) noteGap() {
	h.gapCount++
	if !h.next.known {
		return
	}
	if len(h.gaps) == maxGapRecs {
		copy(h.gaps, h.gaps[1:])
		h.gaps = h.gaps[:maxGapRecs-1]
	}
	h.gaps = append(h.gaps, gapRec{n: h.gapCount, start: h.next.seq})
}

// lostBefore reports whether a loss numbered after n started before seq.
func (h *half) lostBefore(n int, seq uint32) bool {
	for _, g := range h.gaps {
		if g.n > n && seqLT(g.start, seq) {
			return true
		}
	}
	return false
}

func (h *half) step(b []byte, at pos) int {
	switch h.st {
	case stIdle:
		i := 0
		for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
			i++
		}
		if i == len(b) {
			return i
		}
		h.beginHead(at.add(i), false)
		return i + h.stepHead(b[i:], at.add(i))
	case stHead:
		return h.stepHead(b, at)
	case stSkipHead:
		return h.stepSkipHead(b)
	case stBody:
		n := int(min(h.remain, int64(len(b))))
		h.msg.body.add(b[:n], h.p.opts.MaxBody)
		h.remain -= int64(n)
		if h.remain == 0 {
			h.endMessage("")
		}
		return n
	case stChunkSize:
		return h.stepChunkSize(b)
	case stChunkData:
		n := int(min(h.remain, int64(len(b))))
		h.msg.body.add(b[:n], h.p.opts.MaxBody)
		h.remain -= int64(n)
		if h.remain == 0 {
			h.st, h.sawCR = stChunkEnd, false
		}
		return n
	case stChunkEnd:
		switch {
		case b[0] == '\r' && !h.sawCR:
			h.sawCR = true
			return 1
		case b[0] == '\n':
			h.st = stChunkSize
			return 1
		}
		h.msg.e.addWarning(WarnChunkFraming)
		h.st = stChunkSize
		return 0
	case stTrailer:
		return h.stepTrailer(b)
	case stUntilClose:
		h.msg.body.add(b, h.p.opts.MaxBody)
		return len(b)
	case stResync:
		return h.stepResync(b, at)
	case stPaused:
		if len(h.buf) == 0 {
			h.bufStart = at
		}
		room := h.p.opts.MaxHeaderBytes - len(h.buf)
		if room > 0 {
			h.buf = append(h.buf, b[:min(room, len(b))]...)
		}
		if len(b) > room {
			h.everLost = true // resumed parsing will have to resynchronise
		}
		if !h.pauseDecided {
			switch pausedBytesKind(h.buf) {
			case pausedHTTP:
				// Another request, not WebSocket/TLS/h2 bytes: the client
				// did not wait, so its requests must enter the queue now.
				h.p.resumeClient = true
				h.pauseDecided = true
			case pausedOther:
				h.pauseDecided = true
			}
		}
		return len(b)
	case stDone:
		h.p.keepLeftover(h.dir, b)
		return len(b)
	case stPeekBody:
		return h.stepPeekBody(b, at)
	}
	return len(b)
}

// stepPeekBody holds the first bytes after an orphan response's head until
// they show whether a body follows or the next response starts.
func (h *half) stepPeekBody(b []byte, at pos) int {
	const status = "HTTP/1."
	if len(h.buf) == 0 {
		h.bufStart = at
	}
	take := min(len(b), len(status)-len(h.buf))
	h.buf = append(h.buf, b[:take]...)
	n := len(h.buf)
	if string(h.buf) == status[:n] && n < len(status) {
		return take
	}
	held := append([]byte(nil), h.buf...)
	h.buf = h.buf[:0]
	if n == len(status) && string(held) == status {
		h.endMessage(WarnNoBodyGuessed)
	} else {
		h.st = h.peekNext
	}
	seg := h.seg
	h.feed(held, h.bufStart) // a few bytes, in the state just chosen
	h.seg = seg
	return take
}

// beginHead starts a new message at position at.
func (h *half) beginHead(at pos, tentative bool) {
	h.st = stHead
	h.tentative = tentative
	h.hs.reset()
	h.buf = h.buf[:0]
	if cap(h.buf) > 16<<10 { // one huge head must not pin its buffer for the connection's life
		h.buf = nil
	}
	if cap(h.hs.nls) > 1024 {
		h.hs.nls = nil
	}
	h.msg = message{active: true, start: at, last: at, resp: h.dir == ServerToClient}
}

type headResult uint8

const (
	headMore headResult = iota
	headDone
	headFail
)

// stepHead accumulates a start line and header section. When nothing is
// buffered and the whole head is in b, it is parsed in place.
func (h *half) stepHead(b []byte, at pos) int {
	max := h.p.opts.MaxHeaderBytes
	if len(h.buf) == 0 {
		view := b[:min(len(b), max)]
		res, n := h.scanHead(view)
		switch res {
		case headDone:
			h.msg.last = h.seg
			h.headComplete(view[:n], h.hs.nls, false)
			return n
		case headFail:
			if h.headFailed(b[n-1] == '\n', n) {
				return 0 // HTTP/0.9 answer: these bytes are its body
			}
			return n
		}
		if len(view) >= max {
			return h.headOverflow(view)
		}
		h.buf = append(h.buf, b...)
		return len(b)
	}
	old := len(h.buf)
	take := min(len(b), max-old)
	h.buf = append(h.buf, b[:take]...)
	res, n := h.scanHead(h.buf)
	switch res {
	case headDone:
		h.msg.last = h.seg
		h.headComplete(h.buf[:n], h.hs.nls, false)
		h.buf = h.buf[:0]
		return fromNew(n, old, take)
	case headFail:
		nl := h.buf[n-1] == '\n'
		if h.headFailed(nl, n) {
			h.msg.body.add(h.buf[:old], h.p.opts.MaxBody)
			h.buf = h.buf[:0]
			return 0
		}
		h.buf = h.buf[:0]
		used := fromNew(n, old, take)
		if used == 0 && at.seq == h.seg.seq && at.packet == h.seg.packet {
			h.lineStart = true // b still starts its segment: a candidate again
		}
		return used
	}
	if len(h.buf) >= max {
		h.buf = h.buf[:old] // headOverflow re-reads the appended part from b
		return h.headOverflowBuffered(b[:take], old)
	}
	return take
}

// fromNew converts an offset n in h.buf into bytes consumed from the data
// just appended at offset old. A decision can rest on a byte that was
// already buffered (the first byte of "HH..." is rejected only once the
// second arrives); then nothing of the new data is consumed, which is fine
// because the state has changed.
func fromNew(n, old, take int) int {
	return min(max(n-old, 0), take)
}

// scanHead looks for the end of the head in b (the whole head so far).
// headDone: the head is b[:n]. headFail: skip n bytes and resynchronise.
func (h *half) scanHead(b []byte) (headResult, int) {
	hs := &h.hs
	if !hs.lineDone {
		if !h.plausibleStart(b) {
			return headFail, 1
		}
		i := bytes.IndexByte(b[hs.searchFrom:], '\n')
		if i < 0 {
			hs.searchFrom = len(b)
			return headMore, 0
		}
		i += hs.searchFrom
		ok, h09 := h.validStartLine(b[:i])
		if !ok {
			return headFail, i + 1
		}
		hs.line(i)
		if h09 {
			return headDone, i + 1
		}
		hs.lineDone = true
		hs.searchFrom = i
	}
	for {
		j := bytes.IndexByte(b[hs.searchFrom:], '\n')
		if j < 0 {
			hs.searchFrom = len(b)
			return headMore, 0
		}
		j += hs.searchFrom
		if j+1 >= len(b) {
			hs.searchFrom = j
			return headMore, 0
		}
		hs.line(j)
		switch b[j+1] {
		case '\n':
			return headDone, j + 2
		case '\r':
			if j+2 >= len(b) {
				hs.nls = hs.nls[:len(hs.nls)-1] // seen again on the next call
				hs.searchFrom = j
				return headMore, 0
			}
			if b[j+2] == '\n' {
				return headDone, j + 3
			}
		}
		hs.searchFrom = j + 1
	}
}

// plausibleStart rejects junk early, on the first bytes of a would-be start line.
func (h *half) plausibleStart(b []byte) bool {
	if h.dir == ServerToClient {
		n := min(len(b), 5)
		return string(b[:n]) == "HTTP/"[:n]
	}
	if !h.tentative {
		// Where a request must start, any printable first word is taken
		// (and flagged later if malformed): servers answer those too.
		n := min(len(b), maxLenientMethod+1)
		for i := 0; i < n; i++ {
			switch c := b[i]; {
			case c == ' ' || c == '\r' || c == '\n':
				return i > 0
			case c < 0x20 || c == 0x7f:
				return false
			}
		}
		return n <= maxLenientMethod
	}
	n := min(len(b), maxMethodLen+1)
	for i := 0; i < n; i++ {
		if b[i] == ' ' {
			return i > 0 && isKnownMethod(b[:i])
		}
		if !tchar[b[i]] {
			return false
		}
	}
	return n <= maxMethodLen && knownMethodPrefix(b[:n])
}

// maxLenientMethod bounds the first word of a malformed request line.
const maxLenientMethod = 64

func (h *half) validStartLine(line []byte) (ok, h09 bool) {
	if h.dir == ServerToClient {
		_, ok = parseStatusLine(string(line))
		return ok, false
	}
	sh, ok := requestLineShape(line)
	if !ok && !h.tentative {
		// A malformed line is kept as a request only when it still says
		// so: a version or a well-known method. Text from the middle of a
		// body (a capture that started mid-stream) is skipped instead.
		word := line
		if i := bytes.IndexByte(line, ' '); i >= 0 {
			word = line[:i]
		}
		word = bytes.TrimSuffix(word, []byte{'\r'})
		versioned := bytes.Contains(line, []byte("HTTP/"))
		ok := printableLine(line) && (versioned || isKnownMethod(word))
		return ok, ok && !versioned // no version: an HTTP/0.9-style line, no headers follow
	}
	return ok, ok && sh.versionStart == 0
}

// printableLine reports whether line (without its LF) has no control
// characters other than HTAB and a final CR.
func printableLine(line []byte) bool {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	for _, c := range line {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return len(line) > 0
}

// headFailed handles a start line that is not HTTP; skip bytes are dropped,
// the last of them a line feed when nl. It reports true when the bytes turn
// out to be the body of an HTTP/0.9 response instead.
func (h *half) headFailed(nl bool, skip int) bool {
	if !h.tentative {
		if h.dir == ClientToServer {
			h.warn = append(h.warn, WarnMalformedReqLine)
		} else if e := h.p.nextUnanswered(); e != nil && e.h09 {
			// An HTTP/0.9 answer has no status line: all bytes to the close are body.
			h.p.startH09Response(h, e)
			return true
		} else {
			h.warn = append(h.warn, WarnNonHTTPServer)
		}
	}
	h.msg.active = false
	h.skipped += int64(skip)
	h.enterResync(nl)
	return false
}

// headOverflow handles a head that reached the byte cap while unbuffered.
func (h *half) headOverflow(view []byte) int {
	if !h.hs.lineDone {
		h.skipped += int64(len(view))
		h.msg.active = false
		h.enterResync(false)
		return len(view)
	}
	h.overflowAt(view)
	return len(view)
}

// headOverflowBuffered is headOverflow with old bytes already in h.buf.
func (h *half) headOverflowBuffered(add []byte, old int) int {
	h.buf = append(h.buf, add...)
	view := h.buf
	if !h.hs.lineDone {
		h.skipped += int64(len(view))
		h.buf = h.buf[:0]
		h.msg.active = false
		h.enterResync(false)
		return len(add)
	}
	h.overflowAt(view)
	h.buf = h.buf[:0]
	return len(add)
}

// overflowAt parses the complete lines of an over-long head and skips the rest.
func (h *half) overflowAt(view []byte) {
	lastNL := bytes.LastIndexByte(view, '\n')
	h.msg.last = h.seg
	h.headComplete(view[:lastNL+1], nil, true)
	after := h.st
	h.afterSkip = after
	h.st = stSkipHead
	switch {
	case lastNL == len(view)-1:
		h.skipNL = 1
	case lastNL == len(view)-2 && view[len(view)-1] == '\r':
		h.skipNL = 2
	default:
		h.skipNL = 0
	}
}

func (h *half) stepSkipHead(b []byte) int {
	i := 0
	for i < len(b) {
		switch h.skipNL {
		case 0:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return len(b)
			}
			i += j + 1
			h.skipNL = 1
		case 1:
			switch b[i] {
			case '\n':
				h.st = h.afterSkip
				return i + 1
			case '\r':
				h.skipNL = 2
			default:
				h.skipNL = 0
			}
			i++
		case 2:
			if b[i] == '\n' {
				h.st = h.afterSkip
				return i + 1
			}
			h.skipNL = 0
		}
	}
	return len(b)
}

// headComplete hands a finished head to the parser. overflow: the head was
// cut at the cap and its end is still to be skipped.
// nls are the line offsets scanHead found for a complete head (nil for a
// cut one); they spare parseFields a pass.
func (h *half) headComplete(head []byte, nls []int32, overflow bool) {
	block := string(head)
	if len(nls) == 0 || int(nls[len(nls)-1]) >= len(head) {
		nls = nil
	}
	if h.dir == ClientToServer {
		h.p.requestHead(h, block, nls, overflow)
	} else {
		h.p.responseHead(h, block, nls, overflow)
	}
}

func (h *half) stepChunkSize(b []byte) int {
	if len(h.buf) == 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			h.chunkLine(b[:i])
			return i + 1
		}
	}
	i := bytes.IndexByte(b, '\n')
	n := len(b)
	if i >= 0 {
		n = i + 1
	}
	if len(h.buf)+n > maxChunkLine {
		h.msg.e.addWarning(WarnChunkFraming)
		h.buf = h.buf[:0]
		h.endMessage("")
		h.enterResync(false)
		return n
	}
	h.buf = append(h.buf, b[:n]...)
	if i >= 0 {
		line := h.buf[:len(h.buf)-1]
		h.buf = h.buf[:0] // chunkLine may start the trailer buffer
		h.chunkLine(line)
	}
	return n
}

// chunkLine handles "hex[;ext]" (extensions are ignored, as RFC 9112 allows).
func (h *half) chunkLine(line []byte) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	var size int64
	digits := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			goto done
		}
		if digits++; digits > 15 {
			digits = 0
			break
		}
		size = size<<4 | int64(d)
	}
done:
	rest := bytes.TrimLeft(line[i:], " \t")
	if digits == 0 || len(rest) > 0 && rest[0] != ';' {
		h.msg.e.addWarning(WarnChunkFraming)
		h.endMessage("")
		h.enterResync(false)
		return
	}
	if size == 0 {
		h.st = stTrailer
		h.buf = append(h.buf[:0], '\n') // lets the blank-line search see an empty trailer
		h.hs.reset()
		h.hs.lineDone = true
		return
	}
	h.remain = size
	h.st = stChunkData
}

func (h *half) stepTrailer(b []byte) int {
	if len(h.buf) == 1 { // common case: no trailer fields
		if b[0] == '\n' {
			h.buf = h.buf[:0]
			h.endMessage("")
			return 1
		}
		if len(b) >= 2 && b[0] == '\r' && b[1] == '\n' {
			h.buf = h.buf[:0]
			h.endMessage("")
			return 2
		}
	}
	old := len(h.buf)
	max := h.p.opts.MaxHeaderBytes
	take := min(len(b), max-old)
	h.buf = append(h.buf, b[:take]...)
	res, n := h.scanHead(h.buf)
	if res == headDone {
		h.trailers(string(h.buf[1:n]))
		h.buf = h.buf[:0]
		h.endMessage("")
		return fromNew(n, old, take)
	}
	if len(h.buf) >= max {
		h.trailers(string(h.buf[1 : bytes.LastIndexByte(h.buf, '\n')+1]))
		h.msg.e.addWarning(WarnHeaderBytesCap)
		h.buf = h.buf[:0]
		h.endMessage("")
		h.afterSkip, h.st, h.skipNL = h.st, stSkipHead, 0
	}
	return take
}

// trailers records trailer fields as a warning rather than merging them into
// the headers: browsers ignore trailers for CORS, so a merged
// Access-Control-* trailer would produce findings that do not exist.
func (h *half) trailers(block string) {
	hi := parseFields(block, 0, nil, h.p.opts.MaxHeaders, h.msg.resp)
	if len(hi.headers) == 0 {
		return
	}
	w := "trailer fields:"
	for i, f := range hi.headers {
		if i == 8 {
			w += " ..."
			break
		}
		w += " " + quoteCut(f.Name+": "+f.Value)
	}
	h.msg.e.addWarning(w)
}

// stepResync scans for the next plausible start line: right after the
// loss, at a segment or line start, and (since the message before it may
// end without a line feed) anywhere a status line or a request line with a
// known method begins.
func (h *half) stepResync(b []byte, at pos) int {
	if h.dir == ServerToClient {
		for i := 0; i < len(b); {
			j := bytes.IndexByte(b[i:], 'H')
			if j < 0 {
				break
			}
			i += j
			if h.candidate(b[i:]) {
				h.skipped += int64(i)
				h.beginHead(at.add(i), true)
				return i + h.stepHead(b[i:], at.add(i))
			}
			i++
		}
		h.skipped += int64(len(b))
		return len(b)
	}
	inLine := findRequestLine(b, 0)
	i := 0
	for {
		if h.lineStart && i < len(b) && h.candidate(b[i:]) {
			h.skipped += int64(i)
			h.beginHead(at.add(i), true)
			return i + h.stepHead(b[i:], at.add(i))
		}
		j := bytes.IndexByte(b[i:], '\n')
		next := len(b)
		if j >= 0 {
			next = i + j + 1
		}
		if inLine >= i && inLine < next {
			h.skipped += int64(inLine)
			h.beginHead(at.add(inLine), true)
			return inLine + h.stepHead(b[inLine:], at.add(inLine))
		}
		if j < 0 {
			h.skipped += int64(len(b))
			h.lineStart = false
			return len(b)
		}
		i = next
		h.lineStart = true
		if i == len(b) {
			h.skipped += int64(i)
			return i
		}
	}
}

// findRequestLine returns where, from offset from on, a known method
// starts a request line ("METHOD target HTTP/1.x") in b, or -1.
func findRequestLine(b []byte, from int) int {
	for from < len(b) {
		q := bytes.Index(b[from:], []byte(" HTTP/1."))
		if q < 0 {
			return -1
		}
		q += from
		if t := bytes.LastIndexByte(b[from:q], ' '); t >= 0 && t+from+1 < q {
			t += from
			s := t
			for s > from && t-s < 16 && b[s-1] >= 'A' && b[s-1] <= 'Z' {
				s--
			}
			for m := s; m < t; m++ {
				if isKnownMethod(b[m:t]) {
					return m
				}
			}
		}
		from = q + 1
	}
	return -1
}

// candidate is the quick test for a message start while resynchronising.
func (h *half) candidate(b []byte) bool {
	if h.dir == ServerToClient {
		n := min(len(b), 7)
		return string(b[:n]) == "HTTP/1."[:n]
	}
	return b[0] >= 'A' && b[0] <= 'Z' && knownMethodPrefix(b[:min(len(b), 10)])
}

// enterResync drops partial state and scans for the next message start.
// atBoundary: the next byte follows a loss, so it may start a message.
func (h *half) enterResync(atBoundary bool) {
	h.st = stResync
	h.lineStart = atBoundary
	h.buf = h.buf[:0]
	h.everLost = true
	if h.dir == ServerToClient {
		h.lossSince = true
	}
}

// endMessage finishes the message being read; warn is added when non-empty.
func (h *half) endMessage(warn string) {
	if !h.msg.active {
		if h.st != stDone && h.st != stPaused {
			h.st = stIdle
		}
		return
	}
	m := &h.msg
	m.active = false
	m.last = h.seg
	if warn != "" && m.e != nil {
		m.e.addWarning(warn)
		if h.cause != "" {
			m.e.addWarning(h.cause)
		}
	}
	h.st = stIdle
	if h.dir == ClientToServer {
		h.p.requestDone(h, m)
	} else {
		h.p.responseDone(h, m)
	}
}

// gap handles lost bytes before the next feed; cause, when set, says why
// they were skipped and goes on every message the gap cuts.
func (h *half) gap(lost int, cause string, t time.Time) {
	h.lastCause = ""
	if h.st == stDone || h.st == stSkipHead && h.afterSkip == stDone {
		h.st = stDone
		return
	}
	if h.st == stPeekBody { // decide now: the held bytes were body
		held := append([]byte(nil), h.buf...)
		h.buf = h.buf[:0]
		h.st = h.peekNext
		h.feed(held, h.bufStart)
	}
	if cause != "" {
		h.cause = cause
		defer func() { h.cause = "" }()
		// Unless the gap falls inside a body of known length, it may have
		// taken the start of the next message (or all of it).
		if !((h.st == stBody || h.st == stChunkData) && lost >= 0 && int64(lost) <= h.remain) {
			h.causeNext, h.causeAt, h.lastCause = cause, t, cause
		}
	}
	h.noteGap()
	if lost > 0 {
		h.next = h.next.add(lost)
	} else {
		h.next.known = false
	}
	h.everLost = true
	if h.dir == ServerToClient {
		h.lossSince = true
	}
	reqSide := h.dir == ClientToServer
	bodyWarn, headWarn := WarnRespBodyGap, WarnRespHeadersGap
	if reqSide {
		bodyWarn, headWarn = WarnReqBodyGap, WarnReqHeadersGap
	}
	switch h.st {
	case stIdle, stResync:
		h.enterResync(true)
	case stHead:
		if h.hs.lineDone && len(h.buf) > 0 {
			lastNL := bytes.LastIndexByte(h.buf, '\n')
			h.msg.last = h.seg
			h.headComplete(h.buf[:lastNL+1], nil, false)
			if h.msg.active {
				h.endMessage(headWarn)
			} else if h.msg.e != nil {
				h.msg.e.addWarning(headWarn)
				h.msg.e.addWarning(h.cause)
			}
		}
		h.msg.active = false
		if h.st != stDone {
			h.enterResync(true)
		}
	case stSkipHead:
		if h.msg.active {
			h.endMessage(headWarn)
		}
		h.enterResync(true)
	case stBody, stChunkData:
		if lost >= 0 && int64(lost) <= h.remain {
			h.remain -= int64(lost)
			h.msg.body.hole(int64(lost))
			h.msg.e.addWarning(bodyWarn)
			h.msg.e.addWarning(h.cause)
			if h.remain == 0 {
				if h.st == stBody {
					h.endMessage("")
				} else {
					h.st, h.sawCR = stChunkEnd, false
				}
			}
			return
		}
		h.msg.body.hole(h.remain)
		h.endMessage(bodyWarn)
		h.enterResync(true)
	case stChunkSize, stChunkEnd, stTrailer:
		h.endMessage(bodyWarn)
		h.enterResync(true)
	case stUntilClose:
		if lost > 0 {
			h.msg.body.hole(int64(lost))
		}
		h.msg.e.addWarning(bodyWarn)
		h.msg.e.addWarning(h.cause)
	case stPaused:
		h.buf = h.buf[:0]
	}
}

// takeWarnings moves direction-level warnings onto the message's exchange.
func (h *half) takeWarnings(e *entry) {
	for _, w := range h.warn {
		e.addWarning(w)
	}
	h.warn = h.warn[:0]
	if h.causeNext != "" {
		e.addWarning(h.causeNext)
		h.causeNext = ""
	}
	if h.skipped > 0 {
		e.addWarning("resynchronised after skipping " + strconv.FormatInt(h.skipped, 10) + " bytes")
		h.skipped = 0
	}
}

const (
	pausedUndecided = iota
	pausedHTTP
	pausedOther
)

const h2Preface = "PRI * HTTP/2.0\r\n"

// pausedBytesKind classifies what a client sent after an upgrade or CONNECT
// request, before the answer: another HTTP/1 request, or something else
// (WebSocket frames, a TLS handshake, the HTTP/2 preface).
func pausedBytesKind(b []byte) int {
	if len(b) == 0 {
		return pausedUndecided
	}
	if !tchar[b[0]] {
		return pausedOther
	}
	if n := min(len(b), len(h2Preface)); string(b[:n]) == h2Preface[:n] {
		if n == len(h2Preface) {
			return pausedOther
		}
		return pausedUndecided
	}
	if bytes.IndexByte(b, '\n') < 0 && len(b) < 64 {
		return pausedUndecided
	}
	if LooksLikeRequest(b) {
		return pausedHTTP
	}
	return pausedOther
}
