// Package analysisrun runs the analyzer over everything a database holds
// and stores what it decided, for 'corscope analyze' and live capture alike.
package analysisrun

import (
	"context"
	"fmt"
	"time"

	"github.com/corscope/corscope/analyze"
	"github.com/corscope/corscope/analyze/config"
	"github.com/corscope/corscope/storage"
)

// Run streams every stored exchange through the analyzer with cfg's
// trusted origins and saves the result, replacing the previous run's.
// version is recorded with the run.
func Run(ctx context.Context, st *storage.Store, cfg *config.Config, version string) (*storage.Analysis, error) {
	started := time.Now().UTC()
	it, err := st.Iterate(ctx, analyze.StoreQuery())
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if cfg == nil {
		cfg = &config.Config{}
	}
	acfg := analyze.Config{TrustedOrigins: cfg.TrustedRegexps(), Browser: cfg.Browser}
	res, err := analyze.Analyze(ctx, it.Next, acfg)
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	it.Close()
	a := &storage.Analysis{
		Run:      storage.Run{Started: started, Finished: time.Now().UTC(), Version: version, Stats: res.Stats},
		Findings: res.Findings, Pairings: res.Pairings, Verdicts: res.Verdicts, Hosts: res.Hosts,
	}
	if err := st.SaveAnalysis(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}
