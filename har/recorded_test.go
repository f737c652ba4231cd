package har

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/corscope/corscope/internal/shared"
	"github.com/corscope/corscope/storage"
)

// recordedDir returns the repository's testdata/har, where real Chromium
// and Playwright recordings are kept.
func recordedDir(t *testing.T) string {
	return filepath.Join(shared.RepoRoot(t), "testdata", "har")
}

// TestRecordedHARs reads every recording in testdata/har: each entry
// becomes one exchange, every preflight is linked or has a stated reason,
// at least 90% of the preflights of Chromium recordings are linked, and a
// Playwright recording holds no preflight to link.
func TestRecordedHARs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(recordedDir(t), "*.har"))
	if len(files) == 0 {
		t.Skip("no recordings in testdata/har yet (scripts/record makes them)")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			l := NewLinker()
			var exs []*storage.Exchange
			sum, err := Read(strings.NewReader(string(data)), Options{Path: f}, func(ex *storage.Exchange) error {
				ex.ID = int64(len(exs) + 1)
				exs = append(exs, ex)
				l.Observe(ex)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			offs := entryOffsets(t, data)
			if len(exs) != len(offs) || sum.Skipped != 0 {
				t.Fatalf("%d exchanges for %d entries (%d skipped)", len(exs), len(offs), sum.Skipped)
			}
			preflights := 0
			for _, ex := range exs {
				if isPreflight(ex) {
					preflights++
				}
			}
			links := l.Links()
			unlinked := 0
			for reason, n := range l.Unlinked() {
				if reason == "" {
					t.Errorf("%d preflights unlinked without a reason", n)
				}
				unlinked += n
			}
			if len(links)+unlinked != preflights {
				t.Errorf("%d preflights, %d linked, %d unlinked", preflights, len(links), unlinked)
			}
			t.Logf("%s: %d entries, %d preflights, %d linked, unlinked %v", sum.Creator, len(exs), preflights, len(links), l.Unlinked())
			// blocked and aborted requests are kept with a warning, and
			// WebSocket handshakes are marked
			var raw struct {
				Log struct {
					Entries []struct {
						Request struct {
							URL string `json:"url"`
						} `json:"request"`
						Response struct {
							Status int `json:"status"`
						} `json:"response"`
					} `json:"entries"`
				} `json:"log"`
			}
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			for i, e := range raw.Log.Entries {
				ex := exs[i]
				if e.Response.Status <= 0 {
					want := "no response: request blocked or aborted (HAR status " + strconv.Itoa(e.Response.Status) + ")"
					if ex.Status != 0 || len(ex.Warnings) == 0 || !strings.HasPrefix(ex.Warnings[0], want) {
						t.Errorf("entry %d (status %d): %d %q", i, e.Response.Status, ex.Status, ex.Warnings)
					}
				}
				if strings.HasPrefix(e.Request.URL, "ws") && e.Response.Status == 101 && ex.Upgrade != "websocket" {
					t.Errorf("entry %d: WebSocket handshake not marked: %q", i, ex.Upgrade)
				}
			}
			// export and read back: the same exchanges, and the links come
			// back as producer hints through _initiator.requestId
			out := writeAll(t, exs, WithActuals(ActualsOf(links)))
			checkDevToolsShape(t, out)
			back, _, err := readAll(t, out, Options{})
			if err != nil || len(back) != len(exs) {
				t.Fatalf("read back: %v, %d of %d", err, len(back), len(exs))
			}
			relink := NewLinker()
			for i, ex := range back {
				sameExchange(t, i, exs[i], ex)
				ex.ID = exs[i].ID
				relink.Observe(ex)
			}
			if again := relink.Links(); len(again) != len(links) {
				t.Errorf("%d links after export, %d before", len(again), len(links))
			} else {
				for _, p := range again {
					if p.Kind != KindHint {
						t.Errorf("exported link %v is not a hint", p)
					}
				}
			}
			if strings.EqualFold(sum.Creator, "Playwright") {
				if preflights != 0 {
					t.Errorf("Playwright recorded %d preflights", preflights)
				}
				return
			}
			if preflights > 0 && len(links)*10 < preflights*9 {
				t.Errorf("only %d of %d preflights linked", len(links), preflights)
			}
			for _, p := range links {
				pre, act := exs[p.PreflightID-1], exs[p.ActualID-1]
				// an actual blocked before it was sent is recorded without Origin
				originOK := pre.Origin() == act.Origin() || act.Origin() == "" && act.Status == 0
				if pre.URL() != act.URL() || !originOK || pre.RequestHeaders.Value("Access-Control-Request-Method") != act.Method {
					t.Errorf("entry %d linked to %d: %s %s / %s %s", pre.EntryIndex, act.EntryIndex, pre.URL(), pre.Origin(), act.Method, act.URL())
				}
			}
		})
	}
}

// TestRecordedHeuristicMatchesProducerIDs links the same Chromium
// recording twice: once with the producer's request ids (hints) and once
// stripped of them as DevTools exports it. The heuristic must find the
// very pairs the ids name, blocked actuals without Origin included.
func TestRecordedHeuristicMatchesProducerIDs(t *testing.T) {
	dir := recordedDir(t)
	withIDs, err1 := os.ReadFile(filepath.Join(dir, "chromium-cdp-https.har"))
	withoutIDs, err2 := os.ReadFile(filepath.Join(dir, "chromium-devtools-https.har"))
	if err1 != nil || err2 != nil {
		t.Skip("recordings chromium-cdp-https.har and chromium-devtools-https.har not present")
	}
	pairs := func(data []byte, kind string) map[[2]int]bool {
		l := NewLinker()
		var exs []*storage.Exchange
		if _, err := Read(strings.NewReader(string(data)), Options{}, func(ex *storage.Exchange) error {
			ex.ID = int64(len(exs) + 1)
			exs = append(exs, ex)
			l.Observe(ex)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		out := map[[2]int]bool{}
		for _, p := range l.Links() {
			if p.Kind != kind {
				t.Errorf("link %v is %q, want %q", p, p.Kind, kind)
			}
			out[[2]int{exs[p.PreflightID-1].EntryIndex, exs[p.ActualID-1].EntryIndex}] = true
		}
		return out
	}
	truth, guess := pairs(withIDs, KindHint), pairs(withoutIDs, KindHeuristic)
	if len(truth) == 0 || !reflect.DeepEqual(truth, guess) {
		t.Errorf("producer ids link %v, the heuristic %v", truth, guess)
	}
}
