package har

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/corscope/corscope/storage"
)

// Creator names the program in log.creator.
type Creator struct {
	Name    string
	Version string
}

// WriteOption adjusts Write.
type WriteOption func(*writeConfig)

type writeConfig struct {
	actualOf func(preflightID int64) (actualID int64, ok bool)
}

// WithActuals gives Write the actual request linked to each preflight so
// that preflight entries carry Chrome's _initiator {type: "preflight",
// requestId} pointing at the actual entry's _requestId.
func WithActuals(actualOf func(preflightID int64) (actualID int64, ok bool)) WriteOption {
	return func(c *writeConfig) { c.actualOf = actualOf }
}

// Write streams the exchanges next returns (io.EOF ends them) as a HAR 1.2
// document that Chrome DevTools imports: every required member present,
// headers in wire order with case and duplicates, binary bodies base64.
// Each entry carries _requestId (the exchange ID) so that links survive a
// round trip through Read and the Linker.
func Write(w io.Writer, creator Creator, next func() (*storage.Exchange, error), opts ...WriteOption) error {
	var cfg writeConfig
	for _, o := range opts {
		o(&cfg)
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	b := make([]byte, 0, 64<<10)
	b = append(b, `{"log":{"version":"1.2","creator":{"name":`...)
	b = appendJSONString(b, orDefault(creator.Name, "corscope"))
	b = append(b, `,"version":`...)
	b = appendJSONString(b, creator.Version)
	b = append(b, `},"pages":[],"entries":[`...)
	for i := 0; ; i++ {
		ex, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n"...)
		b = appendEntry(b, ex, &cfg)
		if len(b) >= 32<<10 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, "\n]}}\n"...)
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func appendEntry(b []byte, ex *storage.Exchange, cfg *writeConfig) []byte {
	b = append(b, '{')
	preflight := isPreflight(ex)
	if preflight {
		b = append(b, `"_initiator":{"type":"preflight"`...)
		if cfg.actualOf != nil {
			if id, ok := cfg.actualOf(ex.ID); ok {
				b = append(b, `,"url":`...)
				b = appendJSONString(b, harURL(ex))
				b = append(b, `,"requestId":`...)
				b = appendJSONString(b, strconv.FormatInt(id, 10))
			}
		}
		b = append(b, "},"...)
	}
	if ex.ID != 0 {
		b = append(b, `"_requestId":`...)
		b = appendJSONString(b, strconv.FormatInt(ex.ID, 10))
		b = append(b, ',')
	} else if ex.SourceRequestID != "" {
		b = append(b, `"_requestId":`...)
		b = appendJSONString(b, ex.SourceRequestID)
		b = append(b, ',')
	}
	rt := ex.ResourceType
	switch {
	case preflight:
		rt = "preflight"
	case rt == "" && ex.Upgrade == "websocket":
		rt = "websocket"
	}
	if rt != "" {
		b = append(b, `"_resourceType":`...)
		b = appendJSONString(b, rt)
		b = append(b, ',')
	}
	if ex.FromCache {
		b = append(b, `"_fromCache":"disk",`...)
	}
	if ex.ConnNo > 0 {
		b = append(b, `"_connectionId":"`...)
		b = strconv.AppendInt(b, ex.ConnNo, 10)
		b = append(b, `",`...)
	}
	if host, port, err := net.SplitHostPort(ex.Server); err == nil {
		b = append(b, `"serverIPAddress":`...)
		b = appendJSONString(b, host)
		if n, err := strconv.Atoi(port); err == nil {
			b = append(b, `,"_serverPort":`...)
			b = strconv.AppendInt(b, int64(n), 10)
		}
		b = append(b, ',')
	} else if ex.Server != "" {
		b = append(b, `"serverIPAddress":`...)
		b = appendJSONString(b, ex.Server)
		b = append(b, ',')
	}

	started := ex.Started
	if started.IsZero() {
		started = time.Unix(0, 0)
	}
	var wait, receive time.Duration
	if !ex.Ended.IsZero() && !ex.Ended.Before(started) {
		if !ex.RespStarted.IsZero() && !ex.RespStarted.Before(started) && !ex.RespStarted.After(ex.Ended) {
			wait, receive = ex.RespStarted.Sub(started), ex.Ended.Sub(ex.RespStarted)
		} else {
			wait = ex.Ended.Sub(started)
		}
	}
	b = append(b, `"startedDateTime":"`...)
	b = started.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, `","time":`...)
	b = appendMillis(b, wait+receive)
	b = append(b, `,"cache":{},"timings":{"blocked":-1,"dns":-1,"ssl":-1,"connect":-1,"send":0,"wait":`...)
	b = appendMillis(b, wait)
	b = append(b, `,"receive":`...)
	b = appendMillis(b, receive)
	b = append(b, `},`...)

	b = append(b, `"request":{"method":`...)
	b = appendJSONString(b, ex.Method)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, harURL(ex))
	b = append(b, `,"httpVersion":`...)
	b = appendJSONString(b, harVersion(ex.Proto))
	b = append(b, `,"cookies":[],"headers":`...)
	b = appendHeaders(b, ex.RequestHeaders)
	b = append(b, `,"queryString":`...)
	b = appendQuery(b, ex.Query)
	if ex.RequestBody != nil || ex.RequestBodySize > 0 {
		b = append(b, `,"postData":{"mimeType":`...)
		b = appendJSONString(b, ex.RequestHeaders.Value("Content-Type"))
		b = appendBodyText(b, ex.RequestBody)
		b = append(b, '}')
	}
	b = append(b, `,"headersSize":-1,"bodySize":`...)
	b = strconv.AppendInt(b, ex.RequestBodySize, 10)
	b = append(b, `},`...)

	b = append(b, `"response":{"status":`...)
	b = strconv.AppendInt(b, int64(ex.Status), 10)
	b = append(b, `,"statusText":`...)
	b = appendJSONString(b, ex.StatusText)
	b = append(b, `,"httpVersion":`...)
	if ex.Status > 0 {
		b = appendJSONString(b, harVersion(ex.Proto))
	} else {
		b = append(b, `""`...)
	}
	b = append(b, `,"cookies":[],"headers":`...)
	b = appendHeaders(b, ex.ResponseHeaders)
	b = append(b, `,"content":{"size":`...)
	b = strconv.AppendInt(b, ex.ResponseBodySize, 10)
	b = append(b, `,"mimeType":`...)
	b = appendJSONString(b, orDefault(ex.ResponseHeaders.Value("Content-Type"), "x-unknown"))
	if ex.ResponseBody != nil {
		b = appendBodyText(b, ex.ResponseBody)
	}
	b = append(b, `},"redirectURL":`...)
	b = appendJSONString(b, ex.ResponseHeaders.Value("Location"))
	b = append(b, `,"headersSize":-1,"bodySize":-1`...)
	b = append(b, '}')
	if len(ex.Warnings) > 0 {
		b = append(b, `,"comment":`...)
		b = appendJSONString(b, strings.Join(ex.Warnings, "; "))
	}
	return append(b, '}')
}

// harURL renders the request URL; opaque URLs (data:) have no authority.
func harURL(ex *storage.Exchange) string {
	if ex.Host == "" && ex.Scheme != "" && storage.DefaultPort(ex.Scheme) == 0 {
		return ex.Scheme + ":" + ex.Path
	}
	if ex.Scheme == "" && ex.Host == "" {
		return ex.Path
	}
	if ex.Scheme == "" {
		// a capture that did not say: the TLS flag does
		c := *ex
		c.Scheme = "http"
		if ex.TLS {
			c.Scheme = "https"
		}
		return c.URL()
	}
	return ex.URL()
}

// harVersion spells the protocol as Chrome does in its HARs.
func harVersion(proto string) string {
	switch proto {
	case storage.ProtoHTTP2:
		return "http/2.0"
	case storage.ProtoHTTP3:
		return "h3"
	}
	return proto
}

func appendHeaders(b []byte, hs storage.Headers) []byte {
	b = append(b, '[')
	for i, h := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, h.Name)
		b = append(b, `,"value":`...)
		b = appendJSONString(b, h.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendQuery lists the query's parameters in order, decoded as HAR wants;
// a parameter that does not decode is written as sent.
func appendQuery(b []byte, q string) []byte {
	b = append(b, '[')
	first := true
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"name":`...)
		b = appendJSONString(b, name)
		b = append(b, `,"value":`...)
		b = appendJSONString(b, value)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendBodyText writes ,"text":... and, for bytes that are not UTF-8
// text, ,"encoding":"base64".
func appendBodyText(b []byte, body []byte) []byte {
	if utf8.Valid(body) {
		b = append(b, `,"text":`...)
		return appendJSONBytes(b, body)
	}
	b = append(b, `,"text":"`...)
	b = base64.StdEncoding.AppendEncode(b, body)
	return append(b, `","encoding":"base64"`...)
}

// appendMillis writes d in milliseconds, exactly, without float noise.
func appendMillis(b []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	ns := int64(d)
	b = strconv.AppendInt(b, ns/1e6, 10)
	frac := ns % 1e6
	if frac == 0 {
		return b
	}
	var digits [6]byte
	for i := 5; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 6
	for n > 0 && digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONBytes is appendJSONString over a read-only view of s (no copy).
func appendJSONBytes(b []byte, s []byte) []byte {
	return appendJSONString(b, unsafe.String(unsafe.SliceData(s), len(s)))
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// ActualsOf builds the lookup WithActuals wants from stored pairings. A
// preflight that authorised several requests names the first one paired
// with it: Chrome links a preflight to exactly one request.
func ActualsOf(pairs []storage.Pairing) func(preflightID int64) (int64, bool) {
	first := make(map[int64]int64, len(pairs))
	for _, p := range pairs {
		if _, ok := first[p.PreflightID]; !ok {
			first[p.PreflightID] = p.ActualID
		}
	}
	return func(id int64) (int64, bool) {
		a, ok := first[id]
		return a, ok
	}
}
