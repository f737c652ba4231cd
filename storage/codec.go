package storage

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Header lists and string lists are stored as JSON arrays so that sqlite3
// users can query them with json_each. Encoding and decoding are
// hand-written: they sit on the ingest and analysis hot paths, and
// encoding/json's reflection costs several times more.

// appendJSONString appends s as a JSON string. Invalid UTF-8 bytes become
// \u00XX escapes of the Latin-1 code point: visible, though not exact (header
// pairs with such bytes take the exact base64 form instead).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// EncodeHeaders returns h as a JSON array of [name, value] pairs.
func EncodeHeaders(h Headers) string {
	if len(h) == 0 {
		return "[]"
	}
	n := 2
	for _, f := range h {
		n += len(f.Name) + len(f.Value) + 8
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, f := range h {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		if utf8.ValidString(f.Name) && utf8.ValidString(f.Value) {
			b = appendJSONString(b, f.Name)
			b = append(b, ',')
			b = appendJSONString(b, f.Value)
		} else {
			// JSON strings cannot carry raw bytes: such a pair is written
			// base64-encoded and marked, so the wire bytes survive exactly.
			b = appendJSONString(b, base64.StdEncoding.EncodeToString([]byte(f.Name)))
			b = append(b, ',')
			b = appendJSONString(b, base64.StdEncoding.EncodeToString([]byte(f.Value)))
			b = append(b, `,"base64"`...)
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	return string(b)
}

// encodeStrings returns a JSON array of s, or nil (SQL NULL) when empty.
func encodeStrings(s []string) any {
	if len(s) == 0 {
		return nil
	}
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, x := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, x)
	}
	return string(append(b, ']'))
}

var errCodec = errors.New("malformed JSON list")

type jsonScanner struct {
	s string
	i int
}

func (p *jsonScanner) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonScanner) expect(c byte) error {
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != c {
		return errCodec
	}
	p.i++
	return nil
}

func (p *jsonScanner) peek() byte {
	p.skipSpace()
	if p.i >= len(p.s) {
		return 0
	}
	return p.s[p.i]
}

func (p *jsonScanner) str() (string, error) {
	if err := p.expect('"'); err != nil {
		return "", err
	}
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			v := p.s[start:p.i]
			p.i++
			return v, nil
		case '\\':
			// Escapes are rare: hand the whole string to strconv.
			end := p.i
			for end < len(p.s) {
				if p.s[end] == '\\' {
					end += 2
					continue
				}
				if p.s[end] == '"' {
					break
				}
				end++
			}
			if end >= len(p.s) {
				return "", errCodec
			}
			var v string
			if err := json.Unmarshal([]byte(p.s[start-1:end+1]), &v); err != nil {
				return "", errCodec
			}
			// json.Unmarshal maps \u00XX to the code point; for invalid
			// bytes we wrote as \u00XX this yields their Latin-1 rune.
			p.i = end + 1
			return v, nil
		default:
			p.i++
		}
	}
	return "", errCodec
}

// DecodeHeaders parses the JSON written by EncodeHeaders.
func DecodeHeaders(s string) (Headers, error) {
	p := jsonScanner{s: s}
	if err := p.expect('['); err != nil {
		return nil, err
	}
	if p.peek() == ']' {
		return nil, nil
	}
	// Each pair opens with '[': counting them sizes the slice exactly (an
	// overestimate only when a value holds '[').
	h := make(Headers, 0, strings.Count(s, "[")-1)
	for {
		if err := p.expect('['); err != nil {
			return nil, err
		}
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
		value, err := p.str()
		if err != nil {
			return nil, err
		}
		if p.peek() == ',' {
			p.i++
			mark, err := p.str()
			if err != nil || mark != "base64" {
				return nil, errCodec
			}
			n, err1 := base64.StdEncoding.DecodeString(name)
			v, err2 := base64.StdEncoding.DecodeString(value)
			if err1 != nil || err2 != nil {
				return nil, errCodec
			}
			name, value = string(n), string(v)
		}
		if err := p.expect(']'); err != nil {
			return nil, err
		}
		h = append(h, Header{Name: name, Value: value})
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			return h, nil
		default:
			return nil, errCodec
		}
	}
}

func decodeStrings(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	p := jsonScanner{s: s}
	if err := p.expect('['); err != nil {
		return nil, err
	}
	if p.peek() == ']' {
		return nil, nil
	}
	var out []string
	for {
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			return out, nil
		default:
			return nil, errCodec
		}
	}
}

func encodeInt64s(ids []int64) string {
	b := make([]byte, 0, len(ids)*6+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
