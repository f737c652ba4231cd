package http1

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// conn simulates one TCP connection feeding a Parser with real-looking
// sequence and acknowledgement numbers.
type conn struct {
	p     *Parser
	out   []*storage.Exchange
	seq   [2]uint32
	pkt   int64
	now   time.Time
	split func([]byte) [][]byte
}

func newConn(opts Options) *conn {
	c := &conn{seq: [2]uint32{1000, 5000000}, now: t0}
	c.p = NewParser(opts, ConnMeta{Client: "10.0.0.1:40000", Server: "10.0.0.2:8080", ConnNo: 7}, func(x *storage.Exchange) {
		c.out = append(c.out, x)
	})
	return c
}

func (c *conn) send(dir Dir, s string) {
	segs := [][]byte{[]byte(s)}
	if c.split != nil {
		segs = c.split([]byte(s))
	}
	for _, b := range segs {
		if len(b) == 0 {
			continue
		}
		c.pkt++
		c.now = c.now.Add(time.Millisecond)
		data := append([]byte(nil), b...) // Data is only valid during the call
		c.p.Feed(dir, Segment{Data: data, Time: c.now, Packet: c.pkt, Seq: c.seq[dir], Ack: c.seq[1-dir]})
		clear(data) // the parser must not keep references to Data
		c.seq[dir] += uint32(len(b))
	}
}

func (c *conn) client(s string) { c.send(ClientToServer, s) }
func (c *conn) server(s string) { c.send(ServerToClient, s) }

// lose drops s from dir's stream, as a capture that missed those packets.
func (c *conn) lose(dir Dir, s string) {
	c.seq[dir] += uint32(len(s))
	c.pkt++
	c.p.Gap(dir, len(s), c.now)
}

func (c *conn) close() []*storage.Exchange {
	c.p.Close(c.now)
	return c.out
}

type step struct {
	dir  Dir
	data string
	lost bool
}

func C(s string) step     { return step{dir: ClientToServer, data: s} }
func S(s string) step     { return step{dir: ServerToClient, data: s} }
func LostC(s string) step { return step{dir: ClientToServer, data: s, lost: true} }
func LostS(s string) step { return step{dir: ServerToClient, data: s, lost: true} }

func run(steps []step, split func([]byte) [][]byte, opts Options) []*storage.Exchange {
	c := newConn(opts)
	c.split = split
	for _, s := range steps {
		if s.lost {
			c.lose(s.dir, s.data)
		} else {
			c.send(s.dir, s.data)
		}
	}
	return c.close()
}

// summary renders the exchange fields the framing tests care about.
func summary(xs []*storage.Exchange) string {
	var b strings.Builder
	for _, x := range xs {
		fmt.Fprintf(&b, "%s %s %s %s:%d %d %q req=%d:%q resp=%d:%q", x.Method, x.Path, x.Query, x.Host, x.Port, x.Status, x.StatusText,
			x.RequestBodySize, x.RequestBody, x.ResponseBodySize, x.ResponseBody)
		if x.Upgrade != "" {
			b.WriteString(" upgrade=" + x.Upgrade)
		}
		for _, w := range x.Warnings {
			b.WriteString(" [" + w + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func whole(b []byte) [][]byte { return [][]byte{b} }

func bytewise(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

func splitAt(n int) func([]byte) [][]byte {
	return func(b []byte) [][]byte {
		if n >= len(b) {
			return [][]byte{b}
		}
		return [][]byte{b[:n], b[n:]}
	}
}

func get(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: example.com\r\nOrigin: https://a.test\r\n\r\n"
}

func ok(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

var framingCases = []struct {
	name  string
	steps []step
	want  string
}{
	{
		name:  "keep-alive exchanges pair in order",
		steps: []step{C(get("/a?x=1")), S(ok("one")), C(get("/b")), S(ok("two!"))},
		want: `GET /a x=1 example.com:8080 200 "OK" req=0:"" resp=3:"one"
GET /b  example.com:8080 200 "OK" req=0:"" resp=4:"two!"
`,
	},
	{
		name: "HEAD response with Content-Length has no body and does not swallow the next response",
		steps: []step{C("HEAD /h HTTP/1.1\r\nHost: example.com\r\n\r\n"),
			S("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
			C(get("/next")), S(ok("body"))},
		want: `HEAD /h  example.com:8080 200 "OK" req=0:"" resp=0:""
GET /next  example.com:8080 200 "OK" req=0:"" resp=4:"body"
`,
	},
	{
		name: "100 Continue is interim and the final status belongs to the same POST",
		steps: []step{C("POST /up HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
			S("HTTP/1.1 100 Continue\r\n\r\n"), C("hello"), S(ok("done")), C(get("/after")), S(ok("x"))},
		want: `POST /up  example.com:8080 200 "OK" req=5:"hello" resp=4:"done" [interim response 100 "Continue"]
GET /after  example.com:8080 200 "OK" req=0:"" resp=1:"x"
`,
	},
	{
		name:  "pipelined requests pair with responses in order",
		steps: []step{C(get("/1") + get("/2") + "HEAD /3 HTTP/1.1\r\nHost: example.com\r\n\r\n"), S(ok("a") + ok("bb") + "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"), C(get("/4")), S(ok("d"))},
		want: `GET /1  example.com:8080 200 "OK" req=0:"" resp=1:"a"
GET /2  example.com:8080 200 "OK" req=0:"" resp=2:"bb"
HEAD /3  example.com:8080 200 "OK" req=0:"" resp=0:""
GET /4  example.com:8080 200 "OK" req=0:"" resp=1:"d"
`,
	},
	{
		name: "chunked body with extensions and trailers",
		steps: []step{C(get("/c")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
			"4;name=value\r\nWiki\r\n5 ; x=\"y\"\r\npedia\r\n0\r\nX-Sum: abc\r\nAccess-Control-Allow-Origin: *\r\n\r\n"), C(get("/n")), S(ok("n"))},
		want: `GET /c  example.com:8080 200 "OK" req=0:"" resp=9:"Wikipedia" [trailer fields: "X-Sum: abc" "Access-Control-Allow-Origin: *"]
GET /n  example.com:8080 200 "OK" req=0:"" resp=1:"n"
`,
	},
	{
		name:  "chunked request body",
		steps: []step{C("POST /p HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), S(ok("k"))},
		want: `POST /p  example.com:8080 200 "OK" req=3:"abc" resp=1:"k"
`,
	},
	{
		name:  "204 and 304 have no body",
		steps: []step{C(get("/a")), S("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"), C(get("/b")), S("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"), C(get("/c")), S(ok("c"))},
		want: `GET /a  example.com:8080 204 "No Content" req=0:"" resp=0:""
GET /b  example.com:8080 304 "Not Modified" req=0:"" resp=0:""
GET /c  example.com:8080 200 "OK" req=0:"" resp=1:"c"
`,
	},
	{
		name:  "close-delimited body ends with the connection",
		steps: []step{C("GET /old HTTP/1.0\r\n\r\n"), S("HTTP/1.0 200 OK\r\n\r\nall of "), S("this")},
		want: `GET /old  10.0.0.2:8080 200 "OK" req=0:"" resp=11:"all of this"
`,
	},
	{
		name:  "WebSocket handshake is an exchange and frames after 101 are not parsed",
		steps: []step{C("GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: https://evil.test\r\n\r\n"), S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"), C("\x81\x85\x00\x00\x00\x00GET / HTTP/1.1\r\n\r\n"), S("HTTP/1.1 200 OK\r\n\r\n")},
		want: `GET /ws  example.com:8080 101 "Switching Protocols" req=0:"" resp=0:"" upgrade=websocket
`,
	},
	{
		name:  "CONNECT 200 starts a tunnel",
		steps: []step{C("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n"), S("HTTP/1.1 200 Connection established\r\n\r\n"), C("\x16\x03\x01\x02\x00GET / HTTP/1.1\r\n\r\n"), S("\x16\x03\x03")},
		want: `CONNECT   api.example.com:443 200 "Connection established" req=0:"" resp=0:"" upgrade=connect
`,
	},
	{
		name:  "CONNECT refused keeps parsing HTTP",
		steps: []step{C("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n"), S("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\n"), C(get("/x")), S(ok("x"))},
		want: `CONNECT   api.example.com:443 407 "Proxy Auth" req=0:"" resp=0:""
GET /x  example.com:8080 200 "OK" req=0:"" resp=1:"x"
`,
	},
	{
		name:  "upgrade refused: pipelined bytes sent while waiting are parsed after the answer",
		steps: []step{C("GET /u HTTP/1.1\r\nHost: example.com\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n" + get("/v")), S(ok("u") + ok("v"))},
		want: `GET /u  example.com:8080 200 "OK" req=0:"" resp=1:"u"
GET /v  example.com:8080 200 "OK" req=0:"" resp=1:"v"
`,
	},
	{
		name:  "HTTP/0.9 request and response without status line",
		steps: []step{C("GET /nine\r\n"), S("<html>old</html>")},
		want: `GET /nine  10.0.0.2:8080 200 "" req=0:"" resp=16:"<html>old</html>" [HTTP/0.9 request] [HTTP/0.9 response without status line]
`,
	},
	{
		name:  "a versionless line with another method is HTTP/0.9-style too",
		steps: []step{C("POST /zeek.html\n"), S("bad method")},
		want: `POST /zeek.html  10.0.0.2:8080 200 "" req=0:"" resp=10:"bad method" [malformed request line: "POST /zeek.html"] [HTTP/0.9 response without status line]
`,
	},
	{
		name:  "absolute-form target sets scheme, host and default port",
		steps: []step{C("GET http://Proxy.Example.COM/p/q?z=9 HTTP/1.1\r\nHost: other.test\r\n\r\n"), S(ok("p"))},
		want: `GET /p/q z=9 proxy.example.com:80 200 "OK" req=0:"" resp=1:"p"
`,
	},
	{
		name:  "OPTIONS * and a Host with a port",
		steps: []step{C("OPTIONS * HTTP/1.1\r\nHost: [::1]:9443\r\n\r\n"), S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")},
		want: `OPTIONS *  ::1:9443 200 "OK" req=0:"" resp=0:""
`,
	},
	{
		name:  "conflicting Content-Length is flagged",
		steps: []step{C(get("/cl")), S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc"), C(get("/n")), S(ok("n"))},
		want: `GET /cl  example.com:8080 200 "OK" req=0:"" resp=3:"abc" [conflicting Content-Length values]
GET /n  example.com:8080 200 "OK" req=0:"" resp=1:"n"
`,
	},
	{
		name:  "request without response at close gets status 0",
		steps: []step{C(get("/a")), S(ok("a")), C(get("/b"))},
		want: `GET /a  example.com:8080 200 "OK" req=0:"" resp=1:"a"
GET /b  example.com:8080 0 "" req=0:"" resp=0:"" [no response in capture]
`,
	},
	{
		name:  "gap inside a body with Content-Length is skipped exactly",
		steps: []step{C(get("/big")), S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), LostS("defg"), S("hij"), C(get("/n")), S(ok("n"))},
		want: `GET /big  example.com:8080 200 "OK" req=0:"" resp=10:"abc" [response body truncated by capture gap]
GET /n  example.com:8080 200 "OK" req=0:"" resp=1:"n"
`,
	},
	{
		name:  "gap in request headers then resynchronisation on the next request line",
		steps: []step{C("GET /a HTTP/1.1\r\nHost: exa"), LostC("mple.com\r\nX: y\r\n\r\n"), S(ok("a")), C("junk\r\n" + get("/b")), S(ok("b"))},
		want: `GET /a  10.0.0.2:8080 200 "OK" req=0:"" resp=1:"a" [request headers truncated by capture gap]
GET /b  example.com:8080 200 "OK" req=0:"" resp=1:"b" [resynchronised after skipping 6 bytes]
`,
	},
	{
		name:  "gap in response headers: status kept, next response resynchronised",
		steps: []step{C(get("/a")), S("HTTP/1.1 404 Not Found\r\nContent-"), LostS("Length: 3\r\n\r\nabc"), C(get("/b")), S(ok("b"))},
		want: `GET /a  example.com:8080 404 "Not Found" req=0:"" resp=0:"" [response headers truncated by capture gap]
GET /b  example.com:8080 200 "OK" req=0:"" resp=1:"b"
`,
	},
	{
		name:  "response whose request is not in the capture",
		steps: []step{S(ok("mid")), C(get("/a")), S(ok("a"))},
		want: `   10.0.0.2:8080 200 "OK" req=0:"" resp=3:"mid" [request not in capture]
GET /a  example.com:8080 200 "OK" req=0:"" resp=1:"a"
`,
	},
	{
		name:  "request lost in a gap: its response does not shift later pairs",
		steps: []step{C(get("/1")), S(ok("1")), LostC(get("/2")), S(ok("2")), C(get("/3")), S(ok("3"))},
		want: `GET /1  example.com:8080 200 "OK" req=0:"" resp=1:"1"
   10.0.0.2:8080 200 "OK" req=0:"" resp=1:"2" [request not in capture]
GET /3  example.com:8080 200 "OK" req=0:"" resp=1:"3"
`,
	},
	{
		name: "malformed request lines the server answered are kept, flagged",
		steps: []step{C("GET  / HTTP/1.\r\nHost: example.com\r\n\r\n"), S("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad"),
			C("HEAD /HTTP/1.1\r\nHost: example.com\r\n\r\n"), S("HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nbad!"),
			C(get("/ok")), S(ok("k"))},
		want: `GET /  example.com:8080 400 "Bad Request" req=0:"" resp=3:"bad" [malformed request line: "GET  / HTTP/1."] [unusual HTTP version "HTTP/1."]
HEAD /HTTP/1.1  example.com:8080 400 "Bad Request" req=0:"" resp=4:"bad!" [malformed request line: "HEAD /HTTP/1.1"]
GET /ok  example.com:8080 200 "OK" req=0:"" resp=1:"k"
`,
	},
	{
		name:  "empty list elements in Transfer-Encoding do not hide chunked",
		steps: []step{C(get("/te")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\tchunked, \r\n\r\n2\r\nok\r\n0\r\n\r\n"), C(get("/n")), S(ok("n"))},
		want: `GET /te  example.com:8080 200 "OK" req=0:"" resp=2:"ok"
GET /n  example.com:8080 200 "OK" req=0:"" resp=1:"n"
`,
	},
	{
		name:  "mid-stream start inside a response body",
		steps: []step{S("tail of a body\r\nmore\r\n" + ok("x")), C(get("/a")), S(ok("a"))},
		want: `   10.0.0.2:8080 200 "OK" req=0:"" resp=1:"x" [request not in capture] [non-HTTP bytes in server stream skipped] [resynchronised after skipping 22 bytes]
GET /a  example.com:8080 200 "OK" req=0:"" resp=1:"a"
`,
	},
}

func TestFramingWholeSegments(t *testing.T) {
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			got := summary(run(tc.steps, nil, Options{}))
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// Feeding one byte per segment, or any two-way split, must not change the result.
func TestFramingIncremental(t *testing.T) {
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			want := summary(run(tc.steps, nil, Options{}))
			if got := summary(run(tc.steps, bytewise, Options{})); got != want {
				t.Fatalf("byte-by-byte:\n%s\nwhole:\n%s", got, want)
			}
			longest := 0
			for _, s := range tc.steps {
				longest = max(longest, len(s.data))
			}
			for n := 1; n < longest; n++ {
				if got := summary(run(tc.steps, splitAt(n), Options{})); got != want {
					t.Fatalf("split at %d:\n%s\nwhole:\n%s", n, got, want)
				}
			}
		})
	}
}

func TestRawHeadersKept(t *testing.T) {
	xs := run([]step{
		C("GET / HTTP/1.1\r\nhost: Example.com\r\nORIGIN: https://a.test\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\naccess-control-allow-origin: https://a.test\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials:  true \r\nContent-Length: 0\r\n\r\n"),
	}, nil, Options{})
	if len(xs) != 1 {
		t.Fatalf("got %d exchanges", len(xs))
	}
	x := xs[0]
	wantReq := hdrs("host", "Example.com", "ORIGIN", "https://a.test", "X-Dup", "1", "X-Dup", "2")
	wantResp := hdrs("access-control-allow-origin", "https://a.test", "Access-Control-Allow-Origin", "*",
		"Access-Control-Allow-Credentials", "true", "Content-Length", "0")
	if !slices.Equal(x.RequestHeaders, wantReq) {
		t.Errorf("request headers %q", x.RequestHeaders)
	}
	if !slices.Equal(x.ResponseHeaders, wantResp) {
		t.Errorf("response headers %q", x.ResponseHeaders)
	}
	if x.Host != "example.com" || x.Origin() != "https://a.test" || x.Proto != storage.ProtoHTTP11 || x.Scheme != "http" {
		t.Errorf("host %q origin %q proto %q scheme %q", x.Host, x.Origin(), x.Proto, x.Scheme)
	}
	if x.Client != "10.0.0.1:40000" || x.Server != "10.0.0.2:8080" || x.ConnNo != 7 || x.EntryIndex != -1 {
		t.Errorf("meta %q %q %d %d", x.Client, x.Server, x.ConnNo, x.EntryIndex)
	}
}

func TestObsFoldKeptRaw(t *testing.T) {
	xs := run([]step{C("GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n  b\r\n\tc\r\nAfter: 1\r\n\r\n"), S(ok(""))}, nil, Options{})
	h := xs[0].RequestHeaders
	if v := h.Value("X-Long"); v != "a\r\n  b\r\n\tc" {
		t.Errorf("folded value %q", v)
	}
	if h.Value("After") != "1" || len(h) != 3 {
		t.Errorf("headers %q", h)
	}
	if !slices.Contains(xs[0].Warnings, "obs-fold line folded into header X-Long") {
		t.Errorf("warnings %q", xs[0].Warnings)
	}
}

// Timestamps and packet numbers: request first byte, final response first
// byte, response last byte.
func TestTimesAndPackets(t *testing.T) {
	c := newConn(Options{})
	c.client("POST /t HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n") // packet 1
	c.server("HTTP/1.1 100 Continue\r\n\r\n")                                                    // 2
	c.client("hi")                                                                               // 3
	c.server("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")                                   // 4
	c.server("cd")                                                                               // 5
	xs := c.close()
	x := xs[0]
	if x.FirstPacket != 1 || x.LastPacket != 5 {
		t.Errorf("packets %d..%d", x.FirstPacket, x.LastPacket)
	}
	if !x.Started.Equal(t0.Add(time.Millisecond)) || !x.RespStarted.Equal(t0.Add(4*time.Millisecond)) || !x.Ended.Equal(t0.Add(5*time.Millisecond)) {
		t.Errorf("times %v %v %v", x.Started, x.RespStarted, x.Ended)
	}
}

// Ten keep-alive exchanges, the fifth response lost: nine pairs and one
// request with status 0, none shifted.
func TestLostResponsePairsBySeqAck(t *testing.T) {
	var steps []step
	for i := 1; i <= 10; i++ {
		steps = append(steps, C(get(fmt.Sprintf("/%d", i))))
		resp := ok(fmt.Sprintf("body-%d", i))
		if i == 5 {
			steps = append(steps, LostS(resp))
		} else {
			steps = append(steps, S(resp))
		}
	}
	for name, split := range map[string]func([]byte) [][]byte{"whole": nil, "bytewise": bytewise, "split7": splitAt(7)} {
		xs := run(steps, split, Options{})
		if len(xs) != 10 {
			t.Fatalf("%s: %d exchanges", name, len(xs))
		}
		for i, x := range xs {
			n := i + 1
			if x.Path != fmt.Sprintf("/%d", n) {
				t.Fatalf("%s: exchange %d path %q", name, i, x.Path)
			}
			if n == 5 {
				if x.Status != 0 || !slices.Contains(x.Warnings, WarnResponseLost) {
					t.Errorf("%s: lost one: status %d warnings %q", name, x.Status, x.Warnings)
				}
				continue
			}
			if x.Status != 200 || string(x.ResponseBody) != fmt.Sprintf("body-%d", n) {
				t.Errorf("%s: /%d paired with %d %q", name, n, x.Status, x.ResponseBody)
			}
		}
	}
}

func TestGzipBodyDecoded(t *testing.T) {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(strings.Repeat("hello ", 100)))
	w.Close()
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", z.Len(), z.String())
	xs := run([]step{C(get("/z")), S(resp)}, nil, Options{})
	if string(xs[0].ResponseBody) != strings.Repeat("hello ", 100) || xs[0].ResponseBodySize != 600 {
		t.Errorf("body %d bytes, size %d, warnings %q", len(xs[0].ResponseBody), xs[0].ResponseBodySize, xs[0].Warnings)
	}
}

func TestBodyCaps(t *testing.T) {
	body := strings.Repeat("x", 5000)
	xs := run([]step{C(get("/big")), S(ok(body))}, splitAt(1000), Options{MaxBody: 100})
	if len(xs[0].ResponseBody) != 100 || xs[0].ResponseBodySize != 5000 {
		t.Errorf("stored %d, size %d", len(xs[0].ResponseBody), xs[0].ResponseBodySize)
	}
}

func TestHeaderCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("GET /many HTTP/1.1\r\nHost: h\r\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "X-%d: %s\r\n", i, strings.Repeat("v", 40))
	}
	b.WriteString("\r\n")
	steps := []step{C(b.String()), S(ok("k")), C(get("/next")), S(ok("n"))}
	for _, split := range []func([]byte) [][]byte{nil, bytewise, splitAt(900)} {
		xs := run(steps, split, Options{MaxHeaders: 10, MaxHeaderBytes: 1024})
		if len(xs) != 2 || xs[1].Path != "/next" || xs[1].Status != 200 {
			t.Fatalf("%s", summary(xs))
		}
		if len(xs[0].RequestHeaders) != 10 || !slices.Contains(xs[0].Warnings, WarnHeaderBytesCap) {
			t.Errorf("%d headers, warnings %q", len(xs[0].RequestHeaders), xs[0].Warnings)
		}
	}
}

func TestLooksLike(t *testing.T) {
	for _, tc := range []struct {
		in        string
		req, resp bool
	}{
		{"GET / HTTP/1.1\r\n", true, false},
		{"GET /x\r\n", true, false},
		{"POST /a b HTTP/1.0\n", true, false},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n", true, false},
		{"PATCH /partial-without-end", true, false},
		{"FOO / HTTP/1.1\r\n", true, false},
		{"FOO /cut", false, false},
		{"POST /x\r\n", false, false},
		{"\x16\x03\x01\x00", false, false},
		{"HTTP/1.1 200 OK\r\n", false, true},
		{"HTTP/1.0 404\r\n", false, true},
		{"HTTP/", false, true},
		{"HTTP/1.1 099 X\r\n", false, false},
		{"HTTP/1.1 20", false, true},
		{"HTTP/1.1 2000 OK", false, false},
		{"", false, false},
	} {
		if got := LooksLikeRequest([]byte(tc.in)); got != tc.req {
			t.Errorf("LooksLikeRequest(%q) = %v", tc.in, got)
		}
		if got := LooksLikeResponse([]byte(tc.in)); got != tc.resp {
			t.Errorf("LooksLikeResponse(%q) = %v", tc.in, got)
		}
	}
}

func hdrs(kv ...string) storage.Headers {
	var h storage.Headers
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, storage.Header{Name: kv[i], Value: kv[i+1]})
	}
	return h
}
