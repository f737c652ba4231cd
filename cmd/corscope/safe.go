package main

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var errStop = errors.New("stop")

// terminalSafe makes wire text inert for a terminal (table cells, and error
// messages, which may quote bytes of a hostile input): control bytes and
// escapes are shown as \xNN, invisible and bidi characters as <U+XXXX>,
// invalid UTF-8 as \xNN; the result is cut to max runes with "…".
func terminalSafe(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if max > 0 && n >= max {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteString(`\x` + leftPad(strconv.FormatUint(uint64(r), 16)))
		case isInvisible(r):
			b.WriteString("<U+" + strings.ToUpper(strconv.FormatUint(uint64(r), 16)) + ">")
		default:
			b.WriteRune(r)
		}
		n++
		i += size
	}
	return b.String()
}

func leftPad(h string) string {
	if len(h) == 1 {
		return "0" + h
	}
	return h
}

func isInvisible(r rune) bool {
	switch {
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// writeOutput runs write on stdout, or on path when it is set and not "-":
// created 0600, since reports, baselines and exports can carry cookies and
// tokens; an error closing the file (a full disk) is an error too.
func writeOutput(path string, stdout io.Writer, write func(w io.Writer, toFile bool) error) error {
	if path == "" || path == "-" {
		return write(stdout, false)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := write(f, true); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
