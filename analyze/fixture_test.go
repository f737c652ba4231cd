package analyze

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/corscope/corscope/har"
	"github.com/corscope/corscope/internal/fixtureserver"
	"github.com/corscope/corscope/storage"
)

// fixtureHARDir is where the recorded Chromium HARs live; the environment
// variable CORSCOPE_FIXTURE_HARS points elsewhere (fresh recordings).
func fixtureHARDir() string {
	if d := os.Getenv("CORSCOPE_FIXTURE_HARS"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata", "har")
}

func readHAR(t *testing.T, path string) []*storage.Exchange {
	exs, _ := readHARSummary(t, path)
	return exs
}

func readHARSummary(t *testing.T, path string) ([]*storage.Exchange, har.Summary) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var exs []*storage.Exchange
	sum, err := har.Read(f, har.Options{Path: path}, func(ex *storage.Exchange) error {
		ex.ID = int64(len(exs) + 1)
		exs = append(exs, ex)
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return exs, sum
}

// TestFixtureHARs is the acceptance test of issue 3: on HARs recorded from
// real Chromium against internal/fixtureserver, every flaw of every endpoint
// the session reached is reported under its rule, and correct endpoints get
// no finding of low severity or above.
func TestFixtureHARs(t *testing.T) {
	dir := fixtureHARDir()
	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) == 0 {
		t.Skipf("no recorded fixture HARs in %s (made by scripts/record against internal/fixtureserver)", dir)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			exs, sum := readHARSummary(t, file)
			res, err := AnalyzeSlice(context.Background(), exs, Config{})
			if err != nil {
				t.Fatal(err)
			}
			// Playwright's recordHar leaves preflights out and records
			// CORS-blocked requests without response, Origin or Cookie:
			// flaws shown only there cannot be judged from such a record.
			lossy := strings.EqualFold(sum.Creator, "playwright")
			checkFixture(t, exs, res, lossy)
		})
	}
}

// observable reports whether the record of one endpoint holds what rule is
// decided from, and if not, why.
func observable(rule string, exs []*storage.Exchange) (bool, string) {
	any := func(f func(ex *storage.Exchange) bool) bool {
		for _, ex := range exs {
			if f(ex) {
				return true
			}
		}
		return false
	}
	has := func(h storage.Headers, n string) bool { _, ok := h.Get(n); return ok }
	switch rule {
	case "cors-preflight-ok-actual-unshared", "cors-preflight-bad-status", "cors-star-tokens-with-credentials", "cors-max-age-excessive":
		if !any(func(ex *storage.Exchange) bool { return ex.IsPreflight() && ex.Status != 0 }) {
			return false, "no preflight with a response in the record"
		}
	case "csrf-cross-site-simple-write", "csrf-json-as-text-plain", "csrf-origin-not-checked":
		if !any(func(ex *storage.Exchange) bool {
			return ex.Status != 0 && has(ex.RequestHeaders, "Cookie") && (has(ex.RequestHeaders, "Origin") || has(ex.RequestHeaders, "Sec-Fetch-Site"))
		}) {
			return false, "no answered request with Cookie and Origin in the record"
		}
	case "ws-cross-site-handshake-accepted":
		// Chrome's DevTools events leave Cookie out of WebSocket handshake
		// requests unless the recorder merges the ExtraInfo events.
		if !any(func(ex *storage.Exchange) bool {
			return ex.Status == 101 && (has(ex.RequestHeaders, "Cookie") || has(ex.RequestHeaders, "Authorization"))
		}) {
			return false, "no WebSocket handshake with Cookie or Authorization in the record"
		}
	case "cookie-samesite-none-with-cors":
		if !any(func(ex *storage.Exchange) bool { return has(ex.ResponseHeaders, "Set-Cookie") }) {
			return false, "no Set-Cookie in the record"
		}
	default:
		if !any(func(ex *storage.Exchange) bool { return ex.Status != 0 && has(ex.RequestHeaders, "Origin") }) {
			return false, "no answered request with Origin in the record"
		}
	}
	return true, ""
}

func checkFixture(t *testing.T, exs []*storage.Exchange, res *Result, lossy bool) {
	t.Helper()
	// What the session reached: host → path → schemes seen.
	reached := map[string]map[string]bool{}
	atEndpoint := map[string][]*storage.Exchange{}
	for _, ex := range exs {
		k := ex.Host + ex.Path
		atEndpoint[k] = append(atEndpoint[k], ex)
		if reached[k] == nil {
			reached[k] = map[string]bool{}
		}
		sc := ex.Scheme
		if sc == "wss" {
			sc = "https"
		} else if sc == "ws" {
			sc = "http"
		}
		reached[k][sc] = true
	}
	hostOf := func(f storage.Finding) string {
		h := strings.TrimPrefix(strings.TrimPrefix(f.Host, "https://"), "http://")
		if i := strings.LastIndexByte(h, ':'); i >= 0 {
			h = h[:i]
		}
		return h
	}
	byEndpoint := map[string][]storage.Finding{}
	for _, f := range res.Findings {
		k := hostOf(f) + f.PathTemplate
		byEndpoint[k] = append(byEndpoint[k], f)
	}
	checked := 0
	for _, ep := range fixtureserver.Endpoints() {
		k := ep.Host + ep.Path
		schemes := reached[k]
		if len(schemes) == 0 || ep.Scheme != "" && !schemes[ep.Scheme] {
			t.Logf("not reached in this session: %s %s%s", ep.Method, ep.Host, ep.Path)
			continue
		}
		checked++
		got := byEndpoint[k]
		if ep.Correct {
			for _, f := range got {
				if storage.SeverityRank(f.Severity) >= storage.SeverityRank(storage.SeverityLow) {
					t.Errorf("correct endpoint %s%s has %s finding %s (%s; origin %s)", ep.Host, ep.Path, f.Severity, f.Rule, f.Detail, f.Origin)
				}
			}
			continue
		}
		for _, rule := range ep.Flaws {
			if ok, why := observable(rule, atEndpoint[k]); !ok {
				if !lossy && rule != "ws-cross-site-handshake-accepted" {
					t.Errorf("%s%s: %s cannot be checked from a Chromium record: %s", ep.Host, ep.Path, rule, why)
				}
				t.Logf("%s%s: %s not checked: %s", ep.Host, ep.Path, rule, why)
				continue
			}
			found := false
			for _, f := range got {
				if f.Rule == rule {
					found = true
				}
			}
			if !found {
				var have []string
				for _, f := range got {
					have = append(have, f.Severity+" "+f.Rule)
				}
				sort.Strings(have)
				t.Errorf("%s %s%s (%s): %s not reported; findings there: %v", ep.Method, ep.Host, ep.Path, ep.Concept, rule, have)
			}
		}
	}
	if checked == 0 {
		t.Fatal("the HAR reached no fixture endpoint")
	}
}
