package analysisrun

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/corscope/corscope/analyze"
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

// TestScansOnEitherSideDecideTheSame: whether the reader goroutine scans
// headers into recycled batches or leaves it to the analyzer, the run
// decides exactly what the analyzer decides on its own (a scan handed over
// with the wrong exchange, or overwritten too early, would change findings).
func TestScansOnEitherSideDecideTheSame(t *testing.T) {
	const n = 5000 // ~20 batches: every buffer is recycled several times
	st := store(t, n)
	ctx := context.Background()
	var exs []*storage.Exchange
	if err := st.Exchanges(ctx, analyze.StoreQuery(), func(ex *storage.Exchange) error {
		exs = append(exs, ex)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want, err := analyze.AnalyzeSlice(ctx, exs, analyze.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Findings) == 0 || len(want.Verdicts) == 0 {
		t.Fatalf("the generated input decides nothing: %d findings, %d verdicts", len(want.Findings), len(want.Verdicts))
	}
	defer func(v int) { scanWhenQueued = v }(scanWhenQueued)
	for _, mode := range []struct {
		name  string
		queue int
	}{{"reader scans", 0}, {"analyzer scans", prefetchDepth + 1}} {
		scanWhenQueued = mode.queue
		got, err := Run(ctx, st, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Findings) != len(want.Findings) {
			t.Fatalf("%s: %d findings from the run, %d from the analyzer alone", mode.name, len(got.Findings), len(want.Findings))
		}
		for i := range want.Findings {
			want.Findings[i].RunID, want.Findings[i].ID = got.Findings[i].RunID, got.Findings[i].ID
		}
		if !reflect.DeepEqual(got.Findings, want.Findings) {
			t.Errorf("%s: findings differ", mode.name)
		}
		if !reflect.DeepEqual(got.Verdicts, want.Verdicts) || !reflect.DeepEqual(got.Pairings, want.Pairings) ||
			!reflect.DeepEqual(got.Hosts, want.Hosts) {
			t.Errorf("%s: verdicts, pairings or host policies differ", mode.name)
		}
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
		ex, _, err := next()
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
