package har

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

func writeAll(t *testing.T, exs []*storage.Exchange, opts ...WriteOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	i := 0
	err := Write(&buf, Creator{Name: "corscope", Version: "test"}, func() (*storage.Exchange, error) {
		if i == len(exs) {
			return nil, io.EOF
		}
		i++
		return exs[i-1], nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkDevToolsShape applies the checks of Chrome DevTools' HAR importer
// (HARFormat.ts): the members it reads with safeNumber/safeDate must be
// present and of the right type, or the import fails.
func checkDevToolsShape(t *testing.T, data []byte) {
	t.Helper()
	var doc struct {
		Log struct {
			Version string           `json:"version"`
			Creator *map[string]any  `json:"creator"`
			Pages   []any            `json:"pages"`
			Entries []map[string]any `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.Log.Version != "1.2" || doc.Log.Creator == nil {
		t.Fatalf("log header %+v", doc.Log)
	}
	num := func(m map[string]any, path string) {
		t.Helper()
		if _, ok := m[path].(float64); !ok {
			t.Errorf("%s is %T, want a number", path, m[path])
		}
	}
	obj := func(m map[string]any, key string) map[string]any {
		t.Helper()
		o, ok := m[key].(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, want an object", key, m[key])
		}
		return o
	}
	for _, e := range doc.Log.Entries {
		s, _ := e["startedDateTime"].(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			t.Errorf("startedDateTime %q", s)
		}
		num(e, "time")
		obj(e, "cache")
		req, resp, tim := obj(e, "request"), obj(e, "response"), obj(e, "timings")
		num(req, "headersSize")
		num(req, "bodySize")
		num(resp, "status")
		num(resp, "headersSize")
		num(resp, "bodySize")
		num(obj(resp, "content"), "size")
		for _, k := range []string{"send", "wait", "receive"} {
			num(tim, k)
		}
		for _, k := range []string{"method", "url", "httpVersion"} {
			if _, ok := req[k].(string); !ok {
				t.Errorf("request.%s missing", k)
			}
		}
		for _, k := range []string{"statusText", "httpVersion", "redirectURL"} {
			if _, ok := resp[k].(string); !ok {
				t.Errorf("response.%s missing", k)
			}
		}
		for _, k := range []string{"headers", "cookies", "queryString"} {
			if _, ok := req[k].([]any); !ok {
				t.Errorf("request.%s is not an array", k)
			}
		}
	}
}

// sameExchange compares what a HAR round trip must keep.
func sameExchange(t *testing.T, i int, a, b *storage.Exchange) {
	t.Helper()
	if !reflect.DeepEqual(a.RequestHeaders, b.RequestHeaders) && !(len(a.RequestHeaders) == 0 && len(b.RequestHeaders) == 0) {
		t.Errorf("%d: request headers\n%v\n%v", i, a.RequestHeaders, b.RequestHeaders)
	}
	if !reflect.DeepEqual(a.ResponseHeaders, b.ResponseHeaders) && !(len(a.ResponseHeaders) == 0 && len(b.ResponseHeaders) == 0) {
		t.Errorf("%d: response headers\n%v\n%v", i, a.ResponseHeaders, b.ResponseHeaders)
	}
	if a.Status != b.Status || a.StatusText != b.StatusText || a.Method != b.Method || a.URL() != b.URL() || a.Proto != b.Proto {
		t.Errorf("%d: %d %q %s %s %s / %d %q %s %s %s", i, a.Status, a.StatusText, a.Method, a.URL(), a.Proto, b.Status, b.StatusText, b.Method, b.URL(), b.Proto)
	}
	if !a.Started.Truncate(time.Microsecond).Equal(b.Started) || a.Ended.IsZero() != b.Ended.IsZero() {
		t.Errorf("%d: start %v / %v, end %v / %v", i, a.Started, b.Started, a.Ended, b.Ended)
	}
	if d := a.Ended.Sub(a.Started) - b.Ended.Sub(b.Started); d > time.Microsecond || d < -time.Microsecond {
		t.Errorf("%d: duration %v / %v", i, a.Ended.Sub(a.Started), b.Ended.Sub(b.Started))
	}
	if !bytes.Equal(a.RequestBody, b.RequestBody) || !bytes.Equal(a.ResponseBody, b.ResponseBody) {
		t.Errorf("%d: bodies differ: %d/%d, %d/%d", i, len(a.RequestBody), len(b.RequestBody), len(a.ResponseBody), len(b.ResponseBody))
	}
	if a.RequestBodySize != b.RequestBodySize || a.ResponseBodySize != b.ResponseBodySize {
		t.Errorf("%d: sizes %d %d / %d %d", i, a.RequestBodySize, a.ResponseBodySize, b.RequestBodySize, b.ResponseBodySize)
	}
	if a.Server != b.Server || a.ConnNo != b.ConnNo || a.FromCache != b.FromCache || a.TLS != b.TLS || a.Upgrade != b.Upgrade {
		t.Errorf("%d: %q %d %v / %q %d %v", i, a.Server, a.ConnNo, a.FromCache, b.Server, b.ConnNo, b.FromCache)
	}
}

func TestRoundTripCorpus(t *testing.T) {
	for _, name := range []string{"harviewer_issue-61_chrome51.har", "harviewer_issue-61_firefox47.har", "harviewer_www-cnn-com.har", "mizu_example.har", "harviewer_issue-62_svg.base64.har"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir(t), name))
			if err != nil {
				t.Fatal(err)
			}
			first, _, err := readAll(t, data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, ex := range first {
				ex.ID = int64(i + 1)
			}
			out := writeAll(t, first)
			checkDevToolsShape(t, out)
			second, sum, err := readAll(t, out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(second) != len(first) || sum.Creator != "corscope" {
				t.Fatalf("%d entries back, want %d", len(second), len(first))
			}
			for i := range first {
				sameExchange(t, i, first[i], second[i])
			}
			// a second trip is byte-identical
			for i, ex := range second {
				ex.ID = int64(i + 1)
			}
			if again := writeAll(t, second); !bytes.Equal(again, out) {
				t.Errorf("second write differs")
			}
		})
	}
}

func TestWriteEdgeCases(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', 0, 0xff, 0xfe, '"', '\\'}
	pre := &storage.Exchange{ID: 10, Started: t0, Ended: t0.Add(3 * time.Millisecond), Method: "OPTIONS", Status: 204, Proto: storage.ProtoHTTP2,
		Scheme: "https", Host: "api.example", Port: 443, Path: "/v1", TLS: true, Server: "[2001:db8::2]:443", ConnNo: 4,
		RequestHeaders: storage.Headers{{Name: "origin", Value: "https://a.example"}, {Name: "access-control-request-method", Value: "PUT"}}}
	act := &storage.Exchange{ID: 11, Started: t0.Add(4 * time.Millisecond), RespStarted: t0.Add(6 * time.Millisecond), Ended: t0.Add(7 * time.Millisecond),
		Method: "PUT", Status: 200, Proto: storage.ProtoHTTP2, Scheme: "https", Host: "api.example", Port: 443, Path: "/v1", Query: "a=%20b&c", TLS: true,
		RequestHeaders:  storage.Headers{{Name: "origin", Value: "https://a.example"}, {Name: "x-ctl", Value: "a\x01\"b\xff"}},
		ResponseHeaders: storage.Headers{{Name: "access-control-allow-origin", Value: "*"}, {Name: "access-control-allow-origin", Value: "https://a.example"}},
		RequestBody:     []byte("line\n\t\"quoted\" é"), RequestBodySize: 20, ResponseBody: binary, ResponseBodySize: 4000,
		FromCache: true, Warnings: []string{"response truncated by capture"}}
	blocked := &storage.Exchange{ID: 12, Started: t0.Add(time.Second), Method: "GET", Scheme: "http", Host: "h.example", Port: 8080, Path: "/",
		Warnings: []string{"no response: request blocked or aborted (HAR status -1)"}}
	out := writeAll(t, []*storage.Exchange{pre, act, blocked}, WithActuals(ActualsOf([]storage.Pairing{{PreflightID: 10, ActualID: 11, Kind: KindHint}, {PreflightID: 10, ActualID: 12, Kind: "cached"}})))
	checkDevToolsShape(t, out)
	if !bytes.Contains(out, []byte(`"_initiator":{"type":"preflight","url":"https://api.example/v1","requestId":"11"}`)) ||
		!bytes.Contains(out, []byte(`"_resourceType":"preflight"`)) || !bytes.Contains(out, []byte(`"serverIPAddress":"2001:db8::2","_serverPort":443`)) {
		t.Errorf("preflight entry: %s", out)
	}
	if !bytes.Contains(out, []byte(`"queryString":[{"name":"a","value":" b"},{"name":"c","value":""}]`)) {
		t.Errorf("query string: %s", out)
	}
	back, _, err := readAll(t, out, Options{})
	if err != nil || len(back) != 3 {
		t.Fatal(err)
	}
	if !bytes.Equal(back[1].ResponseBody, binary) || back[1].ResponseBodySize != 4000 || string(back[1].RequestBody) != string(act.RequestBody) {
		t.Errorf("bodies %q %d %q", back[1].ResponseBody, back[1].ResponseBodySize, back[1].RequestBody)
	}
	if v := back[1].RequestHeaders[1].Value; v != "a\x01\"b\uFFFD" {
		t.Errorf("control and invalid bytes: %q", v)
	}
	if back[1].RespStarted.Sub(back[1].Started) != 2*time.Millisecond || back[1].Ended.Sub(back[1].Started) != 3*time.Millisecond {
		t.Errorf("timings %v %v", back[1].RespStarted.Sub(back[1].Started), back[1].Ended.Sub(back[1].Started))
	}
	if back[2].Status != 0 || back[2].URL() != "http://h.example:8080/" || !strings.Contains(strings.Join(back[2].Warnings, ";"), "no response") {
		t.Errorf("blocked: %d %s %v", back[2].Status, back[2].URL(), back[2].Warnings)
	}
	// the exported ids let the linker pair them again, as a producer hint
	l := NewLinker()
	for i, ex := range back {
		ex.ID = int64(100 + i)
		l.Observe(ex)
	}
	if links := l.Links(); len(links) != 1 || links[0] != (storage.Pairing{PreflightID: 100, ActualID: 101, Kind: KindHint}) {
		t.Errorf("links after export: %v", links)
	}
}

func TestHarURL(t *testing.T) {
	for _, tt := range []struct {
		ex   storage.Exchange
		want string
	}{
		{storage.Exchange{Scheme: "https", Host: "a.example", Port: 443, Path: "/x", Query: "q=1"}, "https://a.example/x?q=1"},
		{storage.Exchange{Host: "a.example", Port: 8443, Path: "/", TLS: true}, "https://a.example:8443/"},
		{storage.Exchange{Host: "::1", Port: 80, Path: "/"}, "http://[::1]/"},
		{storage.Exchange{Scheme: "data", Path: "text/plain,hi"}, "data:text/plain,hi"},
		{storage.Exchange{Path: "*"}, "*"},
	} {
		if got := harURL(&tt.ex); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.ex, got, tt.want)
		}
	}
}

func TestAppendMillis(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 1500 * time.Microsecond: "1.5", 15880 * time.Microsecond: "15.88", time.Nanosecond: "0.000001", -time.Second: "0", 3 * time.Hour: "10800000",
	} {
		if got := string(appendMillis(nil, d)); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}
