package analyze

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/corscope/corscope/internal/fixtureserver"
	"github.com/corscope/corscope/internal/ingest"
	"github.com/corscope/corscope/storage"
)

// TestFixturesThroughTheStore runs the acceptance check the way the CLI
// does: ingest into SQLite, stream back with StoreQuery, analyze. It covers
// the recorded cleartext captures too, so the findings from a pcap are held
// to the same endpoint table as those from the HAR of the same session.
// The decrypted https capture (from its key log, and from the pcapng with
// the secrets embedded) must also show what no HAR does: the Cookie of the
// WebSocket handshakes, so ws-cross-site-handshake-accepted is required.
func TestFixturesThroughTheStore(t *testing.T) {
	inputs := []struct {
		file    string
		lossy   bool
		keylogs []string
		wire    bool // the record holds what only the wire shows; it must reach every endpoint the same session's HAR reaches
	}{
		{"../testdata/har/chromium-cdp-https.har", false, nil, false},
		{"../testdata/har/chromium-devtools-https.har", false, nil, false},
		{"../testdata/har/chromium-cdp-http.har", false, nil, false},
		{"../testdata/har/playwright-https.har", true, nil, false},
		{"../testdata/pcap/chromium-http.pcap", false, nil, false},
		{"../testdata/pcap/chromium-http.pcapng", false, nil, false},
		{"../testdata/pcap/chromium-https.pcap", false, []string{"../testdata/pcap/chromium-https.keylog"}, true},
		{"../testdata/pcap/chromium-https-dsb.pcapng", false, nil, true},
	}
	const sessionHAR = "chromium-cdp-https.har" // the session of chromium-https.pcap
	endpointsOf := map[string]map[string]bool{}
	for _, in := range inputs {
		t.Run(filepath.Base(in.file), func(t *testing.T) {
			ctx := context.Background()
			st, err := storage.Open(filepath.Join(t.TempDir(), "f.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := ingest.File(ctx, st, in.file, ingest.Options{Keylogs: in.keylogs}); err != nil {
				t.Fatal(err)
			}
			res, err := AnalyzeSlice(ctx, storedExchanges(t, st, StoreQuery()), Config{})
			if err != nil {
				t.Fatal(err)
			}
			exs := storedExchanges(t, st, storage.Query{})
			checkFixture(t, exs, res, in.lossy)
			reached := map[string]bool{}
			for _, ex := range exs {
				if ex.Status != 0 {
					reached[ex.Method+" "+ex.Host+ex.Path] = true
				}
			}
			endpointsOf[filepath.Base(in.file)] = reached
			if in.wire {
				requireWireEvidence(t, exs)
				har := endpointsOf[sessionHAR]
				if len(har) == 0 {
					t.Fatalf("%s must come first", sessionHAR)
				}
				for ep := range har {
					if !reached[ep] {
						t.Errorf("%s answered in the HAR but not rebuilt from the capture", ep)
					}
				}
			}
		})
	}
}

// requireWireEvidence fails unless every flaw whose evidence only a capture
// holds (the endpoint table's "wire" class) can be checked from exs: the
// acceptance then holds the findings for it too.
func requireWireEvidence(t *testing.T, exs []*storage.Exchange) {
	t.Helper()
	atEndpoint := map[string][]*storage.Exchange{}
	for _, ex := range exs {
		atEndpoint[ex.Host+ex.Path] = append(atEndpoint[ex.Host+ex.Path], ex)
	}
	wire := 0
	for _, ep := range fixtureserver.Endpoints() {
		if !slices.Contains(ep.Evidence, fixtureserver.EvidenceWire) {
			continue
		}
		for _, rule := range ep.Flaws {
			wire++
			if ok, why := observable(rule, atEndpoint[ep.Host+ep.Path]); !ok {
				t.Errorf("%s%s: %s not checkable from the decrypted capture: %s", ep.Host, ep.Path, rule, why)
			}
		}
	}
	if wire == 0 {
		t.Fatal("the endpoint table names no flaw that only the wire shows")
	}
}

// TestBlockedActualsKeepTheirPreflightLink: Chrome records the actual
// request of a failed preflight without Origin and without response; the
// producer's link must survive analysis (the UI jumps between the two).
func TestBlockedActualsKeepTheirPreflightLink(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := ingest.File(ctx, st, "../testdata/har/chromium-devtools-https.har", ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	linked, err := st.Pairings(ctx)
	if err != nil || len(linked) != res.Linked || res.Linked == 0 {
		t.Fatalf("ingest linked %d, stored %d (%v)", res.Linked, len(linked), err)
	}
	out, err := AnalyzeSlice(ctx, storedExchanges(t, st, StoreQuery()), Config{})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[[2]int64]bool{}
	for _, p := range out.Pairings {
		kept[[2]int64{p.PreflightID, p.ActualID}] = true
	}
	for _, p := range linked {
		if !kept[[2]int64{p.PreflightID, p.ActualID}] {
			t.Errorf("ingest link %d → %d dropped by the analyzer", p.PreflightID, p.ActualID)
		}
	}
}

// storedExchanges reads what q selects from st, in the store's order.
func storedExchanges(t *testing.T, st *storage.Store, q storage.Query) []*storage.Exchange {
	t.Helper()
	var exs []*storage.Exchange
	if err := st.Exchanges(context.Background(), q, func(ex *storage.Exchange) error {
		exs = append(exs, ex)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return exs
}
