// Package sanitize is the one gate for text from the wire or from files on
// its way to tview: tags inert, control bytes visible, invisible runes named.
package sanitize

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Ellipsis marks a value cut to fit.
const Ellipsis = "…"

// tagBreak follows every '[' taken from the input. tview renders "[:]" as
// an empty style tag (no colour, no attribute, no URL: nothing changes) and
// a '[' followed by '[' can start neither a tag nor an escaped tag, so the
// pair shows as one literal '['. tview.Escape only handles "[name]"-shaped
// tags and misses "[:::url]" (whose URL part may contain anything but ']').
const tagBreak = "[:]"

// Line returns s as tview markup that displays exactly Visible(s, max).
func Line(s string, max int) string {
	v := Visible(s, max)
	if strings.IndexByte(v, '[') < 0 {
		return v
	}
	return strings.ReplaceAll(v, "[", "["+tagBreak)
}

// Visible returns what Line shows on screen: s on one line with control
// bytes as \xNN (\t, \n, \r as such), invalid UTF-8 bytes as \xNN,
// invisible and bidi-control runes as <U+XXXX>, cut to max cells with an
// ellipsis (max <= 0: no cut).
func Visible(s string, max int) string {
	if max <= 0 {
		max = int(^uint(0) >> 1)
	}
	if plain(s) && len(s) <= max {
		return s
	}
	var b strings.Builder
	// fit is the length of the longest prefix that leaves a cell for the
	// ellipsis; work stops at the first piece that overflows, so a huge
	// value costs no more than max cells.
	width, fit := 0, 0
	for i := 0; i < len(s); {
		piece, n, w := next(s[i:])
		if i > 0 && s[i-1] == '[' && n > 1 {
			// A mark right after '[' would join it across Line's tag break,
			// and tview then draws the mark twice: show it by name.
			if r, size := utf8.DecodeRuneInString(s[i:]); unicode.In(r, unicode.M) {
				piece, n = runeName(r), size
				w = len(piece)
			}
		}
		if width+w > max {
			return b.String()[:fit] + Ellipsis
		}
		b.WriteString(piece)
		width += w
		i += n
		if width <= max-1 {
			fit = b.Len()
		}
	}
	return b.String()
}

// plain reports whether s is printable ASCII only (the common case).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// next returns the visible form of the first grapheme of s, the bytes it
// consumed and its width in cells.
func next(s string) (string, int, int) {
	c := s[0]
	if c < utf8.RuneSelf {
		switch {
		case c == '\t':
			return `\t`, 1, 2
		case c == '\n':
			return `\n`, 1, 2
		case c == '\r':
			return `\r`, 1, 2
		case c < 0x20 || c == 0x7f:
			return `\x` + string(hexDigits[c>>4]) + string(hexDigits[c&0xf]), 1, 4
		}
		// A combining mark after an ASCII letter forms one grapheme; handle
		// it rune by rune so each mark is checked below.
		return s[:1], 1, 1
	}
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n == 1 {
		return `\x` + string(hexDigits[c>>4]) + string(hexDigits[c&0xf]), 1, 4
	}
	if hidden(r) {
		name := runeName(r)
		return name, n, len(name)
	}
	w := uniseg.StringWidth(s[:n])
	if w == 0 {
		// A zero-width rune (combining mark) on its own: name it, so it can
		// neither hide nor merge with the next cell.
		name := runeName(r)
		return name, n, len(name)
	}
	return s[:n], n, w
}

// runeName is how a rune that must not be drawn as such is shown: <U+XXXX>.
func runeName(r rune) string {
	return "<U+" + strings.ToUpper(leftPad(strconv.FormatInt(int64(r), 16), 4)) + ">"
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// hidden reports runes that must be shown by name: C1 controls, format
// characters (zero-width, bidi embeddings/overrides/isolates, BOM, tag
// characters), line/paragraph separators, private use and unassigned.
func hidden(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	}
	if unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r) {
		return true
	}
	return !unicode.IsGraphic(r)
}

// Block returns multi-line text (a body) as tview markup: each line through
// Line, at most maxLines lines (then a marker line), each cut to maxWidth.
func Block(s string, maxLines, maxWidth int) string {
	var b strings.Builder
	lines := 0
	for len(s) > 0 {
		if maxLines > 0 && lines == maxLines {
			b.WriteString(Ellipsis + " (more lines not shown)\n")
			break
		}
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimSuffix(line, "\r")
		b.WriteString(Line(line, maxWidth))
		b.WriteByte('\n')
		lines++
	}
	return b.String()
}
