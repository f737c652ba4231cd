package http1

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

// gzipBomb returns a ~1 MiB gzip stream that inflates to 1 GiB of zeros,
// made by repeating one byte-aligned run of deflate blocks.
func gzipBomb(t *testing.T) []byte {
	var blk bytes.Buffer
	w, _ := flate.NewWriter(&blk, flate.BestCompression)
	w.Write(make([]byte, 1<<20))
	w.Flush()
	var out bytes.Buffer
	out.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	for i := 0; i < 1024; i++ {
		out.Write(blk.Bytes())
	}
	out.Write([]byte{0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0})
	return out.Bytes()
}

func TestGzipBombThroughParser(t *testing.T) {
	bomb := gzipBomb(t)
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", len(bomb)) + string(bomb)
	start := time.Now()
	xs := run([]step{C(get("/bomb")), S(resp), C(get("/after")), S(ok("fine"))}, splitAt(1448), Options{MaxBody: 2 << 20, MaxDecoded: 8 << 20})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if len(xs) != 2 || xs[1].Path != "/after" || string(xs[1].ResponseBody) != "fine" {
		t.Fatalf("%d exchanges", len(xs))
	}
	x := xs[0]
	if !slices.Contains(x.Warnings, WarnDecompressionCap) || len(x.ResponseBody) != 2<<20 || x.ResponseBodySize != 8<<20 {
		t.Errorf("stored %d, size %d, warnings %q", len(x.ResponseBody), x.ResponseBodySize, x.Warnings)
	}
}

func TestCodingsThroughParser(t *testing.T) {
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.DefaultCompression)
	fw.Write([]byte("raw deflate body"))
	fw.Close()
	var gz2 bytes.Buffer
	inner := gzipped("twice")
	gw := gzip.NewWriter(&gz2)
	gw.Write(inner)
	gw.Close()
	for _, tc := range []struct {
		name, header, body, want string
	}{
		{"raw deflate", "Content-Encoding: deflate", raw.String(), "raw deflate body"},
		{"stacked gzip", "Content-Encoding: gzip\r\nContent-Encoding: gzip", gz2.String(), "twice"},
		{"gzip as a transfer coding", "Transfer-Encoding: gzip, chunked", chunk(gzipped("te body")), "te body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := "HTTP/1.1 200 OK\r\n" + tc.header + "\r\n"
			if !strings.Contains(tc.header, "chunked") {
				head += fmt.Sprintf("Content-Length: %d\r\n", len(tc.body))
			}
			xs := run([]step{C(get("/")), S(head + "\r\n" + tc.body)}, nil, Options{})
			if string(xs[0].ResponseBody) != tc.want || xs[0].ResponseBodySize != int64(len(tc.want)) {
				t.Errorf("body %q size %d warnings %q", xs[0].ResponseBody, xs[0].ResponseBodySize, xs[0].Warnings)
			}
		})
	}
	// A corrupt body is kept raw with a warning.
	xs := run([]step{C(get("/")), S("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnotgz")}, nil, Options{})
	if string(xs[0].ResponseBody) != "notgz" || len(xs[0].Warnings) != 1 || !strings.HasPrefix(xs[0].Warnings[0], "body decoding failed") {
		t.Errorf("corrupt: %q %q", xs[0].ResponseBody, xs[0].Warnings)
	}
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func chunk(b []byte) string {
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(b), b)
}

func TestHeadersCutByGapKeepCompleteLines(t *testing.T) {
	xs := run([]step{C("GET /a HTTP/1.1\r\nHost: example.com\r\nOrigin: https://o.test\r\nX-Cut: par"), LostC("tial\r\n\r\n"), S(ok("a"))}, nil, Options{})
	x := xs[0]
	if x.Host != "example.com" || x.Origin() != "https://o.test" || len(x.RequestHeaders) != 2 || !slices.Contains(x.Warnings, WarnReqHeadersGap) {
		t.Errorf("%q %q", x.RequestHeaders, x.Warnings)
	}
}

func TestSchemeVersionAndLeftover(t *testing.T) {
	var got []*storage.Exchange
	p := NewParser(Options{}, ConnMeta{Client: "[2001:db8::1]:5000", Server: "[2001:db8::2]:443", TLS: true, ConnNo: 3}, func(x *storage.Exchange) { got = append(got, x) })
	feed := func(d Dir, s string) { p.Feed(d, Segment{Data: []byte(s), Time: t0}) }
	feed(ClientToServer, "GET /one HTTP/1.0\r\n\r\n")
	feed(ServerToClient, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n1")
	feed(ClientToServer, "GET / HTTP/1.1\r\nHost: h2.test\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	feed(ServerToClient, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	if proto, ok := p.Upgraded(); !ok || proto != "h2c" {
		t.Fatalf("Upgraded() = %q %v", proto, ok)
	}
	if lo := string(p.Leftover(ServerToClient)); lo != "\x00\x00\x00\x04\x00\x00\x00\x00\x00" {
		t.Errorf("server leftover %q", lo)
	}
	if lo := string(p.Leftover(ClientToServer)); lo != "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" {
		t.Errorf("client leftover %q", lo)
	}
	p.Close(t0)
	if len(got) != 2 {
		t.Fatalf("%d exchanges", len(got))
	}
	if got[0].Proto != storage.ProtoHTTP10 || got[0].Scheme != "https" || got[0].Host != "2001:db8::2" || got[0].Port != 443 {
		t.Errorf("first: %s %s %s %d", got[0].Proto, got[0].Scheme, got[0].Host, got[0].Port)
	}
	if got[1].Upgrade != "h2c" || got[1].Status != 101 || got[1].Host != "h2.test" {
		t.Errorf("second: %q %d %q", got[1].Upgrade, got[1].Status, got[1].Host)
	}
}

// Sequence numbers that wrap around 2^32 in the middle of the connection
// must not break pairing after a lost response.
func TestLostResponseAcrossSeqWrap(t *testing.T) {
	c := newConn(Options{})
	c.seq = [2]uint32{0xFFFFFF00, 0xFFFFFFF0}
	for i := 1; i <= 6; i++ {
		c.client(get(fmt.Sprintf("/%d", i)))
		if i == 3 {
			c.lose(ServerToClient, ok("lost"))
			continue
		}
		c.server(ok(fmt.Sprint(i)))
	}
	xs := c.close()
	var b strings.Builder
	for _, x := range xs {
		fmt.Fprintf(&b, "%s=%d:%s ", x.Path, x.Status, x.ResponseBody)
	}
	if got := b.String(); got != "/1=200:1 /2=200:2 /3=0: /4=200:4 /5=200:5 /6=200:6 " {
		t.Errorf("%s", got)
	}
}

// Without sequence numbers (Seq and Ack zero), pairing falls back to order.
func TestNoSeqNumbersFallsBackToOrder(t *testing.T) {
	var got []*storage.Exchange
	p := NewParser(Options{}, ConnMeta{}, func(x *storage.Exchange) { got = append(got, x) })
	p.Feed(ClientToServer, Segment{Data: []byte(get("/a") + get("/b"))})
	p.Gap(ServerToClient, 10, t0)
	p.Feed(ServerToClient, Segment{Data: []byte(ok("a") + ok("b"))})
	p.Close(t0)
	if len(got) != 2 || string(got[0].ResponseBody) != "a" || string(got[1].ResponseBody) != "b" {
		t.Errorf("%s", summary(got))
	}
}

// A close-delimited response ends the connection's HTTP: later requests
// have no response.
func TestRequestAfterCloseDelimitedResponse(t *testing.T) {
	xs := run([]step{C(get("/a")), S("HTTP/1.1 200 OK\r\n\r\nstream"), C(get("/b"))}, nil, Options{})
	if len(xs) != 2 || string(xs[0].ResponseBody) != "stream" || xs[1].Status != 0 {
		t.Errorf("%s", summary(xs))
	}
}

// A status-0 request points LastPacket at its own last packet.
func TestNoResponsePacketNumbers(t *testing.T) {
	c := newConn(Options{})
	c.client("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n")
	c.client("abcd")
	xs := c.close()
	if xs[0].FirstPacket != 1 || xs[0].LastPacket != 2 || xs[0].Status != 0 || !xs[0].Ended.IsZero() {
		t.Errorf("%d..%d status %d ended %v", xs[0].FirstPacket, xs[0].LastPacket, xs[0].Status, xs[0].Ended)
	}
}

func TestMalformedInputWarns(t *testing.T) {
	xs := run([]step{
		C("\x16\x03\x01 hello\r\nGET /ok HTTP/1.1\r\nHost: h\r\nNoColonHere\r\nBad Name : v\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: zz\r\n\r\nuntil close"),
	}, nil, Options{})
	if len(xs) != 1 {
		t.Fatalf("%s", summary(xs))
	}
	x := xs[0]
	for _, w := range []string{WarnMalformedReqLine, `malformed header line ignored: "NoColonHere"`, `whitespace before colon in header "Bad Name "`, "invalid Content-Length"} {
		if !slices.Contains(x.Warnings, w) {
			t.Errorf("missing warning %q in %q", w, x.Warnings)
		}
	}
	if string(x.ResponseBody) != "until close" {
		t.Errorf("body %q", x.ResponseBody)
	}
}

// Hostile streams fed one byte at a time must cost linear time: the head
// scanner resumes where it stopped instead of rescanning its buffer.
func TestHostileStreamsLinear(t *testing.T) {
	for name, stream := range map[string]string{
		"endless header":     "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 300<<10),
		"many 0.9 requests":  strings.Repeat("GET /x\n", 40000),
		"only line feeds":    strings.Repeat("\n", 300<<10),
		"almost status line": strings.Repeat("HTTP/1.1 2\n", 30000),
		"chunk size line":    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("0", 300<<10),
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			p := NewParser(Options{}, ConnMeta{}, func(*storage.Exchange) {})
			b := []byte(stream)
			for i := range b {
				p.Feed(ClientToServer, Segment{Data: b[i : i+1], Seq: uint32(i + 1)})
				p.Feed(ServerToClient, Segment{Data: b[i : i+1], Seq: uint32(i + 1)})
			}
			p.Close(t0)
			// Quadratic work on these sizes takes minutes; the slack is for
			// a loaded machine.
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("%d bytes took %v", len(b), d)
			}
		})
	}
}

// The answer to an upgrade request is lost and the client goes on with
// HTTP/1 requests: they are parsed and paired, not held as tunnel bytes.
func TestUpgradeAnswerLost(t *testing.T) {
	up := "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	for name, split := range map[string]func([]byte) [][]byte{"whole": nil, "bytewise": bytewise} {
		xs := run([]step{C(up), LostS(ok("no")), C(get("/next")), S(ok("n"))}, split, Options{})
		if got := summary(xs); got != `GET /ws  example.com:8080 0 "" req=0:"" resp=0:"" [response headers lost in capture]
GET /next  example.com:8080 200 "OK" req=0:"" resp=1:"n"
` {
			t.Errorf("%s:\n%s", name, got)
		}
	}
	// Only WebSocket frames follow and the capture ends: nothing is invented.
	xs := run([]step{C(up), C("\x81\x85abcdhello")}, nil, Options{})
	if len(xs) != 1 || xs[0].Status != 0 {
		t.Errorf("%s", summary(xs))
	}
}

// A head full of anomalies yields one warning per kind, not one per line.
func TestWarningsPerHeadBounded(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("junk line\r\n", 2000) + strings.Repeat("A: 1\r\n b\r\n", 100) + "\r\n"
	xs := run([]step{C(head), S(ok(""))}, nil, Options{MaxHeaderBytes: 1 << 20})
	want := []string{`malformed header line ignored: "junk line" (and 1999 more)`, "obs-fold line folded into header A (and 99 more)"}
	if !slices.Equal(xs[0].Warnings, want) {
		t.Errorf("%q", xs[0].Warnings)
	}
}

// Pipelined requests share one ack, so after a lost response TCP numbers
// cannot tell which one it answered: the guess is flagged, never silent.
func TestPipelinedLossIsFlagged(t *testing.T) {
	xs := run([]step{C(get("/1") + get("/2") + get("/3")), S(ok("1")), LostS(ok("2")), S(ok("3"))}, nil, Options{})
	if len(xs) != 3 || xs[0].Status != 200 || len(xs[0].Warnings) != 0 {
		t.Fatalf("%s", summary(xs))
	}
	if !slices.Contains(xs[1].Warnings, WarnPairingGuessed) {
		t.Errorf("second exchange not flagged: %s", summary(xs))
	}
}
