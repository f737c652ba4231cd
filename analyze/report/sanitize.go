package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits for one wire-supplied value in human-facing output: long values
// are cut with a marker so one hostile header cannot flood a terminal.
const (
	maxValueShort   = 256
	maxValueVerbose = 16 << 10
)

// Terminal makes a wire string inert for a terminal or a plain-text log:
// C0/C1 control bytes, DEL and ESC become \xHH (or \u00HH), bytes that
// are not UTF-8 become \xHH, backslashes are doubled so an escape can't be
// forged, and bidi and invisible characters are shown as <U+XXXX>. The
// result is cut to max bytes (0 = no limit) with a marker saying how much
// was left out.
func Terminal(s string, max int) string {
	if isPlain(s) && (max <= 0 || len(s) <= max) {
		return s // the common case costs no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		if max > 0 && b.Len() >= max {
			fmt.Fprintf(&b, "…(+%d bytes)", len(s)-i)
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				b.WriteString(`\\`)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\x`)
				b.WriteString(hex2(c))
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(c))
		case r >= 0x80 && r <= 0x9f: // C1 controls (CSI, OSC, ...)
			b.WriteString(`\u00`)
			b.WriteString(hex2(byte(r)))
		case invisible(r):
			b.WriteString("<U+")
			b.WriteString(strings.ToUpper(strconv.FormatInt(int64(r), 16)))
			b.WriteString(">")
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII without backslashes.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// invisible reports characters that change how text reads without being
// seen: bidi controls (Trojan Source), zero-width characters, BOM, line
// and paragraph separators.
func invisible(r rune) bool {
	switch {
	case r >= 0x200b && r <= 0x200f, // zero width space/joiners, LRM, RLM
		r >= 0x202a && r <= 0x202e, // bidi embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // bidi isolates
		r >= 0x2060 && r <= 0x2064, // word joiner, invisible operators
		r == 0x2028, r == 0x2029,   // line and paragraph separator
		r == 0xfeff,                  // BOM / zero width no-break space
		r == 0x00ad,                  // soft hyphen
		r == 0x061c,                  // Arabic letter mark
		r == 0x180e,                  // Mongolian vowel separator
		r >= 0xfff9 && r <= 0xfffb,   // interlinear annotations
		r >= 0xe0000 && r <= 0xe007f: // tag characters
		return true
	}
	return false
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// secretHeaders are header names whose values are credentials.
var secretHeaders = map[string]bool{
	"cookie": true, "set-cookie": true, "authorization": true, "proxy-authorization": true,
	"x-api-key": true, "api-key": true, "x-auth-token": true, "x-access-token": true,
	"x-csrf-token": true, "x-xsrf-token": true, "x-amz-security-token": true, "x-session-id": true,
}

// secretParams are query parameter names whose values are credentials.
var secretParams = map[string]bool{
	"token": true, "access_token": true, "id_token": true, "refresh_token": true, "auth": true,
	"api_key": true, "apikey": true, "key": true, "secret": true, "client_secret": true,
	"password": true, "passwd": true, "pwd": true, "session": true, "sessionid": true, "sid": true,
	"sig": true, "signature": true, "x-amz-signature": true, "x-amz-credential": true,
	"x-amz-security-token": true, "jwt": true, "code": true, "ticket": true,
}

// shorten replaces a secret by a hint that identifies it without revealing
// it: two leading characters when it is long enough to spare them.
func shorten(v string) string {
	n := utf8.RuneCountInString(v)
	if n == 0 {
		return v
	}
	prefix := ""
	if n >= 12 {
		_, a := utf8.DecodeRuneInString(v)
		_, b := utf8.DecodeRuneInString(v[a:])
		prefix = v[:a+b]
	}
	return prefix + "…(" + strconv.Itoa(n) + " chars)"
}

// RedactEvidence shortens credentials in one evidence line ("Name: value",
// or a request line / URL with a query): cookie values, Authorization
// credentials (the scheme stays), API-key and CSRF headers, and token-like
// query parameters. Cookie names and attributes stay: SameSite matters.
func RedactEvidence(line string) string {
	name, value, ok := strings.Cut(line, ":")
	if ok && !strings.ContainsAny(name, " /?") {
		key := strings.ToLower(strings.TrimSpace(name))
		if secretHeaders[key] {
			lead := value[:len(value)-len(strings.TrimLeft(value, " \t"))]
			v := value[len(lead):]
			switch key {
			case "cookie":
				v = redactCookies(v, "; ", false)
			case "set-cookie":
				v = redactCookies(v, ";", true)
			case "authorization", "proxy-authorization":
				if scheme, cred, found := strings.Cut(v, " "); found {
					v = scheme + " " + shorten(cred)
				} else {
					v = shorten(v)
				}
			default:
				v = shorten(v)
			}
			return name + ":" + lead + v
		}
	}
	return redactQuery(line)
}

// redactCookies shortens cookie values. For Set-Cookie only the first pair
// is the cookie; the rest are attributes and stay readable.
func redactCookies(v, sep string, firstOnly bool) string {
	parts := strings.Split(v, sep)
	for i, p := range parts {
		if firstOnly && i > 0 {
			break
		}
		lead := p[:len(p)-len(strings.TrimLeft(p, " "))]
		if k, val, ok := strings.Cut(p[len(lead):], "="); ok {
			parts[i] = lead + k + "=" + shorten(val)
		}
	}
	return strings.Join(parts, sep)
}

// redactQuery shortens the values of token-like parameters in every query
// string of s (a URL, a request line, a Referer or Location value).
func redactQuery(s string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:q+1])
	rest := s[q+1:]
	end := strings.IndexAny(rest, " \t#")
	tail := ""
	if end >= 0 {
		rest, tail = rest[:end], rest[end:]
	}
	for i, kv := range strings.Split(rest, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && secretParams[strings.ToLower(k)] {
			b.WriteString(k + "=" + shorten(v))
		} else {
			b.WriteString(kv)
		}
	}
	b.WriteString(redactQuery(tail))
	return b.String()
}
