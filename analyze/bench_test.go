package analyze

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/corscope/corscope/internal/synthex"
	"github.com/corscope/corscope/storage"
)

func BenchmarkAnalyze(b *testing.B) {
	const n = 100_000
	exs := synthex.Exchanges(n)
	b.ReportAllocs()
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		i := 0
		var err error
		res, err = Analyze(context.Background(), func() (*storage.Exchange, error) {
			if i >= len(exs) {
				return nil, io.EOF
			}
			i++
			return exs[i-1], nil
		}, Config{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/exchange")
	b.ReportMetric(float64(len(res.Findings)), "findings")
	b.ReportMetric(float64(len(res.Pairings)), "pairings")
}

// TestSyntheticSanity checks that the benchmark input exercises pairing and
// rules, so the benchmark measures real work.
func TestSyntheticSanity(t *testing.T) {
	res, err := AnalyzeSlice(context.Background(), synthex.Exchanges(5000), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats["exchanges"] != 5000 || res.Stats["pairings_direct"] == 0 || len(res.Findings) == 0 || len(res.Hosts) == 0 {
		t.Fatalf("stats %v findings %d", res.Stats, len(res.Findings))
	}
	// Grouping keeps the report readable: the same traffic seen 20 times
	// over yields about as many findings, each listing more exchanges.
	base := synthex.Exchanges(500)
	var rep []*storage.Exchange
	for r := 0; r < 20; r++ {
		for _, ex := range base {
			c := *ex
			c.ID = int64(len(rep) + 1)
			c.Started = ex.Started.Add(time.Duration(r) * time.Hour)
			rep = append(rep, &c)
		}
	}
	one, err := AnalyzeSlice(context.Background(), base, Config{})
	if err != nil {
		t.Fatal(err)
	}
	many, err := AnalyzeSlice(context.Background(), rep, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(many.Findings) > len(one.Findings)*11/10 || len(many.Findings) < len(one.Findings) {
		t.Errorf("%d findings for 500 exchanges, %d for the same seen 20 times: not grouped", len(one.Findings), len(many.Findings))
	}
}
