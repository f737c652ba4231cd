package analysisrun

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/corscope/corscope/internal/synthex"
	"github.com/corscope/corscope/storage"
)

// store fills a database with n generated exchanges.
func store(tb testing.TB, n int) *storage.Store {
	tb.Helper()
	st, err := storage.Open(filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := synthex.Fill(context.Background(), st, n); err != nil {
		tb.Fatal(err)
	}
	return st
}

// TestRunStoresWhatItDecided runs twice over the same store: the second run
// reads the same input (not the first run's pairings) and decides the same.
func TestRunStoresWhatItDecided(t *testing.T) {
	st := store(t, 3000)
	ctx := context.Background()
	first, err := Run(ctx, st, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if first.Run.Stats["exchanges"] != 3000 || len(first.Findings) == 0 || len(first.Pairings) == 0 || len(first.Verdicts) == 0 {
		t.Fatalf("stats %v, %d findings, %d pairings, %d verdicts", first.Run.Stats, len(first.Findings),
			len(first.Pairings), len(first.Verdicts))
	}
	second, err := Run(ctx, st, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Findings) != len(first.Findings) || len(second.Pairings) != len(first.Pairings) {
		t.Fatalf("second run: %d findings, %d pairings; first: %d, %d", len(second.Findings), len(second.Pairings),
			len(first.Findings), len(first.Pairings))
	}
	stored, err := st.Findings(ctx)
	if err != nil || len(stored) != len(first.Findings) {
		t.Fatalf("%d stored findings, %v", len(stored), err)
	}
	v, err := st.Verdict(ctx, first.Verdicts[0].ExchangeID)
	if err != nil || v == nil {
		t.Fatalf("verdict of %d: %v, %v", first.Verdicts[0].ExchangeID, v, err)
	}
}

// TestPrefetchStopsEarly ends the consumer before the producer is done:
// stop must return (the producer sees its context cancelled).
func TestPrefetchStopsEarly(t *testing.T) {
	produced := 0
	next, stop := prefetch(context.Background(), func(ctx context.Context, emit func(*storage.Exchange) error) error {
		for i := 0; ; i++ {
			produced++
			if err := emit(&storage.Exchange{ID: int64(i)}); err != nil {
				return err
			}
		}
	})
	for i := 0; i < 10; i++ {
		ex, err := next()
		if err != nil || ex.ID != int64(i) {
			t.Fatalf("next %d: %v, %v", i, ex, err)
		}
	}
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return")
	}
	if produced > 10*prefetchBatch {
		t.Fatalf("producer ran ahead by %d", produced)
	}
}

// BenchmarkRunStored100k analyses 100,000 stored exchanges end to end:
// read from SQLite, analyze, save (figures per exchange).
func BenchmarkRunStored100k(b *testing.B) {
	const n = 100_000
	st := store(b, n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(ctx, st, nil, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/exchange")
}
