package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/corscope/corscope/internal/shared"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

func corpusDir(t testing.TB) string {
	t.Helper()
	return shared.Path(t, "corpus", "har")
}

func readAll(t testing.TB, data []byte, opts Options) ([]*storage.Exchange, Summary, error) {
	t.Helper()
	var out []*storage.Exchange
	sum, err := Read(bytes.NewReader(data), opts, func(ex *storage.Exchange) error {
		out = append(out, ex)
		return nil
	})
	return out, sum, err
}

func readCorpus(t *testing.T, name string) ([]byte, []*storage.Exchange, Summary, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	exs, sum, err := readAll(t, data, Options{Path: name})
	return data, exs, sum, err
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// entryOffsets finds the offset of every entry's '{' with encoding/json,
// independently of the reader under test.
func entryOffsets(t *testing.T, data []byte) []int64 {
	t.Helper()
	start := int64(len(data) - len(bytes.TrimPrefix(data, bom)))
	dec := json.NewDecoder(bytes.NewReader(data[start:]))
	var offs []int64
	skipTo := func() int64 {
		o := dec.InputOffset()
		for o < int64(len(data)-int(start)) && strings.IndexByte(" \t\r\n,:", data[start+o]) >= 0 {
			o++
		}
		return o
	}
	want := func(tok json.Token) {
		got, err := dec.Token()
		if err != nil || got != tok {
			t.Fatalf("oracle: got %v %v want %v", got, err, tok)
		}
	}
	want(json.Delim('{'))
	for dec.More() {
		k, _ := dec.Token()
		if k != "log" {
			var skip json.RawMessage
			dec.Decode(&skip)
			continue
		}
		want(json.Delim('{'))
		for dec.More() {
			k, _ := dec.Token()
			if k != "entries" {
				var skip json.RawMessage
				dec.Decode(&skip)
				continue
			}
			want(json.Delim('['))
			for dec.More() {
				offs = append(offs, start+skipTo())
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					t.Fatal(err)
				}
			}
			return offs
		}
	}
	return offs
}

func TestCorpusFiles(t *testing.T) {
	tests := []struct {
		file    string
		entries int
		pages   int
		creator string
		check   func(t *testing.T, exs []*storage.Exchange)
	}{
		{"harviewer_data-url.har", 1, 1, "a name", func(t *testing.T, exs []*storage.Exchange) {
			ex := exs[0]
			if ex.Scheme != "data" || ex.Host != "" || !strings.HasPrefix(ex.Path, "text/css;") {
				t.Errorf("data: URL split as %q %q %q", ex.Scheme, ex.Host, ex.Path)
			}
			if got := harURL(ex); got != "data:text/css;charset=utf-8,body%7btext-align%3acenter%3b%7d" {
				t.Errorf("data: URL renders as %q", got)
			}
		}},
		{"harviewer_from-cache.har", 1, 0, "Firebug", func(t *testing.T, exs []*storage.Exchange) {
			ex := exs[0]
			// Firebug writes local time with +02:00
			if want := mustTime(t, "2010-09-28T11:23:42.531Z"); !ex.Started.Equal(want) {
				t.Errorf("Started %v, want %v", ex.Started, want)
			}
			if ex.Status != 304 || ex.Ended.Sub(ex.Started) != 14*time.Millisecond {
				t.Errorf("status %d duration %v", ex.Status, ex.Ended.Sub(ex.Started))
			}
		}},
		{"harviewer_issue-61_chrome51.har", 27, 3, "WebInspector", func(t *testing.T, exs []*storage.Exchange) {
			ex := exs[0]
			if ex.RequestHeaders[0] != (storage.Header{Name: "Accept-Encoding", Value: "gzip, deflate, sdch"}) ||
				ex.RequestHeaders[1] != (storage.Header{Name: "Host", Value: "gitgrimbo.github.io"}) {
				t.Errorf("first headers %v", ex.RequestHeaders[:2])
			}
			if ex.ConnNo != 26375 || ex.Server != "151.101.60.133:80" || ex.Proto != storage.ProtoHTTP11 {
				t.Errorf("conn %d server %q proto %q", ex.ConnNo, ex.Server, ex.Proto)
			}
			if d := ex.Ended.Sub(ex.Started); d != 15880*time.Microsecond {
				t.Errorf("duration %v", d)
			}
			statuses := map[int]int{}
			for _, ex := range exs {
				statuses[ex.Status]++
			}
			if statuses[200] != 22 || statuses[304] != 5 {
				t.Errorf("statuses %v", statuses)
			}
			png := exs[7]
			if png.ResponseBodySize != 142 || len(png.ResponseBody) != 142 || !bytes.HasPrefix(png.ResponseBody, []byte("\x89PNG")) {
				t.Errorf("base64 PNG: size %d body %d % x", png.ResponseBodySize, len(png.ResponseBody), png.ResponseBody[:min(8, len(png.ResponseBody))])
			}
		}},
		{"harviewer_issue-61_firefox47.har", 23, 3, "Firefox", func(t *testing.T, exs []*storage.Exchange) {
			if want := mustTime(t, "2016-06-28T18:42:57.206Z"); !exs[0].Started.Equal(want) {
				t.Errorf("Firefox +01:00 start %v, want %v", exs[0].Started, want)
			}
			if exs[0].ConnNo != 0 {
				t.Errorf("Firefox's connection field holds the port, not a connection: ConnNo %d", exs[0].ConnNo)
			}
			if exs[8].Status != 304 || exs[0].RequestHeaders[1].Name != "User-Agent" {
				t.Errorf("status %d header %v", exs[8].Status, exs[0].RequestHeaders[1])
			}
		}},
		{"harviewer_issue-61_ie11.fiddler.har", 11, 2, "Fiddler", func(t *testing.T, exs []*storage.Exchange) {
			// starts with a UTF-8 BOM; 7 fraction digits and +01:00
			if want := mustTime(t, "2016-06-28T20:42:02.7221474Z"); !exs[0].Started.Equal(want) {
				t.Errorf("start %v, want %v", exs[0].Started, want)
			}
			if exs[0].Offset <= 3 || exs[0].ConnNo == 0 || exs[0].ConnNo != exs[1].ConnNo {
				t.Errorf("offset %d conn %d/%d", exs[0].Offset, exs[0].ConnNo, exs[1].ConnNo)
			}
		}},
		{"harviewer_issue-62_svg.base64.har", 1, 1, "WebInspector", func(t *testing.T, exs []*storage.Exchange) {
			ex := exs[0]
			if ex.ResponseBodySize != 1330 || len(ex.ResponseBody) != 1330 || !bytes.Contains(ex.ResponseBody, []byte(`<svg viewBox="0 0 514.76`)) {
				t.Errorf("svg body %d/%d %q", len(ex.ResponseBody), ex.ResponseBodySize, ex.ResponseBody[:min(40, len(ex.ResponseBody))])
			}
			if !ex.TLS || ex.Port != 443 {
				t.Errorf("TLS %v port %d", ex.TLS, ex.Port)
			}
		}},
		{"harviewer_multiple-pages.har", 9, 3, "Firebug", nil},
		{"harviewer_no-headers.har", 1, 1, "WebInspector", func(t *testing.T, exs []*storage.Exchange) {
			if len(exs[0].RequestHeaders) != 0 || exs[0].Port != 49001 || exs[0].Server != "192.168.1.80:49001" {
				t.Errorf("headers %v port %d server %q", exs[0].RequestHeaders, exs[0].Port, exs[0].Server)
			}
		}},
		{"harviewer_noPages.har", 87, 0, "Fiddler", func(t *testing.T, exs []*storage.Exchange) {
			n := 0
			for _, ex := range exs {
				if len(ex.Warnings) > 0 {
					t.Errorf("entry %d warnings %v", ex.EntryIndex, ex.Warnings)
				}
				if ex.EntryIndex != n {
					t.Errorf("entry index %d at position %d", ex.EntryIndex, n)
				}
				n++
			}
		}},
		{"harviewer_www-cnn-com.har", 22, 0, "Fiddler", func(t *testing.T, exs []*storage.Exchange) {
			ex := exs[0]
			if ex.Status != 302 || ex.ResponseHeaders.Value("Location") != "http://m.cnn.com" || ex.StatusText != "Found" {
				t.Errorf("status %d %q location %q", ex.Status, ex.StatusText, ex.ResponseHeaders.Value("Location"))
			}
			if want := mustTime(t, "2010-08-30T20:47:34.2095733Z"); !ex.Started.Equal(want) {
				t.Errorf("-04:00 start %v, want %v", ex.Started, want)
			}
		}},
		{"mizu_example.har", 151, 0, "har creator", func(t *testing.T, exs []*storage.Exchange) {
			var options []int
			for _, ex := range exs {
				if ex.Method == "OPTIONS" {
					options = append(options, ex.EntryIndex)
				}
			}
			if len(options) != 4 || options[0] != 2 || options[1] != 52 || options[2] != 88 || options[3] != 131 {
				t.Errorf("OPTIONS entries %v", options)
			}
			pf := exs[52]
			if !pf.IsPreflight() || pf.RequestHeaders.Value("Access-Control-Request-Method") != "GET" || pf.Origin() != "https://stg.testr.io" {
				t.Errorf("entry 52 not read as a preflight: %v", pf.RequestHeaders)
			}
			if pf.RequestHeaders[18].Name != ":method" || len(pf.RequestHeaders) != 25 {
				t.Errorf("pseudo-header order: %v", pf.RequestHeaders[18])
			}
			last := exs[150]
			if last.Status != 0 || len(last.Warnings) != 1 || last.Warnings[0] != "no response: request blocked or aborted (HAR status 0)" {
				t.Errorf("status 0 entry: %d %v", last.Status, last.Warnings)
			}
			if last.Proto != "" {
				t.Errorf("empty httpVersion must stay empty, got %q", last.Proto)
			}
		}},
		{"mizu_params.har", 19, 0, "mitmproxy har_dump", func(t *testing.T, exs []*storage.Exchange) {
			if exs[0].Server != "54.210.29.33:443" || exs[0].Method != "GET" || exs[0].Status != 200 {
				t.Errorf("server %q %s %d", exs[0].Server, exs[0].Method, exs[0].Status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, exs, sum, err := readCorpus(t, tt.file)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if sum.Entries != tt.entries || len(exs) != tt.entries || sum.Pages != tt.pages || sum.Creator != tt.creator {
				t.Fatalf("entries %d (%d emitted), pages %d, creator %q; want %d, %d, %q",
					sum.Entries, len(exs), sum.Pages, sum.Creator, tt.entries, tt.pages, tt.creator)
			}
			if !Sniff(data[:min(len(data), 512)]) {
				t.Errorf("Sniff does not recognise %s", tt.file)
			}
			offs := entryOffsets(t, data)
			for i, ex := range exs {
				if ex.EntryIndex != i || ex.Offset != offs[i] || data[ex.Offset] != '{' {
					t.Fatalf("entry %d: index %d offset %d, want offset %d", i, ex.EntryIndex, ex.Offset, offs[i])
				}
			}
			if tt.check != nil {
				tt.check(t, exs)
			}
		})
	}
}

func TestCorpusBrokenFiles(t *testing.T) {
	t.Run("not-json", func(t *testing.T) {
		_, exs, _, err := readCorpus(t, "harviewer_not-json.har")
		var he *Error
		if !errors.As(err, &he) || he.Partial || he.Entry != -1 || len(exs) != 0 {
			t.Fatalf("got %v (%#v), %d exchanges", err, he, len(exs))
		}
		// the stray "xxx" is at line 8, column 5
		if he.Offset != 110 || !strings.Contains(err.Error(), "harviewer_not-json.har: syntax error at byte 110") {
			t.Errorf("message %q offset %d", err, he.Offset)
		}
	})
	t.Run("not-valid", func(t *testing.T) {
		// well-formed JSON with a log but no entries array: not a HAR
		// (HAR 1.2 requires log.entries; DevTools refuses it too)
		_, exs, sum, err := readCorpus(t, "harviewer_not-valid.har")
		var he *Error
		if !errors.As(err, &he) || he.Partial || len(exs) != 0 {
			t.Fatalf("got %v, %d exchanges", err, len(exs))
		}
		if !strings.Contains(err.Error(), `no "entries" array`) || sum.Creator != "Firebug" {
			t.Errorf("message %q creator %q", err, sum.Creator)
		}
	})
}

// TestTruncatedCorpusFile cuts a real HAR inside an entry: every entry
// before it is emitted and the error names the entry and its offset.
func TestTruncatedCorpusFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "harviewer_issue-61_chrome51.har"))
	if err != nil {
		t.Fatal(err)
	}
	offs := entryOffsets(t, data)
	for _, k := range []int{0, 1, 13, 26} {
		cut := offs[k] + 40
		if k+1 < len(offs) {
			cut = (offs[k] + offs[k+1]) / 2
		}
		exs, _, err := readAll(t, data[:cut], Options{Path: "cut.har"})
		var he *Error
		if !errors.As(err, &he) {
			t.Fatalf("cut in entry %d: err %v", k, err)
		}
		if !he.Partial || he.Entry != k || he.Offset != offs[k] || len(exs) != k || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut in entry %d: %v (partial %v entry %d offset %d, want %d), %d emitted", k, err, he.Partial, he.Entry, he.Offset, offs[k], len(exs))
		}
		want := "cut.har: entry " + strconv.Itoa(k) + " at byte " + strconv.FormatInt(offs[k], 10) + ": unexpected EOF"
		if err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	}
	// cut before the entries array: not partial
	exs, _, err := readAll(t, data[:offs[0]/3], Options{})
	var he *Error
	if !errors.As(err, &he) || he.Partial || len(exs) != 0 {
		t.Errorf("cut in pages: %v %+v", err, he)
	}
}
