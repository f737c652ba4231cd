package har

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// source is a refillable window over the input. It hands out the bytes of
// one JSON value at a time (an entry) and discards what was consumed, so
// memory stays bounded by the largest value captured, never the file.
type source struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of valid data in buf
	base int64 // input offset of buf[0]
	err  error // sticky read error; io.EOF at the end
	mark int   // start of the value being captured, -1 when none
	// maxBuf bounds growth of buf while a value is captured.
	maxBuf int
}

const (
	initialBuf = 256 << 10
	// shrinkAbove: after a large entry the buffer is given back so that one
	// huge entry does not pin its size for the rest of the file.
	shrinkAbove = 8 << 20
)

func newSource(r io.Reader, maxBuf int) *source {
	return &source{r: r, buf: make([]byte, initialBuf), mark: -1, maxBuf: maxBuf}
}

// offset returns the input offset of the next unread byte.
func (s *source) offset() int64 { return s.base + int64(s.pos) }

// fill reads more input, keeping bytes from mark (or pos) on. It returns
// false when nothing more can be read (s.err says why) or the buffer
// cannot grow further (errBufFull).
func (s *source) fill() bool {
	if s.err != nil {
		return false
	}
	keep := s.pos
	if s.mark >= 0 {
		keep = s.mark
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.end])
		s.base += int64(keep)
		s.pos -= keep
		s.end = n
		if s.mark >= 0 {
			s.mark = 0
		}
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.maxBuf {
			return false
		}
		size := 2 * len(s.buf)
		if size > s.maxBuf {
			size = s.maxBuf
		}
		nb := make([]byte, size)
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.err = io.EOF
			} else {
				s.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.err = io.ErrNoProgress
	return false
}

// release drops a large buffer once nothing in it is needed any more.
func (s *source) release() {
	if len(s.buf) <= shrinkAbove || s.mark >= 0 {
		return
	}
	nb := make([]byte, initialBuf)
	rest := s.end - s.pos
	if rest > len(nb) {
		return
	}
	copy(nb, s.buf[s.pos:s.end])
	s.base += int64(s.pos)
	s.buf, s.pos, s.end = nb, 0, rest
}

// readErr turns the sticky read error into the error reported for an
// unfinished value.
func (s *source) readErr() error {
	if s.err == nil || s.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return s.err
}

// peek skips white space and returns the next byte without consuming it.
func (s *source) peek() (byte, error) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				s.pos++
				continue
			}
			return c, nil
		}
		if !s.fill() {
			if s.err == io.EOF {
				return 0, io.EOF
			}
			return 0, s.readErr()
		}
	}
}

// next is peek that also consumes the byte.
func (s *source) next() (byte, error) {
	c, err := s.peek()
	if err == nil {
		s.pos++
	}
	return c, err
}

// syntaxError is a JSON grammar violation at an input offset.
type syntaxError struct {
	off int64
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("syntax error at byte %d: %s", e.off, e.msg) }

func (s *source) syntax(format string, args ...any) error {
	return &syntaxError{off: s.offset(), msg: fmt.Sprintf(format, args...)}
}

// expect consumes the next non-space byte and checks it is c.
func (s *source) expect(c byte, context string) error {
	got, err := s.peek()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if got != c {
		return s.syntax("invalid character %s %s (want %q)", quoteByte(got), context, c)
	}
	s.pos++
	return nil
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf("0x%02x", c)
}

// errTooBig reports a captured value over the caller's limit; the value has
// been skipped to its end.
var errTooBig = errors.New("value too large")

// value scans one JSON value starting at the next non-space byte. With
// limit > 0 the value's bytes are returned (valid until the next call);
// when the value is longer than limit it is skipped instead and errTooBig
// is returned along with its size. With limit == 0 it is only skipped.
// The scan checks strings, bracket nesting and literal characters; the
// grammar inside captured values is checked again by the entry parser.
func (s *source) value(limit int) (data []byte, start, size int64, err error) {
	if _, err = s.peek(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, s.offset(), 0, err
	}
	start = s.offset()
	capturing := limit > 0
	if capturing {
		s.mark = s.pos
	}
	defer func() { s.mark = -1 }()

	var stack []byte // expected closing brackets
	var small [64]byte
	stack = small[:0]
	inString, escaped := false, false
	scalar := false
	for {
		if s.pos >= s.end {
			if capturing && s.pos-s.mark > limit {
				capturing = false
				s.mark = -1
			}
			if !s.fill() {
				if scalar && s.err == io.EOF && len(stack) == 0 {
					// a top-level scalar ends at EOF
					break
				}
				if capturing && s.end == len(s.buf) && s.err == nil {
					// buffer at its cap: continue without capturing
					capturing = false
					s.mark = -1
					continue
				}
				return nil, start, s.offset() - start, s.readErr()
			}
			continue
		}
		buf := s.buf[s.pos:s.end]
		i := 0
		done := false
		for ; i < len(buf); i++ {
			if inString {
				if escaped {
					escaped = false
					continue
				}
				// jump to the closing quote unless an escape comes first
				q := bytes.IndexByte(buf[i:], '"')
				if q < 0 {
					q = len(buf) - i
				}
				if bs := bytes.IndexByte(buf[i:i+q], '\\'); bs >= 0 {
					i += bs
					escaped = true
					continue
				}
				i += q
				if i == len(buf) {
					break
				}
				inString = false
				if len(stack) == 0 {
					i++
					done = true
					break
				}
				continue
			}
			c := buf[i]
			if scalar {
				if isScalarByte(c) {
					continue
				}
				done = true
				break
			}
			switch c {
			case '"':
				inString = true
			case '{':
				stack = append(stack, '}')
			case '[':
				stack = append(stack, ']')
			case '}', ']':
				if len(stack) == 0 || stack[len(stack)-1] != c {
					s.pos += i
					return nil, start, s.offset() - start, s.syntax("unexpected %s", quoteByte(c))
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					i++
					done = true
				}
			case ' ', '\n', '\r', '\t', ',', ':':
				if len(stack) == 0 {
					s.pos += i
					return nil, start, 0, s.syntax("unexpected %s", quoteByte(c))
				}
			default:
				if !isScalarByte(c) {
					s.pos += i
					return nil, start, s.offset() - start, s.syntax("invalid character %s", quoteByte(c))
				}
				if len(stack) == 0 {
					scalar = true
				}
			}
			if done {
				break
			}
			if len(stack) > maxDepth {
				s.pos += i
				return nil, start, s.offset() - start, s.syntax("nesting deeper than %d", maxDepth)
			}
		}
		s.pos += i
		if done {
			break
		}
	}
	size = s.offset() - start
	if capturing && size <= int64(limit) {
		return s.buf[s.mark:s.pos], start, size, nil
	}
	if limit > 0 {
		return nil, start, size, errTooBig
	}
	return nil, start, size, nil
}

const maxDepth = 10000

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c >= 'A' && c <= 'Z'
}

// key reads an object key and the colon after it. Keys longer than 4 KiB
// are not HAR keys: they come back as "" after being skipped.
func (s *source) key() (string, error) {
	c, err := s.peek()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if c != '"' {
		return "", s.syntax("invalid character %s looking for an object key", quoteByte(c))
	}
	raw, _, _, err := s.value(4 << 10)
	var k string
	switch {
	case err == errTooBig:
	case err != nil:
		return "", err
	default:
		p := parser{data: raw}
		k = p.str()
	}
	if err := s.expect(':', "after object key"); err != nil {
		return "", err
	}
	return k, nil
}
