// Package hargen writes large, realistic Chrome DevTools-style HAR files
// for benchmarks: preflights and actuals, CORS headers, base64 bodies.
package hargen

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Config describes the file to write.
type Config struct {
	Size int64  // approximate size in bytes; the last entry may overshoot
	Seed uint64 // same seed, same bytes
}

// Stats counts what was written.
type Stats struct {
	Entries    int
	Preflights int
	Blocked    int
	Bytes      int64
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) write(b []byte) error {
	c.n += int64(len(b))
	_, err := c.w.Write(b)
	return err
}

var (
	pageOrigins = []string{
		"https://app.example.com", "https://www.example.com", "https://admin.example.com",
		"https://shop.example.org", "http://localhost:3000", "https://evil.example",
		"https://partner.example.net", "null", "https://sub.app.example.com",
		"https://example.github.io", "http://10.0.0.5:8080", "https://dashboard.example.io",
	}
	apiHosts = []string{
		"https://api.example.com", "https://api.example.net", "https://auth.example.com",
		"https://cdn.example.com", "https://api.example.org:8443", "https://graphql.example.io",
		"https://static.example.net", "https://metrics.example.com", "http://internal.example:8080",
		"https://files.example.com",
	}
	paths = []string{
		"/v1/user", "/v1/orders", "/v1/orders/%d", "/v2/search", "/graphql", "/api/session",
		"/api/items/%d", "/assets/app.%d.js", "/img/logo-%d.png", "/v1/cart", "/track",
		"/v1/users/%d/profile", "/oauth/token", "/socket",
	}
	methods = []string{"POST", "PUT", "DELETE", "PATCH", "GET"}
)

// Generate writes a HAR of about cfg.Size bytes to w.
func Generate(w io.Writer, cfg Config) (Stats, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	var st Stats
	b := make([]byte, 0, 256<<10)
	b = append(b, `{
  "log": {
    "version": "1.2",
    "creator": {"name": "WebInspector", "version": "537.36"},
    "pages": [
      {"startedDateTime": "2026-01-02T03:04:05.000Z", "id": "page_1", "title": "https://app.example.com/", "pageTimings": {"onContentLoad": 812.4, "onLoad": 1290.2}}
    ],
    "entries": [`...)
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	reqID := 1000
	binary := make([]byte, 48<<10)
	for cw.n+int64(len(b)) < cfg.Size || st.Entries == 0 {
		t = t.Add(time.Duration(rng.IntN(40_000)) * time.Microsecond)
		origin := pageOrigins[rng.IntN(len(pageOrigins))]
		host := apiHosts[rng.IntN(len(apiHosts))]
		path := paths[rng.IntN(len(paths))]
		if containsVerb(path) {
			path = fmt.Sprintf(path, rng.IntN(100000))
		}
		url := host + path
		if rng.IntN(3) == 0 {
			url += "?q=" + strconv.Itoa(rng.IntN(1e6)) + "&lang=en&page=" + strconv.Itoa(rng.IntN(50))
		}
		reqID++
		id := fmt.Sprintf("%d.%d", 4000+rng.IntN(50), reqID)
		kind := rng.IntN(10)
		switch {
		case kind < 3: // preflighted request: Chrome lists the actual first
			method := methods[rng.IntN(len(methods))]
			blocked := rng.IntN(25) == 0
			b = sep(b, st.Entries)
			b = actualEntry(b, rng, t, id, method, url, origin, blocked, binary)
			st.Entries++
			b = sep(b, st.Entries)
			b = preflightEntry(b, rng, t.Add(time.Duration(200+rng.IntN(900))*time.Microsecond), id, method, url, origin, blocked)
			st.Entries++
			st.Preflights++
			if blocked {
				st.Blocked++
			}
		default:
			method := "GET"
			if kind == 9 {
				method = "POST"
			}
			b = sep(b, st.Entries)
			b = actualEntry(b, rng, t, id, method, url, origin, false, binary)
			st.Entries++
		}
		if len(b) > 128<<10 {
			if err := cw.write(b); err != nil {
				return st, err
			}
			b = b[:0]
		}
	}
	b = append(b, "\n    ]\n  }\n}\n"...)
	if err := cw.write(b); err != nil {
		return st, err
	}
	st.Bytes = cw.n
	return st, cw.w.Flush()
}

func containsVerb(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && s[i+1] == 'd' {
			return true
		}
	}
	return false
}

func sep(b []byte, n int) []byte {
	if n > 0 {
		b = append(b, ',')
	}
	return append(b, "\n      "...)
}

func q(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func header(b []byte, first bool, name, value string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, "\n          {\"name\": "...)
	b = q(b, name)
	b = append(b, ", \"value\": "...)
	b = q(b, value)
	return append(b, '}')
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func hostOf(url string) string {
	s := url[len("https://"):]
	if url[4] == ':' {
		s = url[len("http://"):]
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i]
		}
	}
	return s
}

func commonRequestHeaders(b []byte, rng *rand.Rand, url, origin string) []byte {
	b = header(b, false, ":authority", hostOf(url))
	b = header(b, false, "accept", "application/json, text/plain, */*")
	b = header(b, false, "accept-encoding", "gzip, deflate, br, zstd")
	b = header(b, false, "accept-language", "en-US,en;q=0.9")
	if origin != "" {
		b = header(b, false, "origin", origin)
		b = header(b, false, "referer", origin+"/")
	}
	b = header(b, false, "sec-ch-ua", `"Chromium";v="131", "Not_A Brand";v="24"`)
	b = header(b, false, "sec-fetch-dest", "empty")
	b = header(b, false, "sec-fetch-mode", "cors")
	b = header(b, false, "sec-fetch-site", "cross-site")
	b = header(b, false, "user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	if rng.IntN(2) == 0 {
		b = header(b, false, "cookie", "session="+strconv.FormatUint(rng.Uint64(), 36)+"; theme=dark")
	}
	return b
}

func timings(b []byte, rng *rand.Rand) ([]byte, float64) {
	wait := float64(rng.IntN(300000)) / 1000
	recv := float64(rng.IntN(20000)) / 1000
	blocked := float64(rng.IntN(5000)) / 1000
	b = append(b, `"timings": {"blocked": `...)
	b = strconv.AppendFloat(b, blocked, 'f', -1, 64)
	b = append(b, `, "dns": -1, "ssl": -1, "connect": -1, "send": 0.123, "wait": `...)
	b = strconv.AppendFloat(b, wait, 'f', -1, 64)
	b = append(b, `, "receive": `...)
	b = strconv.AppendFloat(b, recv, 'f', -1, 64)
	b = append(b, `, "_blocked_queueing": 1.2}`...)
	return b, blocked + 0.123 + wait + recv
}

func entryHead(b []byte, rng *rand.Rand, t time.Time, rtype string, initiator []byte) []byte {
	b = append(b, "{\n        \"_connectionId\": \""...)
	b = strconv.AppendInt(b, int64(100000+rng.IntN(400)), 10)
	b = append(b, "\",\n        \"_initiator\": "...)
	b = append(b, initiator...)
	b = append(b, ",\n        \"_priority\": \"High\",\n        \"_resourceType\": "...)
	b = q(b, rtype)
	b = append(b, ",\n        \"cache\": {},\n        \"connection\": \"443\",\n        \"pageref\": \"page_1\",\n        \"serverIPAddress\": \"203.0.113."...)
	b = strconv.AppendInt(b, int64(rng.IntN(250)+1), 10)
	b = append(b, "\",\n        \"startedDateTime\": "...)
	b = q(b, stamp(t))
	return append(b, ",\n        "...)
}

func actualEntry(b []byte, rng *rand.Rand, t time.Time, id, method, url, origin string, blocked bool, binary []byte) []byte {
	init := []byte(`{"type": "script", "stack": {"callFrames": [{"functionName": "load", "scriptId": "41", "url": "https://app.example.com/assets/app.js", "lineNumber": 1, "columnNumber": 4821}]}}`)
	rtype := "fetch"
	image := len(url) > 4 && (url[len(url)-4:] == ".png")
	if image {
		rtype = "image"
		init = []byte(`{"type": "parser", "url": "https://app.example.com/", "lineNumber": 12}`)
	}
	b = entryHead(b, rng, t, rtype, init)
	b = append(b, "\"request\": {\n        \"method\": "...)
	b = q(b, method)
	b = append(b, ", \"url\": "...)
	b = q(b, url)
	b = append(b, ", \"httpVersion\": \"http/2.0\", \"headers\": ["...)
	b = header(b, true, ":method", method)
	b = header(b, false, ":path", url[strings.Index(url, hostOf(url))+len(hostOf(url)):])
	b = header(b, false, ":scheme", "https")
	if blocked {
		// Chrome records a request it blocked before sending without the
		// headers the network stack adds, Origin among them
		origin = ""
	}
	b = commonRequestHeaders(b, rng, url, origin)
	if method != "GET" {
		b = header(b, false, "content-type", "application/json")
		b = header(b, false, "authorization", "Bearer eyJhbGciOiJIUzI1NiJ9."+strconv.FormatUint(rng.Uint64(), 36))
		b = header(b, false, "x-requested-with", "XMLHttpRequest")
	}
	b = append(b, "], \"queryString\": [], \"cookies\": [], \"headersSize\": -1, \"bodySize\": "...)
	var post string
	if method == "POST" || method == "PUT" || method == "PATCH" {
		post = `{"id":` + strconv.Itoa(rng.IntN(1e6)) + `,"name":"item \"quoted\"","tags":["a","b"],"note":"line1\nline2"}`
	}
	b = strconv.AppendInt(b, int64(len(post)), 10)
	if post != "" {
		b = append(b, ", \"postData\": {\"mimeType\": \"application/json\", \"text\": "...)
		b = q(b, post)
		b = append(b, '}')
	}
	b = append(b, "},\n        \"response\": {"...)
	if blocked {
		b = append(b, `"status": 0, "statusText": "", "httpVersion": "", "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1, "bodySize": -1, "_transferSize": 0, "_error": "net::ERR_FAILED"},`...)
		b = append(b, "\n        \"time\": 3.1, \"timings\": {\"blocked\": 3.1, \"dns\": -1, \"ssl\": -1, \"connect\": -1, \"send\": 0, \"wait\": 0, \"receive\": 0}\n      }"...)
		return b
	}
	status := 200
	switch rng.IntN(30) {
	case 0:
		status = 404
	case 1:
		status = 500
	case 2:
		status = 304
	}
	b = append(b, `"status": `...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `, "statusText": "", "httpVersion": "http/2.0", "headers": [`...)
	b = header(b, true, "access-control-allow-origin", pickACAO(rng, origin))
	if rng.IntN(2) == 0 {
		b = header(b, false, "access-control-allow-credentials", "true")
	}
	b = header(b, false, "cache-control", "no-store")
	b = header(b, false, "date", "Fri, 02 Jan 2026 03:04:05 GMT")
	b = header(b, false, "server", "nginx")
	b = header(b, false, "vary", "Origin")
	b = header(b, false, "x-request-id", strconv.FormatUint(rng.Uint64(), 16))
	if rng.IntN(8) == 0 {
		b = header(b, false, "set-cookie", "a=1; Path=/; Secure; HttpOnly")
		b = header(b, false, "set-cookie", "b=2; Path=/; SameSite=None; Secure")
	}
	var text []byte
	mime := "application/json"
	encoded := false
	size := 0
	if image {
		mime = "image/png"
		n := 512 + rng.IntN(24<<10)
		for i := range binary[:n] {
			binary[i] = byte(rng.Uint32())
		}
		text = base64.StdEncoding.AppendEncode(nil, binary[:n])
		encoded = true
		size = n
	} else if status != 304 {
		n := 1 + rng.IntN(40)
		text = append(text, `{"items":[`...)
		for i := 0; i < n; i++ {
			if i > 0 {
				text = append(text, ',')
			}
			text = append(text, `{"id":`...)
			text = strconv.AppendInt(text, int64(rng.IntN(1e9)), 10)
			text = append(text, `,"title":"Item number `...)
			text = strconv.AppendInt(text, int64(i), 10)
			text = append(text, `","price":12.5,"url":"https://cdn.example.com/p/`...)
			text = strconv.AppendInt(text, int64(rng.IntN(1e6)), 10)
			text = append(text, `.jpg"}`...)
		}
		text = append(text, "]}"...)
		size = len(text)
	}
	b = header(b, false, "content-type", mime)
	b = append(b, `], "cookies": [], "content": {"size": `...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `, "mimeType": `...)
	b = q(b, mime)
	if len(text) > 0 {
		b = append(b, `, "text": `...)
		b = q(b, string(text))
		if encoded {
			b = append(b, `, "encoding": "base64"`...)
		}
	}
	b = append(b, `}, "redirectURL": "", "headersSize": -1, "bodySize": `...)
	b = strconv.AppendInt(b, int64(len(text)), 10)
	b = append(b, ", \"_transferSize\": "...)
	b = strconv.AppendInt(b, int64(len(text)+300), 10)
	b = append(b, ", \"_error\": null},\n        "...)
	var total float64
	b, total = timings(b, rng)
	b = append(b, ",\n        \"time\": "...)
	b = strconv.AppendFloat(b, total, 'f', 3, 64)
	return append(b, "\n      }"...)
}

func pickACAO(rng *rand.Rand, origin string) string {
	switch rng.IntN(6) {
	case 0:
		return "*"
	case 1:
		return "https://app.example.com"
	}
	if origin == "" {
		return "*"
	}
	return origin
}

func preflightEntry(b []byte, rng *rand.Rand, t time.Time, actualID, method, url, origin string, blocked bool) []byte {
	init := append([]byte(`{"type": "preflight", "url": `), []byte(strconv.Quote(url))...)
	init = append(init, `, "requestId": `...)
	init = q(init, actualID)
	init = append(init, '}')
	b = entryHead(b, rng, t, "preflight", init)
	b = append(b, "\"request\": {\n        \"method\": \"OPTIONS\", \"url\": "...)
	b = q(b, url)
	b = append(b, ", \"httpVersion\": \"http/2.0\", \"headers\": ["...)
	b = header(b, true, ":method", "OPTIONS")
	b = header(b, false, "access-control-request-method", method)
	b = header(b, false, "access-control-request-headers", "authorization,content-type")
	b = commonRequestHeaders(b, rng, url, origin)
	b = append(b, "], \"queryString\": [], \"cookies\": [], \"headersSize\": -1, \"bodySize\": 0},\n        \"response\": {"...)
	status := 204
	if blocked {
		status = 403
	}
	b = append(b, `"status": `...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `, "statusText": "", "httpVersion": "http/2.0", "headers": [`...)
	if !blocked {
		b = header(b, true, "access-control-allow-origin", pickACAO(rng, origin))
		b = header(b, false, "access-control-allow-methods", "GET, POST, PUT, DELETE, PATCH")
		b = header(b, false, "access-control-allow-headers", "authorization, content-type")
		b = header(b, false, "access-control-max-age", "600")
		b = header(b, false, "vary", "Origin")
	} else {
		b = header(b, true, "content-length", "0")
	}
	b = header(b, false, "date", "Fri, 02 Jan 2026 03:04:05 GMT")
	b = append(b, `], "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1, "bodySize": 0, "_transferSize": 120, "_error": null},`...)
	b = append(b, "\n        "...)
	var total float64
	b, total = timings(b, rng)
	b = append(b, ",\n        \"time\": "...)
	b = strconv.AppendFloat(b, total, 'f', 3, 64)
	return append(b, "\n      }"...)
}
