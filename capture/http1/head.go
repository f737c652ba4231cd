package http1

import (
	"strconv"
	"strings"

	"github.com/corscope/corscope/storage"
)

// headInfo is what framing and the exchange need from a header section.
type headInfo struct {
	headers storage.Headers

	contentLength int64 // -1: absent
	clBad         bool  // present but not a valid number
	clConflict    bool  // several different values
	clDup         bool  // several equal values

	te        []string // Transfer-Encoding values, wire order
	ce        []string // Content-Encoding values, wire order
	host      string
	hostCount int
	upgrade   string
	connUpg   bool // Connection: upgrade
	expect100 bool

	warnings []string
	noted    [noteKinds]int // per kind of line-level anomaly: how many
	noteAt   [noteKinds]int // index in warnings of its first instance
}

// Line-level anomalies: the first of each kind is described, the rest
// counted, so a hostile head cannot produce thousands of warnings.
const (
	noteOrphanFold = iota
	noteFold
	noteMalformed
	noteSpaceColon
	noteKinds
)

func (hi *headInfo) note(kind int, w string) {
	if hi.noted[kind] == 0 {
		hi.noteAt[kind] = len(hi.warnings)
		hi.warnings = append(hi.warnings, w)
	}
	hi.noted[kind]++
}

// parseFields parses the header lines of block, starting at offset from
// (just after the start line), up to the blank line. Names and values are
// substrings of block, so a header section costs one string allocation.
// nls, when not nil, holds the offsets of the line feeds ending the start
// line and each field line, as found while scanning for the head's end.
func parseFields(block string, from int, nls []int32, maxHeaders int, isResp bool) headInfo {
	hi := headInfo{contentLength: -1}
	if nls != nil {
		hi.headers = make(storage.Headers, 0, min(len(nls)-1, maxHeaders))
		nls = nls[1:]
	} else {
		hi.headers = make(storage.Headers, 0, min(strings.Count(block[from:], "\n"), maxHeaders))
	}
	last := -1   // index in hi.headers of the last field, for obs-fold
	lastVal := 0 // offset in block where the last field's value starts
	dropped := 0 // fields over maxHeaders
	folded := -1 // last field noted for obs-fold
	i := from
	for i < len(block) {
		end, next := len(block), len(block)
		if nls != nil {
			if len(nls) == 0 {
				break
			}
			end, next = int(nls[0]), int(nls[0])+1
			nls = nls[1:]
		} else if nl := strings.IndexByte(block[i:], '\n'); nl >= 0 {
			end, next = i+nl, i+nl+1
		}
		lineEnd := end
		if lineEnd > i && block[lineEnd-1] == '\r' {
			lineEnd--
		}
		line := block[i:lineEnd]
		start := i
		i = next
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last < 0 {
				hi.note(noteOrphanFold, "continuation line without a header field ignored")
				continue
			}
			// obs-fold: keep the value exactly as sent, line break included.
			hi.headers[last].Value = trimOWS(block[lastVal:lineEnd])
			if folded != last { // one note per folded field, however many lines
				hi.note(noteFold, "obs-fold line folded into header "+hi.headers[last].Name)
				folded = last
			}
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			hi.note(noteMalformed, "malformed header line ignored: "+quoteCut(line))
			last = -1
			continue
		}
		name := line[:colon]
		if c := name[len(name)-1]; c == ' ' || c == '\t' {
			hi.note(noteSpaceColon, "whitespace before colon in header "+quoteCut(name))
		}
		value := trimOWS(line[colon+1:])
		hi.classify(name, value, isResp)
		if len(hi.headers) >= maxHeaders {
			dropped++
			last = -1
			continue
		}
		hi.headers = append(hi.headers, storage.Header{Name: name, Value: value})
		last = len(hi.headers) - 1
		lastVal = start + colon + 1
	}
	for i, n := range hi.noted {
		if n > 1 {
			hi.warnings[hi.noteAt[i]] += " (and " + strconv.Itoa(n-1) + " more)"
		}
	}
	if dropped > 0 {
		hi.warnings = append(hi.warnings, "header fields over the cap of "+strconv.Itoa(maxHeaders)+" skipped: "+strconv.Itoa(dropped))
	}
	if hi.clConflict {
		hi.warnings = append(hi.warnings, "conflicting Content-Length values")
	} else if hi.clDup {
		hi.warnings = append(hi.warnings, "duplicate Content-Length")
	}
	if hi.clBad {
		hi.warnings = append(hi.warnings, "invalid Content-Length")
	}
	return hi
}

// classify picks out the fields that decide framing and routing.
func (hi *headInfo) classify(name, value string, isResp bool) {
	switch len(name) {
	case 4:
		if !isResp && equalFoldLower(name, "host") {
			if hi.hostCount == 0 {
				hi.host = value
			}
			hi.hostCount++
		}
	case 6:
		if !isResp && equalFoldLower(name, "expect") && equalFoldLower(value, "100-continue") {
			hi.expect100 = true
		}
	case 7:
		if equalFoldLower(name, "upgrade") && hi.upgrade == "" {
			hi.upgrade = value
		}
	case 10:
		if equalFoldLower(name, "connection") && hasToken(value, "upgrade") {
			hi.connUpg = true
		}
	case 14:
		if equalFoldLower(name, "content-length") {
			hi.addContentLength(value)
		}
	case 16:
		if equalFoldLower(name, "content-encoding") {
			hi.ce = append(hi.ce, value)
		}
	case 17:
		if equalFoldLower(name, "transfer-encoding") {
			hi.te = append(hi.te, value)
		}
	}
}

// addContentLength accepts "n" and the "n, n" lists some proxies produce.
func (hi *headInfo) addContentLength(v string) {
	for {
		item, rest, more := strings.Cut(v, ",")
		n, ok := parseDecimal(trimOWS(item))
		switch {
		case !ok:
			hi.clBad = true
		case hi.contentLength < 0:
			hi.contentLength = n
		case hi.contentLength == n:
			hi.clDup = true
		default:
			hi.clConflict = true
		}
		if !more {
			return
		}
		v = rest
	}
}

func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// chunked reports whether the final transfer coding is chunked, and whether
// any Transfer-Encoding is present at all.
func (hi *headInfo) chunked() (chunked, present bool) {
	if len(hi.te) == 0 {
		return false, false
	}
	return equalFoldLower(lastToken(hi.te[len(hi.te)-1]), "chunked"), true
}

// transferCodings returns the transfer codings other than chunked, in order applied.
func (hi *headInfo) transferCodings() []string {
	var out []string
	for _, v := range hi.te {
		for _, item := range strings.Split(v, ",") {
			item = strings.ToLower(trimOWS(item))
			if item != "" && item != "chunked" && item != "identity" {
				out = append(out, item)
			}
		}
	}
	return out
}

// quoteCut quotes s for a warning, cut to a readable length.
func quoteCut(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

// splitHostPort splits a Host value or an authority: "h", "h:p", "[v6]:p".
// port is 0 when absent or invalid.
func splitHostPort(hp string) (host string, port int, badPort bool) {
	if at := strings.LastIndexByte(hp, '@'); at >= 0 { // userinfo in absolute-form
		hp = hp[at+1:]
	}
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return hp, 0, false
		}
		host, rest := hp[1:end], hp[end+1:]
		if strings.HasPrefix(rest, ":") {
			p, ok := parsePort(rest[1:])
			return host, p, !ok
		}
		return host, 0, false
	}
	i := strings.LastIndexByte(hp, ':')
	if i < 0 || strings.Count(hp, ":") > 1 { // bare IPv6 without brackets: no port
		return hp, 0, false
	}
	p, ok := parsePort(hp[i+1:])
	return hp[:i], p, !ok
}

func parsePort(s string) (int, bool) {
	if s == "" {
		return 0, true // "host:" means default port
	}
	n, ok := parseDecimal(s)
	if !ok || n > 65535 {
		return 0, false
	}
	return int(n), true
}
