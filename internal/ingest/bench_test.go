package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/corscope/corscope/har/hargen"
	"github.com/corscope/corscope/storage"
)

// BenchmarkIngestHAR measures a whole HAR ingest into SQLite (hash, parse,
// link, write): MB/s is the figure to compare with the foundation issue's
// target; scripts/bench.sh does the same at 300 MB.
func BenchmarkIngestHAR(b *testing.B) {
	var buf bytes.Buffer
	if _, err := hargen.Generate(&buf, hargen.Config{Size: 16 << 20, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.har")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := storage.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := File(context.Background(), st, path, Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}
