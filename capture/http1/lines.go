package http1

import (
	"bytes"
	"strings"
)

// tchar reports whether c may appear in a token (RFC 9110 §5.6.2).
var tchar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// knownMethods are the methods accepted as a resynchronisation point: after a
// gap, an arbitrary token followed by a space is too weak a signal.
var knownMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH",
	"CONNECT", "TRACE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
	"UNLOCK", "SEARCH", "REPORT", "PURGE"}

const maxMethodLen = 32

func isKnownMethod(m []byte) bool {
	for _, k := range knownMethods {
		if string(m) == k {
			return true
		}
	}
	return false
}

// knownMethodPrefix reports whether b is a prefix of some known method
// followed by a space (b may be cut short).
func knownMethodPrefix(b []byte) bool {
	for _, k := range knownMethods {
		if len(b) <= len(k) {
			if string(b) == k[:len(b)] {
				return true
			}
		} else if string(b[:len(k)]) == k && b[len(k)] == ' ' {
			return true
		}
	}
	return false
}

// requestLine is a parsed request line; the strings alias the line.
type requestLine struct {
	method, target, version string
	h09                     bool // "GET /path" without a version
	oddSpaces               bool // target contained spaces: kept, flagged
}

// parseRequestLine splits "METHOD SP target SP HTTP/x.y". line excludes the
// line feed; a trailing CR is ignored.
func parseRequestLine(line string) (rl requestLine, ok bool) {
	sh, ok := requestLineShape(line)
	if !ok {
		return rl, false
	}
	rl.method = line[:sh.methodEnd]
	rl.target = line[sh.targetStart:sh.targetEnd]
	if sh.versionStart > 0 {
		rl.version = line[sh.versionStart : sh.versionStart+8]
	}
	rl.h09 = sh.versionStart == 0
	rl.oddSpaces = sh.oddSpaces
	return rl, true
}

// lenientRequestLine splits a malformed request line as a server would
// most likely have read it: first word, last word if it is a version, and
// the rest as the target.
func lenientRequestLine(line string) (rl requestLine) {
	line = strings.TrimSuffix(line, "\r")
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		rl.method, rl.h09 = line, !strings.Contains(line, "HTTP/")
		return rl
	}
	rl.method = line[:sp]
	rest := strings.Trim(line[sp+1:], " ")
	if last := strings.LastIndexByte(rest, ' '); last >= 0 && strings.HasPrefix(rest[last+1:], "HTTP/") {
		rl.version = rest[last+1:]
		rest = strings.TrimRight(rest[:last], " ")
	} else if strings.HasPrefix(rest, "HTTP/") {
		rl.version, rest = rest, ""
	}
	rl.target = rest
	rl.h09 = !strings.Contains(line, "HTTP/") // as the head scanner decided
	return rl
}

// lineShape holds the offsets of a request line's parts.
type lineShape struct {
	methodEnd, targetStart, targetEnd, versionStart int // versionStart 0: HTTP/0.9
	oddSpaces                                       bool
}

// requestLineShape validates a request line held in a string or in bytes
// (the parser checks lines in place before anything is copied).
func requestLineShape[T string | []byte](line T) (sh lineShape, ok bool) {
	n := len(line)
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	sp := -1
	for i := 0; i < n && i <= maxMethodLen; i++ {
		if line[i] == ' ' {
			sp = i
			break
		}
		if !tchar[line[i]] {
			return sh, false
		}
	}
	if sp <= 0 {
		return sh, false
	}
	sh.methodEnd, sh.targetStart = sp, sp+1
	last := -1
	for i := sp + 1; i < n; i++ {
		c := line[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return sh, false
		}
		if c == ' ' {
			last = i
		}
	}
	if last >= 0 && n-last-1 == 8 && isVersionAt(line, last+1) {
		end := last
		for end > sh.targetStart && line[end-1] == ' ' {
			end--
		}
		sh.targetEnd, sh.versionStart = end, last+1
		for i := sh.targetStart; i < end; i++ {
			if line[i] == ' ' {
				sh.oddSpaces = true
				break
			}
		}
		return sh, end > sh.targetStart
	}
	// HTTP/0.9: only GET, one token target, no version.
	if sp == 3 && line[0] == 'G' && line[1] == 'E' && line[2] == 'T' && last < 0 && n > sp+1 {
		sh.targetEnd = n
		return sh, true
	}
	return sh, false
}

func isVersionAt[T string | []byte](v T, i int) bool {
	return len(v)-i >= 8 && v[i] == 'H' && v[i+1] == 'T' && v[i+2] == 'T' && v[i+3] == 'P' && v[i+4] == '/' &&
		isDigit(v[i+5]) && v[i+6] == '.' && isDigit(v[i+7])
}

// isVersion matches HTTP/d.d.
func isVersion(v string) bool {
	return len(v) == 8 && v[:5] == "HTTP/" && isDigit(v[5]) && v[6] == '.' && isDigit(v[7])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// statusLine is a parsed status line; the strings alias the line.
type statusLine struct {
	version string
	code    int
	reason  string
}

// parseStatusLine splits "HTTP/x.y SP ddd [SP reason]".
func parseStatusLine(line string) (sl statusLine, ok bool) {
	line = strings.TrimSuffix(line, "\r")
	if len(line) < 12 || !isVersion(line[:8]) || line[8] != ' ' {
		return sl, false
	}
	c := line[9:12]
	if !isDigit(c[0]) || !isDigit(c[1]) || !isDigit(c[2]) || c[0] == '0' {
		return sl, false
	}
	if len(line) > 12 && line[12] != ' ' {
		return sl, false
	}
	sl.version = line[:8]
	sl.code = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	if len(line) > 13 {
		sl.reason = line[13:]
	}
	return sl, true
}

// LooksLikeRequest reports whether b starts with an HTTP/1.x request line
// (or an HTTP/0.9 "GET /path" line). When b ends before the line does, the
// part present must be consistent and the method a well-known one.
func LooksLikeRequest(b []byte) bool {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return false
	}
	if sp == 0 || sp > maxMethodLen {
		return false
	}
	for _, c := range b[:sp] {
		if !tchar[c] {
			return false
		}
	}
	known := isKnownMethod(b[:sp])
	rest := b[sp+1:]
	end := bytes.IndexByte(rest, '\n')
	if end < 0 {
		// Cut short: everything present must be printable.
		for _, c := range rest {
			if c < 0x20 && c != '\t' && c != '\r' || c == 0x7f {
				return false
			}
		}
		return known && len(rest) > 0
	}
	_, ok := requestLineShape(b[:sp+1+end])
	return ok
}

// LooksLikeResponse reports whether b starts with an HTTP/1.x status line, or
// with a consistent prefix of one when b holds fewer than 12 bytes (at least 5).
func LooksLikeResponse(b []byte) bool {
	const pat = "HTTP/d.d ddd"
	if len(b) < 5 {
		return false
	}
	n := min(len(b), len(pat))
	for i := 0; i < n; i++ {
		switch pat[i] {
		case 'd':
			if !isDigit(b[i]) {
				return false
			}
		default:
			if b[i] != pat[i] {
				return false
			}
		}
	}
	if len(b) > 9 && b[9] == '0' {
		return false
	}
	return len(b) <= 12 || b[12] == ' ' || b[12] == '\r' || b[12] == '\n'
}

// trimOWS strips optional whitespace (SP, HTAB) at both ends.
func trimOWS(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// equalFoldLower compares s with lower, an all-lower-case ASCII string.
func equalFoldLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v contains tok (case-insensitive).
func hasToken(v, tok string) bool {
	for len(v) > 0 {
		item := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		if equalFoldLower(trimOWS(item), tok) {
			return true
		}
	}
	return false
}

// lastToken returns the last non-empty item of a comma-separated list,
// trimmed (RFC 9110 §5.6.1: empty list elements do not count).
func lastToken(v string) string {
	for {
		i := strings.LastIndexByte(v, ',')
		if t := trimOWS(v[i+1:]); t != "" || i < 0 {
			return t
		}
		v = v[:i]
	}
}

func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
