// Package har reads HAR 1.2 files into storage exchanges as a stream and
// writes stored exchanges back out as HAR that browsers' devtools import.
package har

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/corscope/corscope/storage"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Defaults for Options.
const (
	DefaultMaxBody       = 1 << 20
	DefaultMaxEntryBytes = 64 << 20
	maxSummaryWarnings   = 100
)

// Options tune Read. Zero values pick the defaults.
type Options struct {
	Path string // for error messages only
	// MaxBody caps each stored body (decoded bytes); sizes are still the
	// full ones. 0 means DefaultMaxBody, < 0 stores no bodies.
	MaxBody int64
	// MaxEntryBytes caps the JSON text of one entry: larger entries are
	// skipped with a warning. It bounds the reader's memory.
	MaxEntryBytes int64
}

// Summary describes a file that was read.
type Summary struct {
	Entries  int // entries emitted
	Skipped  int // entries not emitted (too large, not an object)
	Creator  string
	Browser  string
	Version  string // log.version
	Pages    int
	Warnings []string // file-level warnings; exchange warnings stay on the exchange
}

func (s *Summary) warn(w string) {
	switch {
	case len(s.Warnings) < maxSummaryWarnings:
		s.Warnings = append(s.Warnings, w)
	case len(s.Warnings) == maxSummaryWarnings:
		s.Warnings = append(s.Warnings, "more warnings not shown")
	}
}

// Error is a HAR that could not be read to its end. Partial reports that
// the file is a HAR whose entries array was reached (entries before the
// failure were emitted: CLI exit 3); otherwise the input is not JSON or not
// a HAR at all (exit 2).
type Error struct {
	Path    string
	Entry   int   // index of the entry being read, -1 when not inside an entry
	Offset  int64 // input offset of that entry's '{', else where the error was found
	Partial bool
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	var se *syntaxError
	switch {
	case e.Entry >= 0:
		fmt.Fprintf(&b, "entry %d at byte %d: ", e.Entry, e.Offset)
	case errors.As(e.Err, &se):
		// the syntax error names its own offset
	default:
		fmt.Fprintf(&b, "at byte %d: ", e.Offset)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

var (
	bom       = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16L = []byte{0xFF, 0xFE}
	bomUTF16B = []byte{0xFE, 0xFF}
)

// utf16Decoder returns a transcoder for input that starts with a UTF-16
// byte order mark (Windows tools save HARs so), or nil.
func utf16Decoder(prefix []byte) *encoding.Decoder {
	switch {
	case bytes.HasPrefix(prefix, bomUTF16L):
		return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(prefix, bomUTF16B):
		return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	}
	return nil
}

// Sniff reports whether prefix (the first bytes of an input) looks like a
// HAR: an optional UTF-8 BOM, white space, '{' and a "log" key soon after.
func Sniff(prefix []byte) bool {
	if dec := utf16Decoder(prefix); dec != nil {
		n := len(prefix) &^ 1 // whole code units only
		u, err := dec.Bytes(prefix[:n])
		if err != nil {
			return false
		}
		prefix = u
	}
	b := bytes.TrimPrefix(prefix, bom)
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(`"log"`))
		if j < 0 {
			return false
		}
		rest := bytes.TrimLeft(b[i+j+5:], " \t\r\n")
		if len(rest) == 0 || rest[0] == ':' {
			return true
		}
		i += j + 5
	}
}

// Read decodes the entries of the HAR in r in file order and calls emit
// for each one; the exchange passed to emit belongs to the callee. Memory
// is bounded by the largest entry (at most MaxEntryBytes). An error from
// emit stops the read and is returned unchanged; a broken input yields an
// *Error after emitting every entry before the break.
//
// Mapping: times in UTC (any offset accepted), Ended = start + time and
// RespStarted = start + blocked+dns+connect+send+wait when a response
// exists; status 0 or -1 becomes 0 with a warning; Proto only from a known
// httpVersion spelling; ConnNo from _connectionId, else "connection" unless
// it is the server port (Firefox), non-numeric ids numbered from 1<<40;
// Server from serverIPAddress and _serverPort or the URL port; hints from
// _resourceType, _initiator (preflights), _requestId and _fromCache. The
// cache object is not read as "from cache": Firefox fills it for 304s.
func Read(r io.Reader, opts Options, emit func(*storage.Exchange) error) (Summary, error) {
	if opts.MaxBody == 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.MaxEntryBytes <= 0 {
		opts.MaxEntryBytes = DefaultMaxEntryBytes
	}
	// a UTF-16 file is read through a transcoder; offsets then count the
	// UTF-8 text, as a summary warning says
	br := bufio.NewReaderSize(r, 4096)
	utf16 := false
	if head, _ := br.Peek(2); utf16Decoder(head) != nil {
		r = transform.NewReader(br, utf16Decoder(head))
		utf16 = true
	} else {
		r = br
	}
	rd := &reader{
		opts:  opts,
		src:   newSource(r, int(min(opts.MaxEntryBytes+initialBuf, 1<<40))),
		dec:   newDecoder(opts.MaxBody),
		emit:  emit,
		entry: -1,
	}
	if utf16 {
		rd.sum.warn("UTF-16 file: byte offsets count the text converted to UTF-8")
	}
	err := rd.run()
	if err != nil {
		var he *Error
		if errors.As(err, &he) && he.Path == "" {
			he.Path = opts.Path
		}
	}
	return rd.sum, err
}

type reader struct {
	opts       Options
	src        *source
	dec        *decoder
	emit       func(*storage.Exchange) error
	sum        Summary
	inEntries  bool // the entries array was reached: errors are partial
	sawEntries bool
	entry      int   // index of the entry being read, -1 outside
	entryOff   int64 // its offset
	emitErr    error
}

// fail wraps err with the reader's position.
func (rd *reader) fail(err error) error {
	if rd.emitErr != nil {
		return rd.emitErr
	}
	var he *Error
	if errors.As(err, &he) {
		return err
	}
	e := &Error{Path: rd.opts.Path, Entry: rd.entry, Partial: rd.inEntries, Err: err}
	if rd.entry >= 0 {
		e.Offset = rd.entryOff
	} else {
		e.Offset = rd.src.offset()
	}
	return e
}

func (rd *reader) notHAR(format string, args ...any) error {
	return &Error{Path: rd.opts.Path, Entry: -1, Offset: rd.src.offset(), Err: fmt.Errorf(format, args...)}
}

func (rd *reader) run() error {
	s := rd.src
	// the BOM only counts at the very start
	for s.end-s.pos < 3 && s.fill() {
	}
	if bytes.HasPrefix(s.buf[s.pos:s.end], bom) {
		s.pos += 3
	}
	c, err := s.peek()
	if err == io.EOF {
		return rd.notHAR("not JSON: empty input")
	}
	if err != nil {
		return rd.fail(err)
	}
	if c != '{' {
		if c == '[' || c == '"' || c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n' {
			return rd.notHAR("not a HAR: the top-level JSON value is not an object")
		}
		return rd.notHAR("not JSON: unexpected %s at the start", quoteByte(c))
	}
	s.pos++
	sawLog := false
	if err := rd.object(func(k string) error {
		if k == "log" && !sawLog {
			sawLog = true
			return rd.log()
		}
		_, _, _, err := s.value(0)
		return err
	}); err != nil {
		return rd.fail(err)
	}
	if !sawLog {
		return rd.notHAR("not a HAR: no \"log\" object")
	}
	if !rd.sawEntries {
		return rd.notHAR("not a HAR: log has no \"entries\" array")
	}
	if _, err := s.peek(); err != io.EOF {
		rd.sum.warn(fmt.Sprintf("data after the HAR document at byte %d ignored", s.offset()))
	}
	return nil
}

// object walks the members of an object whose '{' was consumed, calling
// member for each key with the source positioned at the value.
func (rd *reader) object(member func(key string) error) error {
	s := rd.src
	first := true
	for {
		c, err := s.peek()
		if err != nil {
			return s.readErr()
		}
		if c == '}' {
			s.pos++
			return nil
		}
		if !first {
			if c != ',' {
				return s.syntax("invalid character %s after object member (want ',' or '}')", quoteByte(c))
			}
			s.pos++
		}
		first = false
		k, err := s.key()
		if err != nil {
			return err
		}
		if err := member(k); err != nil {
			return err
		}
	}
}

func (rd *reader) log() error {
	s := rd.src
	c, err := s.next()
	if err != nil {
		return s.readErr()
	}
	if c != '{' {
		s.pos--
		return rd.notHAR("not a HAR: \"log\" is not an object")
	}
	return rd.object(func(k string) error {
		switch k {
		case "creator", "browser":
			data, _, _, err := s.value(64 << 10)
			if err == errTooBig {
				return nil
			}
			if err != nil {
				return err
			}
			name := nameOf(data)
			if k == "creator" {
				rd.sum.Creator = name
				if strings.EqualFold(name, "Playwright") {
					rd.sum.warn("Playwright's recordHar omits CORS preflights: actual requests cannot be linked to them")
				}
			} else {
				rd.sum.Browser = name
			}
			return nil
		case "version":
			data, _, _, err := s.value(1 << 10)
			if err == nil {
				p := parser{data: data}
				rd.sum.Version = p.str()
			} else if err != errTooBig {
				return err
			}
			return nil
		case "pages":
			return rd.pages()
		case "entries":
			if rd.sawEntries {
				return s.syntax("second \"entries\" member in log")
			}
			rd.sawEntries = true
			return rd.entries()
		}
		_, _, _, err := s.value(0)
		return err
	})
}

// nameOf returns the "name" member of a small object, "" when absent.
func nameOf(data []byte) string {
	p := parser{data: data}
	if !p.open('{') {
		return ""
	}
	name := ""
	first := true
	for p.more('}', &first) {
		if string(p.key()) == "name" {
			name = p.str()
		} else {
			p.skip()
		}
	}
	if p.err != nil {
		return ""
	}
	return name
}

func (rd *reader) pages() error {
	s := rd.src
	c, err := s.peek()
	if err != nil {
		return s.readErr()
	}
	if c != '[' {
		_, _, _, err := s.value(0)
		return err
	}
	s.pos++
	return rd.array(func(int) error {
		_, _, _, err := s.value(0)
		if err == nil {
			rd.sum.Pages++
		}
		return err
	})
}

// array walks the elements of an array whose '[' was consumed.
func (rd *reader) array(elem func(i int) error) error {
	s := rd.src
	for i := 0; ; i++ {
		c, err := s.peek()
		if err != nil {
			return s.readErr()
		}
		if c == ']' {
			s.pos++
			return nil
		}
		if i > 0 {
			if c != ',' {
				return s.syntax("invalid character %s after array element (want ',' or ']')", quoteByte(c))
			}
			s.pos++
		}
		if err := elem(i); err != nil {
			return err
		}
	}
}

func (rd *reader) entries() error {
	s := rd.src
	c, err := s.peek()
	if err != nil {
		return s.readErr()
	}
	if c != '[' {
		return rd.notHAR("not a HAR: \"entries\" is not an array")
	}
	s.pos++
	rd.inEntries = true
	err = rd.array(func(i int) error {
		rd.entry, rd.entryOff = i, s.offset()
		if _, err := s.peek(); err != nil {
			return s.readErr()
		}
		rd.entryOff = s.offset()
		data, start, size, err := s.value(int(rd.opts.MaxEntryBytes))
		if err == errTooBig {
			rd.sum.Skipped++
			rd.sum.warn(fmt.Sprintf("entry %d at byte %d: %d bytes exceed the %d-byte entry cap: skipped", i, start, size, rd.opts.MaxEntryBytes))
			rd.entry = -1
			return nil
		}
		if err != nil {
			return err
		}
		ex, err := rd.dec.entry(data, start, i)
		if err != nil {
			var se *syntaxError
			if errors.As(err, &se) {
				return err
			}
			rd.sum.Skipped++
			rd.sum.warn(fmt.Sprintf("entry %d at byte %d: %v: skipped", i, start, err))
			rd.entry = -1
			return nil
		}
		if size > shrinkAbove {
			s.release()
		}
		if err := rd.emit(ex); err != nil {
			rd.emitErr = err
			return err
		}
		rd.sum.Entries++
		rd.entry = -1
		return nil
	})
	if err != nil {
		return err
	}
	rd.entry = -1
	return nil
}
