package har

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// parser is a pull parser over one JSON value held in memory (an entry).
// Errors are sticky: after the first one every method returns zero values,
// so decoding code reads straight through and checks p.err once.
type parser struct {
	data    []byte
	pos     int
	base    int64 // input offset of data[0], for error messages
	err     error
	scratch []byte // unescape buffer, reused
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &syntaxError{off: p.base + int64(p.pos), msg: fmt.Sprintf(format, args...)}
	}
}

func (p *parser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\n', '\r', '\t':
			p.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end or after an error.
func (p *parser) peek() byte {
	if p.err != nil {
		return 0
	}
	p.ws()
	if p.pos >= len(p.data) {
		return 0
	}
	return p.data[p.pos]
}

func (p *parser) unexpected(want string) {
	if p.pos >= len(p.data) {
		p.fail("unexpected end of entry looking for %s", want)
		return
	}
	p.fail("invalid character %s looking for %s", quoteByte(p.data[p.pos]), want)
}

// open consumes '{' (or '[' when c is '[') and reports whether a container
// follows. null and other values are consumed and yield false, so optional
// members of the wrong type are ignored rather than fatal.
func (p *parser) open(c byte) bool {
	switch p.peek() {
	case c:
		p.pos++
		return true
	case 0:
		p.unexpected("a value")
		return false
	}
	p.skip()
	return false
}

// more advances inside an open container: it consumes the separator and
// reports whether another member follows. first must start true.
func (p *parser) more(closer byte, first *bool) bool {
	c := p.peek()
	if c == closer {
		p.pos++
		return false
	}
	if !*first {
		if c != ',' {
			p.unexpected(fmt.Sprintf("',' or '%c'", closer))
			return false
		}
		p.pos++
		if p.peek() == closer {
			p.fail("trailing comma before '%c'", closer)
			return false
		}
	}
	*first = false
	return p.err == nil
}

// key reads an object key and its colon. The result aliases the input or
// the scratch buffer: valid until the next call.
func (p *parser) key() []byte {
	if p.peek() != '"' {
		p.unexpected("an object key")
		return nil
	}
	raw, esc := p.rawString()
	if esc {
		p.scratch = unescape(p.scratch[:0], raw, -1)
		raw = p.scratch
	}
	if p.peek() != ':' {
		p.unexpected("':' after object key")
		return nil
	}
	p.pos++
	return raw
}

// rawString reads a string and returns its bytes between the quotes, not
// unescaped, and whether it contains escapes.
func (p *parser) rawString() (raw []byte, escaped bool) {
	if p.peek() != '"' {
		p.unexpected("a string")
		return nil, false
	}
	p.pos++
	start := p.pos
	d := p.data
	// fast path: no escape before the closing quote
	if q := bytes.IndexByte(d[start:], '"'); q >= 0 && bytes.IndexByte(d[start:start+q], '\\') < 0 {
		p.pos = start + q + 1
		return d[start : start+q], false
	}
	for i := start; i < len(d); i++ {
		// skip to the next quote or backslash
		if c := d[i]; c != '"' && c != '\\' {
			q := bytes.IndexByte(d[i:], '"')
			if q < 0 {
				break
			}
			if bs := bytes.IndexByte(d[i:i+q], '\\'); bs >= 0 {
				i += bs
			} else {
				i += q
			}
		}
		switch d[i] {
		case '"':
			p.pos = i + 1
			return d[start:i], escaped
		case '\\':
			escaped = true
			i++
			if i < len(d) && d[i] == 'u' {
				if i+4 >= len(d) || !isHex4(d[i+1:i+5]) {
					p.pos = i
					p.fail("invalid \\u escape")
					return nil, false
				}
			} else if i < len(d) && !isEscapeChar(d[i]) {
				p.pos = i
				p.fail("invalid escape %s", quoteByte(d[i]))
				return nil, false
			}
		}
	}
	p.pos = len(d)
	p.fail("unterminated string")
	return nil, false
}

func isEscapeChar(c byte) bool {
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	}
	return false
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// str reads a string value. Numbers and booleans come back as their
// literal text and null as "": producers disagree about types.
func (p *parser) str() string {
	switch c := p.peek(); {
	case c == '"':
		raw, esc := p.rawString()
		if esc {
			p.scratch = unescape(p.scratch[:0], raw, -1)
			return string(p.scratch)
		}
		return string(raw)
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f':
		return string(p.literal())
	case c == 'n':
		p.literal()
		return ""
	case c == 0:
		p.unexpected("a string")
		return ""
	}
	p.skip()
	return ""
}

// literal consumes a number, true, false or null and returns its text.
func (p *parser) literal() []byte {
	p.ws()
	start := p.pos
	for p.pos < len(p.data) && isScalarByte(p.data[p.pos]) {
		p.pos++
	}
	lit := p.data[start:p.pos]
	switch string(lit) {
	case "true", "false", "null":
		return lit
	}
	if len(lit) == 0 || !validNumber(lit) {
		p.pos = start
		p.unexpected("a value")
		return nil
	}
	return lit
}

// validNumber checks the JSON number grammar.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(b)
}

// num reads a number (or a string holding one). ok is false for null,
// other types and unparsable text.
func (p *parser) num() (v float64, ok bool) {
	var text []byte
	switch c := p.peek(); {
	case c == '"':
		raw, esc := p.rawString()
		if esc {
			return 0, false
		}
		text = raw
	case c == '-' || c >= '0' && c <= '9':
		text = p.literal()
	case c == 0:
		p.unexpected("a number")
		return 0, false
	default:
		p.skip()
		return 0, false
	}
	if p.err != nil || len(text) == 0 {
		return 0, false
	}
	if n, ok := smallInt(text); ok {
		return float64(n), true
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// smallInt parses short plain integers without going through ParseFloat.
func smallInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// boolean reads true/false; other values count as false, except that a
// non-empty string counts as true (Chrome's _fromCache is "disk").
func (p *parser) boolean() bool {
	switch p.peek() {
	case 't':
		p.literal()
		return true
	case '"':
		raw, _ := p.rawString()
		return len(raw) > 0
	}
	p.skip()
	return false
}

// skip consumes any value, checking its grammar.
func (p *parser) skip() {
	p.skipDepth(0)
}

func (p *parser) skipDepth(depth int) {
	if depth > maxDepth {
		p.fail("nesting deeper than %d", maxDepth)
		return
	}
	switch c := p.peek(); c {
	case '{':
		p.pos++
		first := true
		for p.more('}', &first) {
			p.key()
			p.skipDepth(depth + 1)
		}
	case '[':
		p.pos++
		first := true
		for p.more(']', &first) {
			p.skipDepth(depth + 1)
		}
	case '"':
		p.rawString()
	case 0:
		p.unexpected("a value")
	default:
		p.literal()
	}
}

// unescape appends the JSON string body raw to dst with escapes resolved.
// With max >= 0 it stops appending once dst holds max bytes more than it
// started with, but returns; use unescapedLen to size the whole.
func unescape(dst, raw []byte, max int) []byte {
	limit := len(dst) + max
	for i := 0; i < len(raw); i++ {
		if max >= 0 && len(dst) >= limit {
			return dst[:limit]
		}
		c := raw[i]
		if c != '\\' {
			// copy the run up to the next escape in one go
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j - 1
			continue
		}
		i++
		if i >= len(raw) {
			break
		}
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+4 >= len(raw) {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				i = len(raw)
				break
			}
			r := rune(hex4(raw[i+1 : i+5]))
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2 := rune(hex4(raw[i+3 : i+7]))
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						break
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, raw[i])
		}
	}
	if max >= 0 && len(dst) > limit {
		dst = dst[:limit]
	}
	return dst
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b[:4] {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			n |= int(c-'A') + 10
		}
	}
	return n
}

// unescapedLen returns the length of raw once its escapes are resolved.
func unescapedLen(raw []byte) int64 {
	var n int64
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			j := bytes.IndexByte(raw[i:], '\\')
			if j < 0 {
				return n + int64(len(raw)-i)
			}
			n += int64(j)
			i += j
		}
		i++
		if i >= len(raw) {
			break
		}
		if raw[i] != 'u' || i+4 >= len(raw) {
			n++
			continue
		}
		r := rune(hex4(raw[i+1 : i+5]))
		i += 4
		if utf16.IsSurrogate(r) && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
			if d := utf16.DecodeRune(r, rune(hex4(raw[i+3:i+7]))); d != utf8.RuneError {
				n += int64(utf8.RuneLen(d))
				i += 6
				continue
			}
		}
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
		}
		n += int64(utf8.RuneLen(r))
	}
	return n
}
