package har

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/corscope/corscope/storage"
)

// FuzzRead feeds arbitrary bytes to Read with small caps. Whatever the
// input, Read must not panic, must report positions inside the input, and
// what it emits must survive Write and Read again.
func FuzzRead(f *testing.F) {
	f.Add(harOf(entryJSON("2026-01-02T03:04:05+02:00", "https://x.example/a?b", "GET", 200, `,"_resourceType":"preflight","_initiator":{"type":"preflight","requestId":"1"}`)))
	f.Add(harOf(entryJSON("2026-01-02T03:04:05Z", "http://[::1]:80/", "OPTIONS", -1, "")))
	f.Add([]byte("\xef\xbb\xbf{\"log\":{\"entries\":[{\"response\":{\"content\":{\"text\":\"aGk=\",\"encoding\":\"base64\"}}}]}}"))
	f.Add([]byte(`{"log":{"version":"1.1","creator":{"name":"Firebug"} xxx }}`))
	f.Add([]byte(`{"log":{"entries":[{"request":{"headers":[{"name":"\ud83d\ude00","value":"\u0000"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{MaxBody: 64, MaxEntryBytes: 4096}
		var exs []*storage.Exchange
		_, err := Read(bytes.NewReader(data), opts, func(ex *storage.Exchange) error {
			exs = append(exs, ex)
			return nil
		})
		last := -1
		for _, ex := range exs {
			if ex.EntryIndex <= last || ex.Offset < 0 || ex.Offset >= int64(len(data)) || data[ex.Offset] != '{' {
				t.Fatalf("entry %d at %d (previous %d)", ex.EntryIndex, ex.Offset, last)
			}
			last = ex.EntryIndex
			if len(ex.RequestBody) > 64 || len(ex.ResponseBody) > 64 {
				t.Fatalf("body over the cap: %d %d", len(ex.RequestBody), len(ex.ResponseBody))
			}
		}
		// the linker links each preflight and each actual at most once and
		// accounts for every preflight
		l := NewLinker()
		preflights := 0
		for i, ex := range exs {
			ex.ID = int64(i + 1)
			if isPreflight(ex) {
				preflights++
			}
			l.Observe(ex)
		}
		seenPre, seenAct := map[int64]bool{}, map[int64]bool{}
		links := l.Links()
		for _, p := range links {
			if seenPre[p.PreflightID] || seenAct[p.ActualID] || !isPreflight(exs[p.PreflightID-1]) || isPreflight(exs[p.ActualID-1]) {
				t.Fatalf("bad link %v", p)
			}
			seenPre[p.PreflightID], seenAct[p.ActualID] = true, true
		}
		unlinked := 0
		for _, n := range l.Unlinked() {
			unlinked += n
		}
		if len(links)+unlinked != preflights {
			t.Fatalf("%d preflights, %d linked, %d unlinked", preflights, len(links), unlinked)
		}
		var he *Error
		if err != nil {
			if !errors.As(err, &he) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if he.Offset < 0 || he.Offset > int64(len(data)) || he.Entry < -1 {
				t.Fatalf("position out of the input: %v", err)
			}
			if !he.Partial && len(exs) > 0 {
				t.Fatalf("entries emitted but not partial: %v", err)
			}
			return
		}
		var out bytes.Buffer
		i := 0
		werr := Write(&out, Creator{Name: "fuzz"}, func() (*storage.Exchange, error) {
			if i == len(exs) {
				return nil, io.EOF
			}
			i++
			return exs[i-1], nil
		})
		if werr != nil {
			t.Fatal(werr)
		}
		n := 0
		if _, err := Read(&out, Options{MaxBody: 64}, func(*storage.Exchange) error { n++; return nil }); err != nil || n != len(exs) {
			t.Fatalf("written HAR reads back with %v, %d of %d entries\n%s", err, n, len(exs), out.Bytes())
		}
	})
}
