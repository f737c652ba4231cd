package har

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/corscope/corscope/storage"
)

// normalizeProto maps the httpVersion spellings of HAR producers to the
// storage names. Unknown or empty values stay "": no guess is stored.
func normalizeProto(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "http/1.1":
		return storage.ProtoHTTP11
	case "http/1.0":
		return storage.ProtoHTTP10
	case "http/0.9":
		return storage.ProtoHTTP09
	case "http/2", "http/2.0", "h2", "h2c", "http2":
		return storage.ProtoHTTP2
	case "http/3", "http/3.0", "h3", "http3":
		return storage.ProtoHTTP3
	}
	l := strings.ToLower(v)
	if strings.HasPrefix(l, "h3-") || strings.Contains(l, "quic") {
		return storage.ProtoHTTP3
	}
	return ""
}

// splitURL fills the URL fields of ex leniently: HAR URLs are whatever the
// producer saw, including spaces, raw non-ASCII and data: URLs, which a
// strict parser would reject.
func splitURL(ex *storage.Exchange, u string) {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	colon := strings.IndexByte(u, ':')
	if colon <= 0 || !validScheme(u[:colon]) {
		ex.Path = u
		return
	}
	ex.Scheme = strings.ToLower(u[:colon])
	rest := u[colon+1:]
	if !strings.HasPrefix(rest, "//") {
		// opaque URL (data:, blob:, about:): keep the rest as the path
		ex.Path = rest
		return
	}
	rest = rest[2:]
	end := strings.IndexAny(rest, "/?")
	auth := rest
	if end >= 0 {
		auth, rest = rest[:end], rest[end:]
	} else {
		rest = ""
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		if rb := strings.IndexByte(auth, ']'); rb > 0 {
			host = auth[1:rb]
			if strings.HasPrefix(auth[rb+1:], ":") {
				port = auth[rb+2:]
			}
		}
	} else if c := strings.LastIndexByte(auth, ':'); c >= 0 {
		host, port = auth[:c], auth[c+1:]
	}
	ex.Host = lowerASCII(host)
	ex.Port = storage.DefaultPort(ex.Scheme)
	if port != "" {
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
			ex.Port = n
		}
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		ex.Path, ex.Query = rest[:q], rest[q+1:]
	} else {
		ex.Path = rest
	}
	if ex.Path == "" {
		ex.Path = "/"
	}
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			continue
		}
		return false
	}
	return true
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// parseTime reads startedDateTime. HAR asks for ISO 8601; producers write
// Z or local offsets (Firefox "+02:00"), 3 to 7 fraction digits, and a few
// write "+0200" or a space for the T.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// msDuration converts HAR milliseconds (fractional) to a duration.
func msDuration(ms float64) time.Duration {
	if ms <= 0 || ms > 1e12 {
		return 0
	}
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}
