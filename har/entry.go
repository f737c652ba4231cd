package har

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/corscope/corscope/storage"
)

// decoder turns the bytes of one HAR entry into an Exchange. It keeps the
// state that spans entries: interned header names, connection numbering.
type decoder struct {
	maxBody int64 // < 0: bodies are not stored
	p       parser
	intern  map[string]string
	conns   map[string]int64
	b64     []byte // scratch for escaped base64 text
}

const (
	maxInterned = 8192
	maxConnKeys = 1 << 16
	// stringConnBase numbers connections whose producer id is not an
	// integer (Fiddler "ClientPort:…", mitmproxy UUIDs) above any integer
	// id a producer writes, so the two kinds never collide.
	stringConnBase = 1 << 40
)

func newDecoder(maxBody int64) *decoder {
	return &decoder{maxBody: maxBody, intern: make(map[string]string, 256), conns: make(map[string]int64)}
}

// body is a body as it appears in the entry, decoded only when the entry
// is complete and only as far as the cap.
type body struct {
	raw     []byte
	escaped bool
	base64  bool
	present bool
}

// entryFields holds what is read from an entry before it is mapped.
type entryFields struct {
	started, startedOK  bool
	startedText         string
	total               float64
	hasTotal            bool
	req, resp           body
	reqBodySize         float64
	contentSize         float64
	hasContentSize      bool
	hasRequest, hasResp bool
	status              float64
	hasStatus           bool
	failure             string
	reqVersion          string
	respVersion         string
	serverIP            string
	serverPort          float64
	connection          string
	connectionID        string
	initiatorType       string
	initiatorRequestID  string
	timings             [5]float64 // blocked, dns, connect, send, wait
	hasTimings          bool
}

func (d *decoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < maxInterned && len(b) <= 64 {
		d.intern[s] = s
	}
	return s
}

// istr reads a short string value through the intern table.
func (d *decoder) istr() string {
	p := &d.p
	if p.peek() == '"' {
		raw, esc := p.rawString()
		if !esc {
			return d.str(raw)
		}
		p.scratch = unescape(p.scratch[:0], raw, -1)
		return d.str(p.scratch)
	}
	return p.str()
}

// entry decodes one entry. data is only valid during the call.
func (d *decoder) entry(data []byte, base int64, index int) (*storage.Exchange, error) {
	p := &d.p
	p.data, p.pos, p.base, p.err = data, 0, base, nil
	ex := &storage.Exchange{EntryIndex: index, Offset: base}
	var f entryFields
	if !p.open('{') {
		if p.err != nil {
			return nil, p.err
		}
		return nil, fmt.Errorf("entry is not an object")
	}
	first := true
	for p.more('}', &first) {
		k := p.key()
		switch string(k) {
		case "startedDateTime":
			f.startedText = p.str()
			f.started = true
		case "time":
			f.total, f.hasTotal = p.num()
		case "request":
			f.hasRequest = d.request(ex, &f)
		case "response":
			f.hasResp = d.response(ex, &f)
		case "timings":
			d.timings(&f)
		case "serverIPAddress":
			f.serverIP = p.str()
		case "connection":
			f.connection = p.str()
		case "_connectionId":
			f.connectionID = p.str()
		case "_serverPort":
			f.serverPort, _ = p.num()
		case "_resourceType":
			ex.ResourceType = strings.ToLower(d.istr())
		case "_initiator":
			d.initiator(&f)
		case "_fromCache":
			ex.FromCache = p.boolean()
		case "_requestId", "_request_id", "_requestID", "_requestid":
			ex.SourceRequestID = p.str()
		case "_error", "_failureText":
			f.failure = p.str()
		default:
			p.skip()
		}
	}
	if p.err == nil && p.pos < len(data) {
		p.ws()
		if p.pos < len(data) {
			p.fail("data after the entry object")
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	d.finish(ex, &f)
	// scratch grown by one huge string is not kept for the whole file
	if cap(p.scratch) > scratchKeep {
		p.scratch = nil
	}
	if cap(d.b64) > scratchKeep {
		d.b64 = nil
	}
	return ex, nil
}

const scratchKeep = 4 << 20

func (d *decoder) request(ex *storage.Exchange, f *entryFields) bool {
	p := &d.p
	if !p.open('{') {
		return false
	}
	first := true
	for p.more('}', &first) {
		switch string(p.key()) {
		case "method":
			ex.Method = d.istr()
		case "url":
			splitURL(ex, p.str())
		case "httpVersion":
			f.reqVersion = d.istr()
		case "headers":
			ex.RequestHeaders = d.headers()
		case "postData":
			d.postData(&f.req)
		case "bodySize":
			f.reqBodySize, _ = p.num()
		default:
			p.skip()
		}
	}
	return true
}

func (d *decoder) response(ex *storage.Exchange, f *entryFields) bool {
	p := &d.p
	if !p.open('{') {
		return false
	}
	first := true
	for p.more('}', &first) {
		switch string(p.key()) {
		case "status":
			f.status, f.hasStatus = p.num()
		case "statusText":
			ex.StatusText = d.istr()
		case "httpVersion":
			f.respVersion = d.istr()
		case "headers":
			ex.ResponseHeaders = d.headers()
		case "content":
			d.content(f)
		case "_error", "_failureText":
			if s := p.str(); s != "" {
				f.failure = s
			}
		default:
			p.skip()
		}
	}
	return true
}

func (d *decoder) headers() storage.Headers {
	p := &d.p
	if !p.open('[') {
		return nil
	}
	var hs storage.Headers
	first := true
	for p.more(']', &first) {
		if !p.open('{') {
			continue
		}
		var h storage.Header
		ofirst := true
		for p.more('}', &ofirst) {
			switch string(p.key()) {
			case "name":
				h.Name = d.istr()
			case "value":
				h.Value = d.istr()
			default:
				p.skip()
			}
		}
		if hs == nil {
			hs = make(storage.Headers, 0, 16)
		}
		hs = append(hs, h)
	}
	return hs
}

func (d *decoder) postData(b *body) {
	p := &d.p
	if !p.open('{') {
		return
	}
	first := true
	for p.more('}', &first) {
		switch string(p.key()) {
		case "text":
			d.bodyText(b)
		case "encoding":
			b.base64 = strings.EqualFold(p.str(), "base64")
		default:
			p.skip()
		}
	}
}

func (d *decoder) content(f *entryFields) {
	p := &d.p
	if !p.open('{') {
		return
	}
	first := true
	for p.more('}', &first) {
		switch string(p.key()) {
		case "text":
			d.bodyText(&f.resp)
		case "encoding":
			f.resp.base64 = strings.EqualFold(p.str(), "base64")
		case "size":
			f.contentSize, f.hasContentSize = p.num()
		default:
			p.skip()
		}
	}
}

func (d *decoder) bodyText(b *body) {
	p := &d.p
	if p.peek() != '"' {
		p.skip() // null or a stray type: no body
		return
	}
	b.raw, b.escaped = p.rawString()
	b.present = true
}

func (d *decoder) timings(f *entryFields) {
	p := &d.p
	if !p.open('{') {
		return
	}
	f.hasTimings = true
	first := true
	for p.more('}', &first) {
		idx := -1
		switch string(p.key()) {
		case "blocked":
			idx = 0
		case "dns":
			idx = 1
		case "connect":
			idx = 2
		case "send":
			idx = 3
		case "wait":
			idx = 4
		default:
			p.skip()
			continue
		}
		f.timings[idx], _ = p.num()
	}
}

func (d *decoder) initiator(f *entryFields) {
	p := &d.p
	if !p.open('{') {
		return
	}
	first := true
	for p.more('}', &first) {
		switch string(p.key()) {
		case "type":
			f.initiatorType = strings.ToLower(p.str())
		case "requestId":
			f.initiatorRequestID = p.str()
		default:
			p.skip()
		}
	}
}

// finish maps the collected fields onto ex.
func (d *decoder) finish(ex *storage.Exchange, f *entryFields) {
	if !f.hasRequest {
		ex.AddWarning("entry has no request object")
	}
	if f.started {
		if t, ok := parseTime(f.startedText); ok {
			ex.Started = t
		} else {
			ex.AddWarning(fmt.Sprintf("invalid startedDateTime %q", truncate(f.startedText, 64)))
		}
	} else {
		ex.AddWarning("entry has no startedDateTime")
	}
	ex.TLS = ex.Scheme == "https" || ex.Scheme == "wss"

	ex.Proto = normalizeProto(f.respVersion)
	if ex.Proto == "" {
		ex.Proto = normalizeProto(f.reqVersion)
	}

	status := int(f.status)
	switch {
	case !f.hasResp:
		ex.Status = 0
		ex.AddWarning(noResponse("entry has no response object", f.failure))
	case !f.hasStatus || status <= 0:
		ex.Status = 0
		ex.AddWarning(noResponse(fmt.Sprintf("request blocked or aborted (HAR status %d)", status), f.failure))
	case status > 999:
		ex.Status = 0
		ex.AddWarning(fmt.Sprintf("invalid HAR status %d", status))
	default:
		ex.Status = status
		if f.failure != "" {
			// Chrome's _error on an answered request: the body was cut
			ex.AddWarning("request failed after the response began: " + truncate(f.failure, 200))
		}
	}

	if !ex.Started.IsZero() && ex.Status > 0 {
		if f.hasTotal && f.total > 0 {
			ex.Ended = ex.Started.Add(msDuration(f.total))
		} else {
			ex.Ended = ex.Started
		}
		if f.hasTimings {
			var before float64
			for _, t := range f.timings {
				if t > 0 {
					before += t
				}
			}
			rs := ex.Started.Add(msDuration(before))
			if rs.After(ex.Ended) {
				rs = ex.Ended
			}
			ex.RespStarted = rs
		}
	}

	if f.initiatorType == "preflight" || ex.ResourceType == "preflight" {
		ex.InitiatorRequestID = f.initiatorRequestID
	}
	if ex.Status == 101 {
		ex.Upgrade = "websocket"
		if u := ex.ResponseHeaders.Value("Upgrade"); u != "" && !strings.EqualFold(u, "websocket") {
			ex.Upgrade = strings.ToLower(strings.TrimSpace(u))
		}
	} else if ex.ResourceType == "websocket" || ex.Scheme == "ws" || ex.Scheme == "wss" {
		ex.Upgrade = "websocket"
	}

	ex.Server = serverAddr(f.serverIP, f.serverPort, ex.Port)
	ex.ConnNo = d.connNo(f, ex.Port)

	var warn string
	ex.RequestBody, ex.RequestBodySize, warn = d.decodeBody(&f.req)
	if warn != "" {
		ex.AddWarning("request " + warn)
	}
	if !f.req.present && f.reqBodySize > 0 {
		ex.RequestBodySize = int64(f.reqBodySize)
	} else if int64(f.reqBodySize) > ex.RequestBodySize {
		ex.RequestBodySize = int64(f.reqBodySize)
	}
	ex.ResponseBody, ex.ResponseBodySize, warn = d.decodeBody(&f.resp)
	if warn != "" {
		ex.AddWarning("response " + warn)
	}
	if f.hasContentSize && int64(f.contentSize) > ex.ResponseBodySize {
		// Firefox cuts bodies over ~1 MB but keeps the real size
		ex.ResponseBodySize = int64(f.contentSize)
	}
}

func noResponse(why, failure string) string {
	w := "no response: " + why
	if failure != "" {
		w += ": " + truncate(failure, 200)
	}
	return w
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// serverAddr joins serverIPAddress and a port. Chrome may leave IPv6
// brackets in place; some producers already include a port.
func serverAddr(ip string, serverPort float64, urlPort int) string {
	ip = strings.TrimSpace(ip)
	if ip == "" {
		return ""
	}
	if h, p, err := net.SplitHostPort(ip); err == nil && net.ParseIP(h) != nil {
		return net.JoinHostPort(h, p)
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	port := urlPort
	if serverPort > 0 && serverPort < 65536 {
		port = int(serverPort)
	}
	if port == 0 {
		return ip
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

// connNo numbers the entry's connection: Chrome's _connectionId first,
// else the standard "connection" field unless it only holds the server
// port (Firefox and recent Chrome write the port there).
func (d *decoder) connNo(f *entryFields, urlPort int) int64 {
	key := f.connectionID
	if key == "" {
		key = f.connection
		if key == strconv.Itoa(urlPort) || f.serverPort > 0 && key == strconv.Itoa(int(f.serverPort)) {
			return 0
		}
	}
	if key == "" || key == "0" {
		return 0
	}
	if n, err := strconv.ParseInt(key, 10, 64); err == nil && n > 0 && n < stringConnBase {
		return n
	}
	if n, ok := d.conns[key]; ok {
		return n
	}
	if len(d.conns) >= maxConnKeys {
		return 0
	}
	n := stringConnBase + int64(len(d.conns)) + 1
	d.conns[key] = n
	return n
}

// decodeBody resolves escapes and base64 of a body up to the cap and
// returns the stored bytes and the full decoded size.
func (d *decoder) decodeBody(b *body) (data []byte, size int64, warn string) {
	if !b.present {
		return nil, 0, ""
	}
	if !b.base64 {
		if b.escaped {
			size = unescapedLen(b.raw)
		} else {
			size = int64(len(b.raw))
		}
		if d.maxBody < 0 || size == 0 {
			return nil, size, ""
		}
		n := min(size, d.maxBody)
		if b.escaped {
			return unescape(make([]byte, 0, n), b.raw, int(n)), size, ""
		}
		return append(make([]byte, 0, n), b.raw[:n]...), size, ""
	}
	text := b.raw
	if b.escaped {
		d.b64 = unescape(d.b64[:0], b.raw, -1)
		text = d.b64
	}
	sent := text
	if hasB64Space(text) {
		buf := d.b64
		if b.escaped {
			buf = nil
		}
		buf = buf[:0]
		for _, c := range text {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				buf = append(buf, c)
			}
		}
		d.b64 = buf
		text = buf
	}
	enc := pickEncoding(text)
	if enc == nil {
		return d.keepSent(sent)
	}
	size = int64(enc.DecodedLen(len(text)))
	if enc == base64.StdEncoding || enc == base64.URLEncoding {
		size -= int64(trailingPad(text))
	}
	if d.maxBody < 0 || size == 0 {
		return nil, size, ""
	}
	want := min(size, d.maxBody)
	// decode only the quads needed for the cap: lazy for large bodies
	chunk := text
	if need := (want + 2) / 3 * 4; need < int64(len(text)) {
		chunk = text[:need]
	}
	out := make([]byte, enc.DecodedLen(len(chunk)))
	n, err := enc.Decode(out, chunk)
	if err != nil {
		return d.keepSent(sent)
	}
	if int64(n) > want {
		n = int(want)
	}
	return out[:n], size, ""
}

// keepSent stores a body marked base64 that is not, as the text it is.
func (d *decoder) keepSent(text []byte) ([]byte, int64, string) {
	const warn = "body: invalid base64, kept as sent"
	size := int64(len(text))
	if d.maxBody < 0 {
		return nil, size, warn
	}
	return append([]byte(nil), text[:min(size, d.maxBody)]...), size, warn
}

func hasB64Space(b []byte) bool {
	for _, c := range b {
		if c == '\r' || c == '\n' || c == ' ' || c == '\t' {
			return true
		}
	}
	return false
}

func trailingPad(b []byte) int {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i] == '='; i-- {
		n++
	}
	return n
}

// pickEncoding chooses the base64 alphabet by the text's characters and
// padding; nil when it is not base64 at all.
func pickEncoding(b []byte) *base64.Encoding {
	body := b[:len(b)-trailingPad(b)]
	var seen byte
	for _, c := range body {
		seen |= b64Class[c]
	}
	if seen&b64Bad != 0 || seen&b64Std != 0 && seen&b64URL != 0 {
		return nil
	}
	url := seen&b64URL != 0
	padded := len(b) != len(body)
	if len(b)%4 != 0 {
		if padded {
			return nil
		}
		if url {
			return base64.RawURLEncoding
		}
		return base64.RawStdEncoding
	}
	if url {
		return base64.URLEncoding
	}
	return base64.StdEncoding
}

const (
	b64Std = 1 << iota
	b64URL
	b64Bad
)

// b64Class marks each byte: 0 for letters and digits, else the alphabet
// it belongs to or b64Bad.
var b64Class = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '+' || c == '/':
			t[i] = b64Std
		case c == '-' || c == '_':
			t[i] = b64URL
		default:
			t[i] = b64Bad
		}
	}
	return t
}()
