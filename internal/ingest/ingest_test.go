package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/corscope/corscope/storage"
)

// corpusDir finds ../shared/corpus beside the repository, or skips.
func corpusDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for i := 0; i < 6; i++ {
		c := filepath.Join(dir, "..", "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		dir = filepath.Dir(dir)
	}
	t.Skip("public corpus ../shared/corpus not present: conformance inputs skipped")
	return ""
}

func openStore(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestHARIngestStoresEveryEntryAndLinksPreflights(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	path := filepath.Join(corpusDir(t), "har", "mizu_example.har")
	res, err := File(ctx, st, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Input.Exchanges != 151 || res.Input.Format != storage.FormatHAR || len(res.Input.SHA256) != 64 {
		t.Fatalf("input = %+v", res.Input)
	}
	if n, _ := st.Count(ctx, "exchanges"); n != 151 {
		t.Fatalf("stored %d exchanges", n)
	}
	pairs, err := st.Pairings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != res.Linked || res.Linked == 0 {
		t.Fatalf("linked %d, stored pairings %d", res.Linked, len(pairs))
	}
	for _, p := range pairs {
		pre, err1 := st.Exchange(ctx, p.PreflightID)
		act, err2 := st.Exchange(ctx, p.ActualID)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if pre.Method != "OPTIONS" || act.PreflightID != pre.ID || act.URL() != pre.URL() ||
			act.Method != pre.RequestHeaders.Value("Access-Control-Request-Method") {
			t.Fatalf("bad link %+v: preflight %s %s, actual %s %s", p, pre.Method, pre.URL(), act.Method, act.URL())
		}
	}
}

func TestReingestSameContentIsNoOp(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	path := filepath.Join(corpusDir(t), "har", "harviewer_noPages.har")
	first, err := File(ctx, st, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A copy under another name has the same content hash.
	cp := filepath.Join(t.TempDir(), "copy.har")
	data, _ := os.ReadFile(path)
	os.WriteFile(cp, data, 0o600)
	again, err := File(ctx, st, cp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Skipped || again.Input.ID != first.Input.ID {
		t.Fatalf("re-ingest = %+v", again)
	}
	if n, _ := st.Count(ctx, "exchanges"); n != first.Input.Exchanges {
		t.Fatalf("exchanges after re-ingest: %d, want %d", n, first.Input.Exchanges)
	}
}

func TestBrokenInputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	corpus := corpusDir(t)
	full, err := os.ReadFile(filepath.Join(corpus, "har", "mizu_example.har"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.har")
	os.WriteFile(cut, full[:len(full)/2], 0o600)
	garbage := filepath.Join(dir, "garbage.bin")
	os.WriteFile(garbage, []byte("\x00\x01 definitely not a capture"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)

	for _, tc := range []struct {
		name, path  string
		partial     bool
		wantMessage string
		minKept     int64
	}{
		{"HAR cut mid-entry keeps what came before", cut, true, "entry ", 1},
		{"not JSON", filepath.Join(corpus, "har", "harviewer_not-json.har"), false, "byte", 0},
		{"garbage", garbage, false, "not a pcap, pcapng or HAR file", 0},
		{"empty", empty, false, "empty input", 0},
		{"missing", filepath.Join(dir, "nope.har"), false, "no such file", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			res, err := File(ctx, st, tc.path, Options{})
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ingest.Error", err)
			}
			if ie.Partial != tc.partial || !strings.Contains(err.Error(), tc.wantMessage) ||
				!strings.HasPrefix(err.Error(), tc.path+": ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q partial=%v", err, ie.Partial)
			}
			n, _ := st.Count(ctx, "exchanges")
			if n < tc.minKept || (tc.minKept == 0 && n != 0) {
				t.Fatalf("kept %d exchanges", n)
			}
			if tc.partial && (res == nil || res.Input.Exchanges != n || !res.Input.Complete) {
				t.Fatalf("partial input not recorded: %+v", res)
			}
		})
	}
}
