package analyze

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/corscope/corscope/internal/ingest"
	"github.com/corscope/corscope/storage"
)

// TestFixturesThroughTheStore runs the acceptance check the way the CLI
// does: ingest into SQLite, stream back with StoreQuery, analyze. It covers
// the recorded cleartext captures too, so the findings from a pcap are held
// to the same endpoint table as those from the HAR of the same session.
func TestFixturesThroughTheStore(t *testing.T) {
	inputs := []struct {
		file  string
		lossy bool
	}{
		{"../testdata/har/chromium-cdp-https.har", false},
		{"../testdata/har/chromium-devtools-https.har", false},
		{"../testdata/har/chromium-cdp-http.har", false},
		{"../testdata/har/playwright-https.har", true},
		{"../testdata/pcap/chromium-http.pcap", false},
		{"../testdata/pcap/chromium-http.pcapng", false},
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in.file), func(t *testing.T) {
			ctx := context.Background()
			st, err := storage.Open(filepath.Join(t.TempDir(), "f.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := ingest.File(ctx, st, in.file, ingest.Options{}); err != nil {
				t.Fatal(err)
			}
			it, err := st.Iterate(ctx, StoreQuery())
			if err != nil {
				t.Fatal(err)
			}
			res, err := Analyze(ctx, it.Next, Config{})
			it.Close()
			if err != nil {
				t.Fatal(err)
			}
			var exs []*storage.Exchange
			if err := st.Exchanges(ctx, storage.Query{}, func(ex *storage.Exchange) error {
				exs = append(exs, ex)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			checkFixture(t, exs, res, in.lossy)
		})
	}
}
