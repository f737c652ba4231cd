package h2

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
)

func fieldsOf(kv ...string) storage.Headers {
	var h storage.Headers
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, storage.Header{Name: kv[i], Value: kv[i+1]})
	}
	return h
}

var (
	preflightReq = []string{":method", "OPTIONS", ":scheme", "http", ":authority", "API.example:8080", ":path", "/v1/items?x=1&y=2",
		"origin", "https://app.example", "access-control-request-method", "PUT"}
	preflightResp = []string{":status", "204", "access-control-allow-origin", "https://app.example",
		"access-control-allow-origin", "https://evil.example", "vary", "Origin"}
)

func TestPreflightBecomesOneExchangeWithHeadersAsSent(t *testing.T) {
	w := newWire().start().
		headers(c2s, 1, true, preflightReq...).
		headers(s2c, 1, true, preflightResp...)
	p, got := run(Options{}, w.steps)
	if len(got) != 1 {
		t.Fatalf("got %d exchanges, want 1", len(got))
	}
	x := got[0]
	want := storage.Exchange{
		EntryIndex: -1, FirstPacket: 3, LastPacket: 4, ConnNo: 7, StreamID: 1,
		Started: t0.Add(2 * time.Millisecond), RespStarted: t0.Add(3 * time.Millisecond), Ended: t0.Add(3 * time.Millisecond),
		Client: testMeta.Client, Server: testMeta.Server, Proto: storage.ProtoHTTP2,
		Method: "OPTIONS", Scheme: "http", Host: "api.example", Port: 8080, Path: "/v1/items", Query: "x=1&y=2",
		Status: 204, RequestHeaders: fieldsOf(preflightReq...), ResponseHeaders: fieldsOf(preflightResp...),
	}
	if !reflect.DeepEqual(*x, want) {
		t.Errorf("exchange\n got %+v\nwant %+v", *x, want)
	}
	if !x.IsPreflight() || x.ResponseHeaders.Count("Access-Control-Allow-Origin") != 2 {
		t.Errorf("preflight with two ACAO fields not kept: %+v", x.ResponseHeaders)
	}
	if s := p.Stats(); s.Frames != 5 || s.Streams != 1 || s.MaxOpenStreams != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDynamicTableReuseAcrossRequests(t *testing.T) {
	w := newWire().start()
	for id := uint32(1); id <= 7; id += 2 {
		w.headers(c2s, id, true, ":method", "GET", ":scheme", "https", ":authority", "api.example", ":path", fmt.Sprintf("/r/%d", id),
			"origin", "https://app.example", "cookie", "session=abc")
		w.headers(s2c, id, false, ":status", "200", "access-control-allow-origin", "https://app.example", "access-control-allow-credentials", "true")
		w.data(s2c, id, true, []byte(fmt.Sprintf("body %d", id)))
	}
	// The later blocks must be mostly indexed references.
	if n := len(w.steps[len(w.steps)-3].data); n > 20 {
		t.Fatalf("test setup: last request block is %d bytes, not using the dynamic table", n)
	}
	_, got := run(Options{}, w.steps)
	if len(got) != 4 {
		t.Fatalf("got %d exchanges", len(got))
	}
	for i, x := range got {
		id := uint32(2*i + 1)
		if x.StreamID != id || x.Path != fmt.Sprintf("/r/%d", id) || x.RequestHeaders.Value("origin") != "https://app.example" ||
			x.RequestHeaders.Value("cookie") != "session=abc" || x.Status != 200 || x.ResponseHeaders.Value("access-control-allow-credentials") != "true" ||
			string(x.ResponseBody) != fmt.Sprintf("body %d", id) || x.Scheme != "https" || x.Port != 443 {
			t.Errorf("stream %d: %+v", id, x)
		}
	}
}

func TestContinuationPaddingBigDataTrailersGzip(t *testing.T) {
	w := newWire().start()
	// A request whose header block spans HEADERS + 2 CONTINUATION frames, padded.
	long := strings.Repeat("v", 3000)
	blk := w.block(c2s, ":method", "POST", ":scheme", "http", ":authority", "h2.example", ":path", "/upload",
		"x-long-1", long, "x-long-2", long, "content-type", "text/plain")
	w.fr[c2s].WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk[:100], PadLength: 17})
	w.fr[c2s].WriteContinuation(1, false, blk[100:2000])
	w.fr[c2s].WriteContinuation(1, true, blk[2000:])
	w.take(c2s)
	w.fr[c2s].WriteDataPadded(1, false, []byte("hello "), make([]byte, 40))
	w.data(c2s, 1, false, []byte("world"))
	w.headers(c2s, 1, true, "x-checksum", "abc")
	// Response: a 70 000-byte DATA frame (over the default 16 KiB), gzip.
	plain := bytes.Repeat([]byte("0123456789"), 20000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	w.headers(s2c, 1, false, ":status", "200", "content-encoding", "gzip")
	w.data(s2c, 1, false, gz.Bytes())
	w.data(s2c, 1, false, nil)
	w.headers(s2c, 1, true, "grpc-status", "0")
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "h2.example", ":path", "/big")
	w.headers(s2c, 3, false, ":status", "200")
	w.data(s2c, 3, true, bytes.Repeat([]byte{'x'}, 70000))
	p, got := run(Options{}, w.steps)
	m := byStream(got)
	x := m[1]
	if x == nil || len(got) != 2 {
		t.Fatalf("got %d exchanges", len(got))
	}
	if x.Method != "POST" || x.RequestHeaders.Value("x-long-2") != long || x.RequestHeaders.Value("content-type") != "text/plain" {
		t.Errorf("request headers across CONTINUATION: %v", x.RequestHeaders)
	}
	if string(x.RequestBody) != "hello world" || x.RequestBodySize != 11 {
		t.Errorf("padded request body %q (%d)", x.RequestBody, x.RequestBodySize)
	}
	if !bytes.Equal(x.ResponseBody, plain) || x.ResponseBodySize != int64(len(plain)) {
		t.Errorf("gzip body: %d bytes, size %d", len(x.ResponseBody), x.ResponseBodySize)
	}
	if !hasWarning(x, `trailer fields: "x-checksum: abc"`) || !hasWarning(x, `trailer fields: "grpc-status: 0"`) {
		t.Errorf("trailers: %q", x.Warnings)
	}
	if x.ResponseHeaders.Value("grpc-status") != "" {
		t.Errorf("trailer merged into headers")
	}
	y := m[3]
	if y.ResponseBodySize != 70000 || len(y.ResponseBody) != 70000 || y.Status != 200 {
		t.Errorf("big DATA frame: status %d size %d stored %d", y.Status, y.ResponseBodySize, len(y.ResponseBody))
	}
	if ws := p.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], "70000-byte DATA frame over the peer's SETTINGS_MAX_FRAME_SIZE 16384") {
		t.Errorf("connection warnings %q", ws)
	}
}

func TestResetPushGoawayAndInterim(t *testing.T) {
	w := newWire().start()
	w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/page")
	w.fr[s2c].WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, EndHeaders: true,
		BlockFragment: w.block(s2c, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/style.css")})
	w.take(s2c)
	w.headers(s2c, 1, false, ":status", "103", "link", "</style.css>; rel=preload")
	w.headers(s2c, 1, false, ":status", "200")
	w.data(s2c, 1, true, []byte("<html>"))
	w.headers(s2c, 2, false, ":status", "200", "content-type", "text/css", "access-control-allow-origin", "*")
	w.data(s2c, 2, true, []byte("body{}"))
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/slow")
	w.fr[c2s].WriteRSTStream(3, http2.ErrCodeCancel)
	w.take(c2s)
	w.headers(c2s, 5, true, ":method", "DELETE", ":scheme", "http", ":authority", "a.example", ":path", "/never")
	w.fr[s2c].WriteGoAway(3, http2.ErrCodeNo, nil)
	w.take(s2c)
	p, got := run(Options{}, w.steps)
	m := byStream(got)
	if len(got) != 4 {
		t.Fatalf("got %d exchanges", len(got))
	}
	if x := m[1]; x.Status != 200 || string(x.ResponseBody) != "<html>" || !hasWarning(x, "interim response 103") {
		t.Errorf("stream 1: %+v", x)
	}
	if x := m[2]; x.Path != "/style.css" || x.Status != 200 || !hasWarning(x, "server push (promised on stream 1)") ||
		x.ResponseHeaders.Value("access-control-allow-origin") != "*" || x.Started != t0.Add(3*time.Millisecond) {
		t.Errorf("pushed stream: %+v", x)
	}
	if x := m[3]; x.Status != 0 || !hasWarning(x, "stream reset by client (CANCEL)") || !hasWarning(x, http1.WarnNoResponse) {
		t.Errorf("reset stream: %+v", x)
	}
	if x := m[5]; x.Method != "DELETE" || x.Status != 0 || !hasWarning(x, WarnNotProcessed) || !hasWarning(x, http1.WarnNoResponse) {
		t.Errorf("stream after GOAWAY: %+v", x)
	}
	if ws := p.Warnings(); len(ws) != 1 || ws[0] != "GOAWAY from server: NO_ERROR, last stream 3" {
		t.Errorf("connection warnings %q", ws)
	}
}

// A byte-exact case fed in two segments per direction, split at every offset.
func TestEverySplitGivesTheSameExchanges(t *testing.T) {
	w := newWire().start().
		headers(c2s, 1, true, preflightReq...).
		headers(s2c, 1, true, preflightResp...)
	w.headers(c2s, 3, false, ":method", "PUT", ":scheme", "http", ":authority", "api.example:8080", ":path", "/v1/items", "origin", "https://app.example")
	w.data(c2s, 3, true, []byte(`{"a":1}`))
	w.headers(s2c, 3, false, ":status", "200", "access-control-allow-origin", "https://app.example")
	w.data(s2c, 3, true, []byte("ok"))
	_, want := run(Options{}, w.steps)
	if len(want) != 2 {
		t.Fatalf("baseline: %d exchanges", len(want))
	}
	cb, sb := w.bytesOf(c2s), w.bytesOf(s2c)
	for _, dir := range []http1.Dir{c2s, s2c} {
		all := cb
		if dir == s2c {
			all = sb
		}
		for k := 0; k <= len(all); k++ {
			var got []*storage.Exchange
			p := NewParser(Options{}, testMeta, func(e *storage.Exchange) { got = append(got, e) })
			feed := func(d http1.Dir, b []byte) {
				if d == dir {
					p.Feed(d, http1.Segment{Data: b[:k], Time: t0})
					p.Feed(d, http1.Segment{Data: b[k:], Time: t0})
				} else {
					p.Feed(d, http1.Segment{Data: b, Time: t0})
				}
			}
			feed(c2s, cb)
			feed(s2c, sb)
			p.Close(t0)
			if len(got) != 2 {
				t.Fatalf("split %v at %d: %d exchanges", dir, k, len(got))
			}
			for i := range got {
				g, w := got[i], want[i]
				if !reflect.DeepEqual(g.RequestHeaders, w.RequestHeaders) || !reflect.DeepEqual(g.ResponseHeaders, w.ResponseHeaders) ||
					string(g.RequestBody) != string(w.RequestBody) || string(g.ResponseBody) != string(w.ResponseBody) || len(g.Warnings) != 0 {
					t.Fatalf("split %v at %d, stream %d differs: %+v", dir, k, g.StreamID, g)
				}
			}
		}
	}
}

// midConnection builds a connection whose second request reuses dynamic
// table entries from the first, and returns its steps.
func midConnection() *wire {
	w := newWire().start()
	w.headers(c2s, 1, true, ":method", "GET", ":scheme", "https", ":authority", "api.example", ":path", "/first", "origin", "https://app.example")
	w.headers(s2c, 1, true, ":status", "200", "access-control-allow-origin", "https://app.example")
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "https", ":authority", "api.example", ":path", "/second", "origin", "https://app.example")
	w.headers(s2c, 3, true, ":status", "200", "access-control-allow-origin", "https://app.example")
	// Stream 5 uses only static-table references and fresh literals.
	w.enc[c2s].SetMaxDynamicTableSizeLimit(0)
	w.enc[s2c].SetMaxDynamicTableSizeLimit(0)
	w.headers(c2s, 5, true, ":method", "GET", ":scheme", "https", ":path", "/third")
	w.headers(s2c, 5, true, ":status", "404")
	return w
}

func TestMidConnectionStartSaysHPACKContextUnknown(t *testing.T) {
	w := midConnection()
	// Drop the preface, SETTINGS and the whole first exchange.
	steps := w.steps[4:]
	p, got := run(Options{}, steps)
	m := byStream(got)
	x := m[3]
	if x == nil {
		t.Fatalf("stream 3 not emitted: %d exchanges", len(got))
	}
	if !hasWarning(x, WarnHPACKUnknownStart) {
		t.Errorf("stream 3 warnings %q", x.Warnings)
	}
	// Whatever was kept must be true: no field may come from a wrong entry.
	for _, f := range x.RequestHeaders {
		if f.Name == ":path" && f.Value != "/second" || f.Name == "origin" && f.Value != "https://app.example" {
			t.Errorf("wrong field decoded: %v", f)
		}
	}
	for _, f := range x.ResponseHeaders {
		if f.Name == "access-control-allow-origin" && f.Value != "https://app.example" {
			t.Errorf("wrong response field decoded: %v", f)
		}
	}
	y := m[5]
	if y == nil || y.Path != "/third" || y.Status != 404 || y.Method != "GET" {
		t.Errorf("stream 5 (static table only) not rebuilt: %+v", y)
	}
	if !strings.Contains(strings.Join(p.Warnings(), "\n"), WarnNoPreface) {
		t.Errorf("connection warnings %q", p.Warnings())
	}
}

func TestGapInsideDataCostsOnlyThatFrame(t *testing.T) {
	w := newWire().start()
	w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/one", "origin", "https://o.example")
	w.headers(s2c, 1, false, ":status", "200", "access-control-allow-origin", "https://o.example")
	w.data(s2c, 1, true, bytes.Repeat([]byte("z"), 3000))
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/two", "origin", "https://o.example")
	w.headers(s2c, 3, true, ":status", "200", "access-control-allow-origin", "https://o.example")
	var got []*storage.Exchange
	p := NewParser(Options{}, testMeta, func(e *storage.Exchange) { got = append(got, e) })
	for i, s := range w.steps {
		if i == 4 { // the DATA frame: lose 1000 bytes from its middle
			p.Feed(s.dir, http1.Segment{Data: s.data[:1000], Time: t0})
			p.Gap(s.dir, 1000, t0)
			p.Feed(s.dir, http1.Segment{Data: s.data[2000:], Time: t0})
			continue
		}
		p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0})
	}
	p.Close(t0)
	m := byStream(got)
	if x := m[1]; x == nil || x.Status != 200 || !hasWarning(x, http1.WarnRespBodyGap) || x.ResponseBodySize != 3000 {
		t.Errorf("stream 1: %+v", x)
	}
	if x := m[3]; x == nil || x.Path != "/two" || x.ResponseHeaders.Value("access-control-allow-origin") != "https://o.example" || len(x.Warnings) != 0 {
		t.Errorf("stream 3 after the DATA gap: %+v", x)
	}
}

func TestGapAcrossHeadersPoisonsThatDirection(t *testing.T) {
	w := midConnection()
	var got []*storage.Exchange
	p := NewParser(Options{}, testMeta, func(e *storage.Exchange) { got = append(got, e) })
	for i, s := range w.steps {
		if i == 4 { // stream 3's request headers are lost
			p.Gap(s.dir, len(s.data), t0)
			continue
		}
		p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0})
	}
	p.Close(t0)
	m := byStream(got)
	if x := m[3]; x == nil || x.Method != "" || !hasWarning(x, http1.WarnRequestMissing) || x.Status != 200 {
		t.Errorf("stream 3 (request lost): %+v", x)
	}
	if x := m[5]; x == nil || x.Path != "/third" || x.Status != 404 {
		t.Errorf("stream 5: %+v", x)
	}
	if x := m[1]; x == nil || x.Path != "/first" || len(x.Warnings) != 0 {
		t.Errorf("stream 1 before the gap: %+v", x)
	}
}

func TestUpgradeSeedsStreamOne(t *testing.T) {
	req := &storage.Exchange{Method: "GET", Scheme: "http", Host: "h.example", Port: 80, Path: "/", Started: t0, FirstPacket: 1,
		RequestHeaders: fieldsOf("Host", "h.example", "Connection", "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA", "Origin", "https://o.example"),
		Status:         101, Upgrade: "h2c", Proto: storage.ProtoHTTP11}
	w := newWire()
	w.raw(c2s, []byte(Preface))
	w.fr[c2s].WriteSettings()
	w.take(c2s)
	w.fr[s2c].WriteSettings()
	w.take(s2c)
	w.headers(s2c, 1, false, ":status", "200", "access-control-allow-origin", "https://o.example")
	w.data(s2c, 1, true, []byte("hi"))
	var got []*storage.Exchange
	p := NewParser(Options{}, testMeta, func(e *storage.Exchange) { got = append(got, e) })
	p.Upgrade(req)
	for _, s := range w.steps {
		p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0.Add(time.Second), Packet: 9})
	}
	p.Close(t0)
	if len(got) != 1 {
		t.Fatalf("got %d", len(got))
	}
	x := got[0]
	if x.StreamID != 1 || x.Status != 200 || x.Proto != storage.ProtoHTTP2 || x.Upgrade != "h2c" || x.Origin() != "https://o.example" ||
		string(x.ResponseBody) != "hi" || x.Started != t0 || x.FirstPacket != 1 || !hasWarning(x, WarnUpgradedH2C) {
		t.Errorf("upgraded exchange %+v", x)
	}
}

func TestHeaderCapsKeepDecoderInStep(t *testing.T) {
	w := newWire().start()
	kv := getWithHeaders("/x", 50)
	w.headers(c2s, 1, true, kv...)
	w.headers(s2c, 1, true, ":status", "200")
	w.headers(c2s, 3, true, kv...) // all indexed now
	w.headers(s2c, 3, true, ":status", "204")
	_, got := run(Options{MaxHeaders: 10}, w.steps)
	if len(got) != 2 {
		t.Fatalf("got %d", len(got))
	}
	for _, x := range got {
		if len(x.RequestHeaders) != 10 || !hasWarning(x, WarnTooManyHeaders) || x.Path != "/x" {
			t.Errorf("stream %d: %d headers, %q", x.StreamID, len(x.RequestHeaders), x.Warnings)
		}
	}
	if got[1].Status != 204 {
		t.Errorf("second status %d", got[1].Status)
	}
}

func TestLooksLikePreface(t *testing.T) {
	for in, want := range map[string]bool{Preface: true, Preface + "x": true, "PRI * HT": true, "PRI * H": false, "GET / HTTP/1.1\r\n": false} {
		if LooksLikePreface([]byte(in)) != want {
			t.Errorf("LooksLikePreface(%q) != %v", in, want)
		}
	}
}

func TestStartInsideAFrameResyncs(t *testing.T) {
	w := midConnection()
	steps := append([]step(nil), w.steps[4:]...)
	steps[0].data = steps[0].data[3:] // the capture begins 3 bytes into a HEADERS frame
	steps[1].data = steps[1].data[5:]
	_, got := run(Options{}, steps)
	m := byStream(got)
	if x := m[5]; x == nil || x.Path != "/third" || x.Status != 404 {
		t.Fatalf("stream 5 after resync: %+v (%d exchanges)", x, len(got))
	}
	if _, ok := m[3]; ok {
		t.Errorf("stream 3 rebuilt from frames whose headers were cut: %+v", m[3])
	}
}

func TestUnknownSizeGapResyncsOnTheNextFrame(t *testing.T) {
	w := newWire().start()
	w.enc[c2s].SetMaxDynamicTableSizeLimit(0)
	w.enc[s2c].SetMaxDynamicTableSizeLimit(0)
	for id := uint32(1); id <= 5; id += 2 {
		w.headers(c2s, id, true, ":method", "GET", ":scheme", "http", ":path", fmt.Sprintf("/g/%d", id))
		w.headers(s2c, id, false, ":status", "200")
		w.data(s2c, id, true, []byte("payload"))
	}
	var got []*storage.Exchange
	p := NewParser(Options{}, testMeta, func(e *storage.Exchange) { got = append(got, e) })
	for i, s := range w.steps {
		if i == 6 { // stream 3's response HEADERS: lost, size unknown
			p.Gap(s.dir, -1, t0)
			continue
		}
		p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0})
	}
	p.Close(t0)
	m := byStream(got)
	if x := m[3]; x == nil || x.Status != 0 || x.Path != "/g/3" {
		t.Errorf("stream 3: %+v", x)
	}
	if x := m[5]; x == nil || x.Status != 200 || string(x.ResponseBody) != "payload" {
		t.Errorf("stream 5 after the gap: %+v", x)
	}
}

func TestOversizedFrameIsSkippedButEndsTheStream(t *testing.T) {
	w := newWire().start()
	w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/huge")
	w.headers(s2c, 1, false, ":status", "200")
	w.data(s2c, 1, true, bytes.Repeat([]byte("h"), 5000))
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/after")
	w.headers(s2c, 3, true, ":status", "204")
	p, got := run(Options{MaxFrameBytes: 1000}, w.steps)
	m := byStream(got)
	if x := m[1]; x == nil || x.Status != 200 || x.ResponseBodySize != 5000 || len(x.ResponseBody) != 0 || !hasWarning(x, "DATA frame over the buffer cap skipped") {
		t.Errorf("stream 1: %+v", x)
	}
	if x := m[3]; x == nil || x.Status != 204 || x.Path != "/after" {
		t.Errorf("stream 3: %+v", x)
	}
	if p.Stats().BytesSkipped != 5000 {
		t.Errorf("skipped %d", p.Stats().BytesSkipped)
	}
}

func TestHeaderTableSizeFromSettings(t *testing.T) {
	w := newWire()
	w.out[c2s].WriteString(Preface)
	w.fr[c2s].WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 65536})
	w.take(c2s)
	w.fr[s2c].WriteSettings()
	w.take(s2c)
	w.enc[s2c].SetMaxDynamicTableSizeLimit(65536)
	w.enc[s2c].SetMaxDynamicTableSize(65536) // the next block starts with a size update to 65536
	big := strings.Repeat("p", 6000)         // only fits in a table over 4096 bytes
	for id := uint32(1); id <= 3; id += 2 {
		w.headers(c2s, id, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/t")
		w.headers(s2c, id, true, ":status", "200", "content-security-policy", big)
	}
	_, got := run(Options{}, w.steps)
	if len(got) != 2 {
		t.Fatalf("got %d", len(got))
	}
	for _, x := range got {
		if x.ResponseHeaders.Value("content-security-policy") != big || len(x.Warnings) != 0 {
			t.Errorf("stream %d: %d-byte CSP, warnings %q", x.StreamID, len(x.ResponseHeaders.Value("content-security-policy")), x.Warnings)
		}
	}
}

func TestMalformedFrameIsSkipped(t *testing.T) {
	w := newWire().start()
	w.raw(c2s, []byte{0, 0, 5, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5}) // PING of 5 bytes
	w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/ok")
	w.headers(s2c, 1, true, ":status", "200")
	p, got := run(Options{}, w.steps)
	if len(got) != 1 || got[0].Path != "/ok" || got[0].Status != 200 {
		t.Fatalf("exchanges %+v", got)
	}
	if ws := strings.Join(p.Warnings(), "|"); !strings.Contains(ws, "malformed PING frame from client") {
		t.Errorf("warnings %q", ws)
	}
}

func TestConnectionBodyCapBoundsConcurrentStreams(t *testing.T) {
	w := newWire().start()
	for id := uint32(1); id <= 5; id += 2 {
		w.headers(c2s, id, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/b")
		w.headers(s2c, id, false, ":status", "200")
	}
	for id := uint32(1); id <= 5; id += 2 { // all three open at once
		w.data(s2c, id, false, bytes.Repeat([]byte("d"), 600))
	}
	for id := uint32(1); id <= 5; id += 2 {
		w.data(s2c, id, true, nil)
	}
	p, got := run(Options{MaxBody: 1000, MaxConnBody: 1500}, w.steps)
	m := byStream(got)
	if len(m[1].ResponseBody) != 600 || len(m[3].ResponseBody) != 600 || len(m[5].ResponseBody) != 300 || !hasWarning(m[5], WarnConnBodyCap) {
		t.Errorf("stored %d/%d/%d, warnings %q", len(m[1].ResponseBody), len(m[3].ResponseBody), len(m[5].ResponseBody), m[5].Warnings)
	}
	if m[5].ResponseBodySize != 600 || p.bodyBytes != 0 {
		t.Errorf("size %d, still held %d", m[5].ResponseBodySize, p.bodyBytes)
	}
}

// A stream over the cap is not tracked, but its request comes out at once
// with status 0 and the cap named; the other streams are untouched.
func TestStreamsOverTheCapAreCountedNotRebuilt(t *testing.T) {
	w := newWire().start()
	for id := uint32(1); id <= 5; id += 2 {
		w.headers(c2s, id, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", fmt.Sprintf("/c/%d", id), "x-same", "v")
	}
	for id := uint32(1); id <= 5; id += 2 {
		w.headers(s2c, id, true, ":status", "200", "x-same", "v")
	}
	// After the untracked stream, the decoder must still be in step.
	w.headers(c2s, 7, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/c/7", "x-same", "v")
	w.headers(s2c, 7, true, ":status", "201", "x-same", "v")
	p, got := run(Options{MaxStreams: 2}, w.steps)
	m := byStream(got)
	if len(got) != 4 || m[7] == nil || m[7].Status != 201 || m[7].RequestHeaders.Value("x-same") != "v" || len(m[7].Warnings) != 0 {
		t.Errorf("exchanges %v, stream 7 %+v", len(got), m[7])
	}
	capWarn := "stream over the cap of 2 open streams per connection: only its first header block kept"
	if x := m[5]; x == nil || x.Status != 0 || x.Path != "/c/5" || !hasWarning(x, capWarn) || !hasWarning(x, http1.WarnNoResponse) {
		t.Errorf("stream 5: %+v", x)
	}
	for _, id := range []uint32{1, 3, 7} {
		if hasWarning(m[id], capWarn) {
			t.Errorf("stream %d flagged: %q", id, m[id].Warnings)
		}
	}
	if s := p.Stats(); s.UntrackedStreams != 1 || s.MaxOpenStreams != 2 {
		t.Errorf("stats %+v", s)
	}
}

// getWithHeaders is the header list of a GET of path with n extra fields
// x-h0 … x-h(n-1).
func getWithHeaders(path string, n int) []string {
	kv := []string{":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", path}
	for i := 0; i < n; i++ {
		kv = append(kv, fmt.Sprintf("x-h%d", i), "v")
	}
	return kv
}
