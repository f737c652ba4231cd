package har

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func lex(id int64, at time.Duration, method, url, origin string, hdrs ...string) *storage.Exchange {
	ex := &storage.Exchange{ID: id, Started: t0.Add(at), Method: method, Status: 200}
	splitURL(ex, url)
	if origin != "" {
		ex.RequestHeaders = append(ex.RequestHeaders, storage.Header{Name: "Origin", Value: origin})
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		ex.RequestHeaders = append(ex.RequestHeaders, storage.Header{Name: hdrs[i], Value: hdrs[i+1]})
	}
	return ex
}

func preflight(id int64, at time.Duration, url, origin, method string) *storage.Exchange {
	ex := lex(id, at, "OPTIONS", url, origin, "Access-Control-Request-Method", method)
	ex.Status = 204
	return ex
}

func runLinker(exs ...*storage.Exchange) (map[int64]storage.Pairing, map[string]int) {
	l := NewLinker()
	for _, ex := range exs {
		l.Observe(ex)
	}
	got := map[int64]storage.Pairing{}
	for _, p := range l.Links() {
		if _, dup := got[p.PreflightID]; dup {
			panic("preflight linked twice")
		}
		got[p.PreflightID] = p
	}
	return got, l.Unlinked()
}

func TestLinker(t *testing.T) {
	const u, o = "https://api.example/v1/x", "https://app.example"
	ms := time.Millisecond

	t.Run("preflight then actual", func(t *testing.T) {
		links, un := runLinker(preflight(1, 0, u, o, "PUT"), lex(2, 30*ms, "PUT", u, o))
		if links[1] != (storage.Pairing{PreflightID: 1, ActualID: 2, Kind: KindHeuristic}) || len(un) != 0 {
			t.Errorf("%v %v", links, un)
		}
	})
	t.Run("Chrome order: actual issued before its preflight", func(t *testing.T) {
		links, un := runLinker(lex(1, 0, "PUT", u, o), preflight(2, ms, u, o, "PUT"))
		if links[2].ActualID != 1 || len(un) != 0 {
			t.Errorf("%v %v", links, un)
		}
	})
	t.Run("blocked actual recorded without Origin", func(t *testing.T) {
		a := lex(1, 0, "DELETE", u, "")
		a.Status = 0
		p := preflight(2, ms, u, o, "DELETE")
		p.Status = 403
		unrelated := lex(3, 2*ms, "GET", "https://img.example/a.png", "")
		links, un := runLinker(a, p, unrelated)
		if links[2].ActualID != 1 || len(un) != 0 {
			t.Errorf("%v %v", links, un)
		}
		// an answered request without Origin is no CORS request
		a.Status = 200
		if links, _ := runLinker(a, p); len(links) != 0 {
			t.Errorf("%v", links)
		}
	})
	t.Run("producer ids link across other traffic", func(t *testing.T) {
		a := lex(1, 0, "PUT", u, o)
		a.SourceRequestID = "99.1"
		p := preflight(3, 5*time.Second, u, o, "PUT")
		p.InitiatorRequestID = "99.1"
		other := lex(2, 4*time.Second, "PUT", u, o)
		links, un := runLinker(a, other, p)
		if links[3] != (storage.Pairing{PreflightID: 3, ActualID: 1, Kind: KindHint}) || len(un) != 0 {
			t.Errorf("%v %v", links, un)
		}
	})
	t.Run("an actual taken by the heuristic is not claimed again by a hint", func(t *testing.T) {
		p1 := preflight(1, 0, u, o, "PUT")
		a := lex(2, ms, "PUT", u, o)
		a.SourceRequestID = "x"
		p2 := preflight(3, 5*time.Second, u, o, "PUT")
		p2.InitiatorRequestID = "x"
		links, un := runLinker(p1, a, p2)
		if len(links) != 1 || links[1].ActualID != 2 || un[ReasonHintUnmatched] != 1 {
			t.Errorf("%v %v", links, un)
		}
	})
	t.Run("hint seen on the preflight first", func(t *testing.T) {
		p := preflight(1, 0, u, o, "PUT")
		p.InitiatorRequestID = "7"
		a := lex(2, 9*time.Minute, "PUT", u, o)
		a.SourceRequestID = "7"
		links, _ := runLinker(p, a)
		if links[1].ActualID != 2 || links[1].Kind != KindHint {
			t.Errorf("%v", links)
		}
	})
	t.Run("method, origin and URL must match", func(t *testing.T) {
		links, un := runLinker(
			preflight(1, 0, u, o, "PUT"),
			lex(2, 10*ms, "POST", u, o),
			lex(3, 20*ms, "PUT", u, "https://other.example"),
			lex(4, 30*ms, "PUT", u+"?q", o),
		)
		if len(links) != 0 || un[ReasonNoActual] != 1 {
			t.Errorf("%v %v", links, un)
		}
	})
	t.Run("each actual linked once, nearest preflight", func(t *testing.T) {
		links, un := runLinker(
			preflight(1, 0, u, o, "DELETE"), // its actual never came
			preflight(2, 20*time.Second, u, o, "DELETE"),
			lex(3, 20*time.Second+40*ms, "DELETE", u, o),
		)
		if links[2].ActualID != 3 || len(links) != 1 || un[ReasonNoActual] != 1 {
			t.Errorf("%v %v", links, un)
		}
	})
	t.Run("failed preflight", func(t *testing.T) {
		p := preflight(1, 0, u, o, "PUT")
		p.Status = 403
		_, un := runLinker(p, lex(2, time.Second, "GET", "https://elsewhere.example/", o))
		if un[ReasonFailed] != 1 {
			t.Errorf("%v", un)
		}
	})
	t.Run("old preflights leave the window", func(t *testing.T) {
		l := NewLinker()
		l.Observe(preflight(1, 0, u, o, "PUT"))
		l.Observe(lex(2, 11*time.Minute, "GET", "https://x.example/", ""))
		if len(l.pending) != 0 || l.unlinked[ReasonWindow] != 1 {
			t.Errorf("pending %v unlinked %v", l.pending, l.unlinked)
		}
		l.Observe(lex(3, 11*time.Minute+ms, "PUT", u, o))
		if len(l.Links()) != 0 {
			t.Errorf("a preflight outside the window was linked")
		}
	})
	t.Run("unresolved producer id", func(t *testing.T) {
		p := preflight(1, 0, u, o, "PUT")
		p.InitiatorRequestID = "5.1"
		_, un := runLinker(p) // no entry carries ids: DevTools' own export
		if un[ReasonNoActual] != 1 {
			t.Errorf("%v", un)
		}
		other := lex(2, ms, "GET", "https://x.example/", o)
		other.SourceRequestID = "5.2"
		_, un = runLinker(p, other)
		if un[ReasonHintUnmatched] != 1 {
			t.Errorf("%v", un)
		}
	})
	t.Run("no ACRM", func(t *testing.T) {
		p := lex(1, 0, "OPTIONS", u, o)
		p.ResourceType = "preflight"
		_, un := runLinker(p)
		if un[ReasonNoACRM] != 1 {
			t.Errorf("%v", un)
		}
	})
}

func TestLinkerMemoryBounded(t *testing.T) {
	l := NewLinker()
	for i := int64(0); i < maxTracked+5000; i++ {
		url := "https://api.example/" + itoa(int(i))
		l.Observe(lex(2*i, 0, "GET", url, "https://app.example"))
		l.Observe(preflight(2*i+1, 0, url+"/p", "https://app.example", "PUT"))
	}
	if l.acts.len() > maxTracked+1 || l.expires.len() > maxTracked+1 || len(l.waiting) > maxTracked+1 || len(l.pending) > maxTracked+1 {
		t.Errorf("tracked: %d actuals, %d expiries, %d waiting keys, %d pending keys", l.acts.len(), l.expires.len(), len(l.waiting), len(l.pending))
	}
}

// TestLinkerLongCapture: an hour of traffic in both orders, far longer
// than the window, links every pair as it goes.
func TestLinkerLongCapture(t *testing.T) {
	l := NewLinker()
	const n = 3000
	var id int64
	for i := 0; i < n; i++ {
		at := time.Duration(i) * 1200 * time.Millisecond
		url := "https://api.example/item/" + itoa(i%7)
		pre := preflight(id+1, at, url, "https://app.example", "PATCH")
		act := lex(id+2, at+time.Millisecond, "PATCH", url, "https://app.example")
		if i%2 == 0 { // Chrome lists the actual first
			act.Started = t0.Add(at)
			pre.Started = t0.Add(at + time.Millisecond)
			l.Observe(act)
			l.Observe(pre)
		} else {
			l.Observe(pre)
			l.Observe(act)
		}
		id += 2
	}
	links := l.Links()
	if len(links) != n || len(l.Unlinked()) != 0 {
		t.Fatalf("%d of %d linked, unlinked %v", len(links), n, l.Unlinked())
	}
	for _, p := range links {
		if p.ActualID-p.PreflightID != 1 {
			t.Errorf("preflight %d linked to %d", p.PreflightID, p.ActualID)
		}
	}
}

func TestLinkerMizuCorpus(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "mizu_example.har"))
	if err != nil {
		t.Fatal(err)
	}
	exs, _, err := readAll(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLinker()
	for _, ex := range exs {
		ex.ID = int64(ex.EntryIndex) + 1 // as the store would
		l.Observe(ex)
	}
	links := l.Links()
	// entry 52 is answered by entry 54 one millisecond later, 131 by 132;
	// the preflights 2 and 88 have no GET of their URL in the capture
	if len(links) != 2 || links[0] != (storage.Pairing{PreflightID: 53, ActualID: 55, Kind: KindHeuristic}) ||
		links[1] != (storage.Pairing{PreflightID: 132, ActualID: 133, Kind: KindHeuristic}) {
		t.Errorf("links %v", links)
	}
	if un := l.Unlinked(); un[ReasonNoActual] != 2 || len(un) != 1 {
		t.Errorf("unlinked %v", un)
	}
}

// TestLinkerTimelessHAR: entries without usable times (all equal) and one
// URL must neither grow the linker without bound nor make it quadratic.
func TestLinkerTimelessHAR(t *testing.T) {
	const u, o = "https://api.example/v1/x", "https://app.example"
	l := NewLinker()
	const n = 50000
	for i := int64(0); i < n; i++ {
		l.Observe(lex(2*i+1, 0, "PUT", u, o))
		l.Observe(preflight(2*i+2, 0, u, o, "PUT"))
		if len(l.waiting[linkKey("PUT", u)]) > maxPerKey || len(l.pending[linkKey("PUT", u)]) > maxPerKey {
			t.Fatalf("lists grew past %d", maxPerKey)
		}
	}
	if links := l.Links(); len(links) != n || len(l.Unlinked()) != 0 {
		t.Errorf("%d of %d linked, unlinked %v", len(links), n, l.Unlinked())
	}
	// preflights whose actuals never come are given up, not kept
	l = NewLinker()
	for i := int64(0); i < 2000; i++ {
		l.Observe(preflight(i+1, 0, u, o, "PUT"))
	}
	if len(l.pending[linkKey("PUT", u)]) > maxPerKey || l.unlinked[ReasonCrowded] != 2000-maxPerKey {
		t.Errorf("%d pending, unlinked %v", len(l.pending[linkKey("PUT", u)]), l.unlinked)
	}
}
