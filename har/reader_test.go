package har

import (
	"bytes"
	"encoding/base64"
	"errors"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

// harOf wraps entry objects (JSON text) in a HAR document.
func harOf(entries ...string) []byte {
	return []byte(`{"log":{"version":"1.2","creator":{"name":"test","version":"1"},"entries":[` + strings.Join(entries, ",") + `]}}`)
}

func entryJSON(started, url, method string, status int, extra string) string {
	return `{"startedDateTime":"` + started + `","time":12.5,` +
		`"request":{"method":"` + method + `","url":"` + url + `","httpVersion":"HTTP/1.1","headers":[{"name":"Origin","value":"https://a.example"}],"cookies":[],"queryString":[],"headersSize":-1,"bodySize":0},` +
		`"response":{"status":` + itoa(status) + `,"statusText":"","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":0,"mimeType":"x-unknown"},"redirectURL":"","headersSize":-1,"bodySize":-1},` +
		`"cache":{},"timings":{"send":0,"wait":10,"receive":2.5}` + extra + `}`
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func readOne(t *testing.T, doc []byte, opts Options) *storage.Exchange {
	t.Helper()
	exs, _, err := readAll(t, doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != 1 {
		t.Fatalf("%d exchanges", len(exs))
	}
	return exs[0]
}

func TestStartedDateTimeOffsets(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 123000000, time.UTC)
	for _, s := range []string{
		"2026-01-02T03:04:05.123Z",
		"2026-01-02T05:04:05.123+02:00", // Firefox local offset
		"2026-01-01T22:04:05.123-05:00",
		"2026-01-02T05:04:05.1230000+02:00", // Fiddler's 7 digits
		"2026-01-02T03:04:05.123000+00:00",  // mitmproxy
		"2026-01-02T05:04:05.123+0200",
		"2026-01-02 03:04:05.123Z",
	} {
		ex := readOne(t, harOf(entryJSON(s, "https://x.example/", "GET", 200, "")), Options{})
		if !ex.Started.Equal(want) || ex.Started.Location() != time.UTC {
			t.Errorf("%s: Started %v, want %v", s, ex.Started, want)
		}
		if d := ex.Ended.Sub(ex.Started); d != 12500*time.Microsecond {
			t.Errorf("%s: duration %v", s, d)
		}
		if d := ex.RespStarted.Sub(ex.Started); d != 10*time.Millisecond {
			t.Errorf("%s: response after %v", s, d)
		}
	}
	ex := readOne(t, harOf(entryJSON("yesterday", "https://x.example/", "GET", 200, "")), Options{})
	if !ex.Started.IsZero() || len(ex.Warnings) != 1 || !strings.Contains(ex.Warnings[0], `invalid startedDateTime "yesterday"`) {
		t.Errorf("bad time: %v %v", ex.Started, ex.Warnings)
	}
}

func TestNoResponseStatuses(t *testing.T) {
	tests := []struct {
		name, entry, warning string
	}{
		{"Playwright blocked CORS request", entryJSON("2026-01-02T03:04:05Z", "https://api.example/x", "GET", -1, `,"_failureText":"net::ERR_FAILED"`),
			"no response: request blocked or aborted (HAR status -1): net::ERR_FAILED"},
		{"Firefox aborted request", entryJSON("2026-01-02T03:04:05Z", "https://api.example/x", "GET", 0, ""),
			"no response: request blocked or aborted (HAR status 0)"},
		{"Chrome CORS error", strings.Replace(entryJSON("2026-01-02T03:04:05Z", "https://api.example/x", "GET", 0, ""), `"bodySize":-1}`, `"bodySize":-1,"_error":"net::ERR_FAILED"}`, 1),
			"no response: request blocked or aborted (HAR status 0): net::ERR_FAILED"},
		{"answered then aborted", strings.Replace(entryJSON("2026-01-02T03:04:05Z", "https://api.example/x", "GET", 200, ""), `"bodySize":-1}`, `"bodySize":-1,"_error":"net::ERR_ABORTED"}`, 1),
			"request failed after the response began: net::ERR_ABORTED"},
		{"no response object", `{"startedDateTime":"2026-01-02T03:04:05Z","request":{"method":"GET","url":"https://api.example/x","headers":[]}}`,
			"no response: entry has no response object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := readOne(t, harOf(tt.entry), Options{})
			if len(ex.Warnings) != 1 || ex.Warnings[0] != tt.warning {
				t.Errorf("status %d warnings %q", ex.Status, ex.Warnings)
			}
			if ex.Status == 200 {
				return
			}
			if ex.Status != 0 || !ex.Ended.IsZero() {
				t.Errorf("a request without response has no end: %v", ex.Ended)
			}
			if ex.Origin() != "https://a.example" && tt.name != "no response object" {
				t.Errorf("the blocked request's headers are evidence: %v", ex.RequestHeaders)
			}
		})
	}
}

func TestBodies(t *testing.T) {
	binary := make([]byte, 5000)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	b64 := base64.StdEncoding.EncodeToString(binary)
	escaped := strings.ReplaceAll(b64, "/", `\/`) // PHP-style escaping
	content := func(text, enc string, size int) string {
		c := `"content":{"size":` + itoa(size) + `,"mimeType":"image/png","text":"` + text + `"`
		if enc != "" {
			c += `,"encoding":"` + enc + `"`
		}
		return c + "}"
	}
	withContent := func(c string) []byte {
		e := entryJSON("2026-01-02T03:04:05Z", "https://x.example/i.png", "GET", 200, "")
		return harOf(strings.Replace(e, `"content":{"size":0,"mimeType":"x-unknown"}`, c, 1))
	}
	tests := []struct {
		name     string
		doc      []byte
		maxBody  int64
		wantBody []byte
		wantSize int64
		warn     string
	}{
		{"base64", withContent(content(b64, "base64", 5000)), 0, binary, 5000, ""},
		{"base64 with escaped slashes", withContent(content(escaped, "base64", 5000)), 0, binary, 5000, ""},
		{"base64 capped lazily", withContent(content(b64, "base64", 5000)), 1001, binary[:1001], 5000, ""},
		{"base64 without size", withContent(content(b64, "base64", -1)), 0, binary, 5000, ""},
		{"base64 with line breaks", withContent(content(strings.Join([]string{b64[:76], b64[76:]}, `\r\n`), "base64", 5000)), 0, binary, 5000, ""},
		{"not base64", withContent(content("hello, world!", "base64", 13)), 0, []byte("hello, world!"), 13, "response body: invalid base64, kept as sent"},
		{"text with escapes", withContent(content(`{\"a\":\"\u00e9\ud83d\ude00\"}\n`, "", 16)), 0, []byte("{\"a\":\"é😀\"}\n"), 16, ""},
		{"text capped", withContent(content(`0123456789`, "", 10)), 4, []byte("0123"), 10, ""},
		{"Firefox cut body keeps the real size", withContent(content(`0123456789`, "", 2000000)), 0, []byte("0123456789"), 2000000, ""},
		{"bodies off", withContent(content(b64, "base64", 5000)), -1, nil, 5000, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := readOne(t, tt.doc, Options{MaxBody: tt.maxBody})
			if !bytes.Equal(ex.ResponseBody, tt.wantBody) || ex.ResponseBodySize != tt.wantSize {
				t.Errorf("body %d bytes (size %d), want %d (size %d): %q", len(ex.ResponseBody), ex.ResponseBodySize, len(tt.wantBody), tt.wantSize, ex.ResponseBody[:min(20, len(ex.ResponseBody))])
			}
			if got := strings.Join(ex.Warnings, "|"); got != tt.warn {
				t.Errorf("warnings %q, want %q", got, tt.warn)
			}
		})
	}

	post := strings.Replace(entryJSON("2026-01-02T03:04:05Z", "https://x.example/api", "POST", 201, ""),
		`"bodySize":0}`, `"bodySize":11,"postData":{"mimeType":"application/json","text":"{\"a\":\"b\"}\t"}}`, 1)
	ex := readOne(t, harOf(post), Options{})
	if string(ex.RequestBody) != "{\"a\":\"b\"}\t" || ex.RequestBodySize != 11 {
		t.Errorf("post body %q size %d", ex.RequestBody, ex.RequestBodySize)
	}
}

func TestEntryOverCap(t *testing.T) {
	big := strings.Replace(entryJSON("2026-01-02T03:04:06Z", "https://x.example/big", "GET", 200, ""),
		`"content":{"size":0,"mimeType":"x-unknown"}`, `"content":{"size":300000,"mimeType":"text/plain","text":"`+strings.Repeat("a\\\"", 100000)+`"}`, 1)
	doc := harOf(
		entryJSON("2026-01-02T03:04:05Z", "https://x.example/1", "GET", 200, ""),
		big,
		entryJSON("2026-01-02T03:04:07Z", "https://x.example/3", "GET", 200, ""),
	)
	for _, capBytes := range []int64{64 << 10, 290 << 10} { // below and above the reader's 256 KiB window
		exs, sum, err := readAll(t, doc, Options{MaxEntryBytes: capBytes})
		if err != nil {
			t.Fatal(err)
		}
		if len(exs) != 2 || exs[0].Path != "/1" || exs[1].Path != "/3" || exs[1].EntryIndex != 2 || sum.Skipped != 1 || sum.Entries != 2 {
			t.Fatalf("cap %d: %d exchanges, summary %+v", capBytes, len(exs), sum)
		}
		off := bytes.Index(doc, []byte(`{"startedDateTime":"2026-01-02T03:04:06Z"`))
		if len(sum.Warnings) != 1 || !strings.HasPrefix(sum.Warnings[0], "entry 1 at byte "+itoa(off)+": ") || !strings.Contains(sum.Warnings[0], "entry cap: skipped") {
			t.Errorf("warnings %q", sum.Warnings)
		}
		if exs[1].Offset != int64(bytes.Index(doc, []byte(`{"startedDateTime":"2026-01-02T03:04:07Z"`))) {
			t.Errorf("offset after the skipped entry: %d", exs[1].Offset)
		}
	}
	// with the default cap the entry is read
	exs, _, err := readAll(t, doc, Options{})
	if err != nil || len(exs) != 3 || exs[1].ResponseBodySize != 300000 {
		t.Fatalf("default cap: %v %d", err, len(exs))
	}
}

func TestProducerFields(t *testing.T) {
	chrome := `{"_connectionId":"8123","_fromCache":"disk","_initiator":{"type":"preflight","url":"https://api.example/v1","requestId":"4242.17"},` +
		`"_priority":"High","_resourceType":"preflight","connection":"443","serverIPAddress":"[2001:db8::1]","startedDateTime":"2026-01-02T03:04:05.000Z","time":3,` +
		`"request":{"method":"OPTIONS","url":"https://API.Example:8443/v1?x=1#frag","httpVersion":"http/2.0","headers":[{"name":"origin","value":"https://a.example"},{"name":"access-control-request-method","value":"PUT"}],"headersSize":-1,"bodySize":0},` +
		`"response":{"status":204,"statusText":"","httpVersion":"http/2.0","headers":[{"name":"access-control-allow-origin","value":"*"},{"name":"Access-Control-Allow-Origin","value":"https://a.example"}],"content":{"size":0,"mimeType":"x-unknown"},"redirectURL":"","headersSize":-1,"bodySize":0},` +
		`"cache":{},"timings":{"blocked":1,"dns":-1,"ssl":-1,"connect":-1,"send":0,"wait":1.5,"receive":0.5},"_webSocketMessages":[{"type":"send","time":1,"opcode":1,"data":"x"}]}`
	ex := readOne(t, harOf(chrome), Options{})
	if ex.ResourceType != "preflight" || ex.InitiatorRequestID != "4242.17" || !ex.FromCache || ex.ConnNo != 8123 {
		t.Errorf("hints: %q %q %v %d", ex.ResourceType, ex.InitiatorRequestID, ex.FromCache, ex.ConnNo)
	}
	if ex.Host != "api.example" || ex.Port != 8443 || ex.Path != "/v1" || ex.Query != "x=1" || ex.Scheme != "https" || !ex.TLS {
		t.Errorf("url: %q %d %q %q", ex.Host, ex.Port, ex.Path, ex.Query)
	}
	if ex.Server != "[2001:db8::1]:8443" || ex.Proto != storage.ProtoHTTP2 || ex.ResponseBody != nil {
		t.Errorf("server %q proto %q body %q", ex.Server, ex.Proto, ex.ResponseBody)
	}
	if ex.ResponseHeaders.Count("access-control-allow-origin") != 2 || ex.ResponseHeaders[0].Name != "access-control-allow-origin" || ex.ResponseHeaders[1].Name != "Access-Control-Allow-Origin" {
		t.Errorf("duplicates and case must survive: %v", ex.ResponseHeaders)
	}

	playwright := `{"startedDateTime":"2026-01-02T03:04:05.000Z","time":3,"serverIPAddress":"127.0.0.1","_serverPort":9000,"_requestId":"abc","connection":"conn-7",` +
		`"request":{"method":"GET","url":"ws://127.0.0.1:9000/socket","httpVersion":"HTTP/1.1","headers":[],"headersSize":-1,"bodySize":0},` +
		`"response":{"status":101,"statusText":"Switching Protocols","httpVersion":"HTTP/1.1","headers":[{"name":"Upgrade","value":"websocket"}],"content":{"size":0,"mimeType":""},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`
	ex = readOne(t, harOf(playwright), Options{})
	if ex.Upgrade != "websocket" || ex.Server != "127.0.0.1:9000" || ex.SourceRequestID != "abc" || ex.ConnNo <= stringConnBase || ex.Port != 9000 || ex.TLS {
		t.Errorf("upgrade %q server %q id %q conn %d", ex.Upgrade, ex.Server, ex.SourceRequestID, ex.ConnNo)
	}
}

func TestProtoNames(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP/1.1": storage.ProtoHTTP11, "http/1.1": storage.ProtoHTTP11, "HTTP/1.0": storage.ProtoHTTP10,
		"http/2.0": storage.ProtoHTTP2, "h2": storage.ProtoHTTP2, "HTTP/2": storage.ProtoHTTP2,
		"h3": storage.ProtoHTTP3, "h3-29": storage.ProtoHTTP3, "http/2+quic/46": storage.ProtoHTTP3,
		"": "", "unknown": "", "spdy/3": "",
	} {
		if got := normalizeProto(in); got != want {
			t.Errorf("normalizeProto(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitURL(t *testing.T) {
	tests := []struct {
		url, scheme, host string
		port              int
		path, query       string
	}{
		{"https://Example.COM/a/b?c=d&e", "https", "example.com", 443, "/a/b", "c=d&e"},
		{"http://user:pw@host:8080", "http", "host", 8080, "/", ""},
		{"http://[::1]:3000/x", "http", "::1", 3000, "/x", ""},
		{"https://[2001:DB8::1]/", "https", "2001:db8::1", 443, "/", ""},
		{"wss://h.example/socket?x#y", "wss", "h.example", 443, "/socket", "x"},
		{"http://h?x=/y", "http", "h", 80, "/", "x=/y"},
		{"http://h:bad/", "http", "h", 80, "/", ""},
		{"about:blank", "about", "", 0, "blank", ""},
		{"/relative", "", "", 0, "/relative", ""},
	}
	for _, tt := range tests {
		var ex storage.Exchange
		splitURL(&ex, tt.url)
		if ex.Scheme != tt.scheme || ex.Host != tt.host || ex.Port != tt.port || ex.Path != tt.path || ex.Query != tt.query {
			t.Errorf("%s: %q %q %d %q %q", tt.url, ex.Scheme, ex.Host, ex.Port, ex.Path, ex.Query)
		}
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]bool{
		`{"log":{}}`:                        true,
		"\xef\xbb\xbf\r\n {\n  \"log\" : {": true,
		`{"version":1, "log": {`:            true,
		`{"logs": {}}`:                      false,
		`["log"]`:                           false,
		"\xd4\xc3\xb2\xa1":                  false, // pcap magic
		``:                                  false,
		`{"catalog": "log"}`:                false,
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %v", in, got)
		}
	}
}

func TestMalformedInputs(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		partial bool
		entry   int
		msg     string
		emitted int
	}{
		{"empty", "", false, -1, "not JSON: empty input", 0},
		{"binary", "\x00\x01", false, -1, "not JSON", 0},
		{"array", `[{"log":{}}]`, false, -1, "top-level JSON value is not an object", 0},
		{"log not object", `{"log":[]}`, false, -1, `"log" is not an object`, 0},
		{"entries not array", `{"log":{"entries":{}}}`, false, -1, `"entries" is not an array`, 0},
		{"no log", `{"foo":1}`, false, -1, `no "log" object`, 0},
		{"garbage in second entry", string(harOf(entryJSON("2026-01-02T03:04:05Z", "http://h/", "GET", 200, ""), `{"a":tru}`)), true, 1, "syntax error", 1},
		{"missing comma between entries", strings.Replace(string(harOf(entryJSON("2026-01-02T03:04:05Z", "http://h/", "GET", 200, ""), entryJSON("2026-01-02T03:04:05Z", "http://h/", "GET", 200, ""))), "},{\"started", "} {\"started", 1), true, -1, "after array element", 1},
		{"cut after entries", string(harOf(entryJSON("2026-01-02T03:04:05Z", "http://h/", "GET", 200, "")))[:len(harOf(entryJSON("2026-01-02T03:04:05Z", "http://h/", "GET", 200, "")))-2], true, -1, "unexpected EOF", 1},
		{"unbalanced brackets", `{"log":{"pages":[}],"entries":[]}}`, false, -1, "unexpected '}'", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exs, _, err := readAll(t, []byte(tt.doc), Options{Path: "x.har"})
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("err %v", err)
			}
			if he.Partial != tt.partial || he.Entry != tt.entry || !strings.Contains(err.Error(), tt.msg) || len(exs) != tt.emitted || !strings.HasPrefix(err.Error(), "x.har: ") {
				t.Errorf("%v: partial %v entry %d, %d emitted", err, he.Partial, he.Entry, len(exs))
			}
		})
	}

	// odd but readable: wrong member types are ignored, not fatal
	odd := `{"startedDateTime":"2026-01-02T03:04:05Z","time":"7","request":{"method":"GET","url":"http://h/","headers":[{"name":"A","value":5},{"name":"B","value":null},null],"postData":null},` +
		`"response":{"status":"200","headers":null,"content":{"size":null,"text":null}},"timings":[],"_initiator":"parser"}`
	ex := readOne(t, harOf(odd, `7`), Options{})
	if ex.Status != 200 || len(ex.RequestHeaders) != 2 || ex.RequestHeaders[0].Value != "5" || ex.RequestHeaders[1].Value != "" {
		t.Errorf("status %d headers %v", ex.Status, ex.RequestHeaders)
	}
}

func TestEmitErrorStops(t *testing.T) {
	stop := errors.New("disk full")
	doc := harOf(entryJSON("2026-01-02T03:04:05Z", "http://h/1", "GET", 200, ""), entryJSON("2026-01-02T03:04:05Z", "http://h/2", "GET", 200, ""))
	n := 0
	_, err := Read(bytes.NewReader(doc), Options{}, func(*storage.Exchange) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("err %v after %d", err, n)
	}
}

func TestTrailingDataAndPlaywrightWarning(t *testing.T) {
	doc := append([]byte(`{"log":{"creator":{"name":"Playwright","version":"1.49"},"entries":[]}}`), "\n\nxx"...)
	_, sum, err := readAll(t, doc, Options{})
	if err != nil || len(sum.Warnings) != 2 || !strings.Contains(sum.Warnings[0], "omits CORS preflights") || !strings.Contains(sum.Warnings[1], "data after the HAR document at byte 73") {
		t.Errorf("%v %q", err, sum.Warnings)
	}
}

// oneByteReader returns one byte per Read, to exercise every refill path.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestSmallReads(t *testing.T) {
	doc := harOf(entryJSON("2026-01-02T03:04:05Z", "http://h/1", "GET", 200, ""), entryJSON("2026-01-02T03:04:05Z", "http://h/\\\"2", "GET", 200, ""))
	var got []string
	_, err := Read(&oneByteReader{doc}, Options{}, func(ex *storage.Exchange) error { got = append(got, ex.Path); return nil })
	if err != nil || len(got) != 2 || got[1] != `/"2` {
		t.Errorf("%v %q", err, got)
	}
}

func TestUTF16Files(t *testing.T) {
	doc := harOf(entryJSON("2026-01-02T03:04:05Z", "https://x.example/é", "GET", 200, ""))
	for _, enc := range []encoding.Encoding{
		unicode.UTF16(unicode.LittleEndian, unicode.UseBOM),
		unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
	} {
		u16, err := enc.NewEncoder().Bytes(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !Sniff(u16[:101]) {
			t.Errorf("Sniff misses UTF-16 % x", u16[:4])
		}
		exs, sum, err := readAll(t, u16, Options{})
		if err != nil || len(exs) != 1 || exs[0].Path != "/é" || len(sum.Warnings) != 1 {
			t.Errorf("%v %d %v", err, len(exs), sum.Warnings)
		}
	}
}
