// Package analysisrun runs the analyzer over everything a database holds
// and stores what it decided, for 'corscope analyze' and live capture alike.
package analysisrun

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
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
	if cfg == nil {
		cfg = &config.Config{}
	}
	acfg := analyze.Config{TrustedOrigins: cfg.TrustedRegexps(), Browser: cfg.Browser}
	// The analyzer keeps ~150 MB live at a million exchanges while rows
	// stream through: collecting half as often saves a tenth of the run
	// for about 40 MB more peak memory.
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	next, stop := prefetch(ctx, func(ctx context.Context, emit func(*storage.Exchange) error) error {
		return st.Exchanges(ctx, analyze.StoreQuery(), emit)
	})
	res, err := analyze.AnalyzeScanned(ctx, next, acfg)
	stop()
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	a := &storage.Analysis{
		Run:      storage.Run{Started: started, Finished: time.Now().UTC(), Version: version, Stats: res.Stats},
		Findings: res.Findings, Pairings: res.Pairings, Verdicts: res.Verdicts, Hosts: res.Hosts,
	}
	if err := st.SaveAnalysis(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// prefetchBatch is how many exchanges the reader hands over at a time:
// enough that the channel costs nothing per exchange, few enough to keep
// memory flat.
const prefetchBatch = 256

// prefetchDepth is how many full batches may wait for the analyzer.
const prefetchDepth = 4

// scanWhenQueued is how many batches must be waiting for the analyzer
// before the reader scans the next one itself (a variable for tests).
var scanWhenQueued = prefetchDepth / 2

type batch struct {
	exs     []*storage.Exchange
	scans   []analyze.Scan // scans[i] belongs to exs[i], when scanned
	scanned bool
	err     error // after the last exchange of exs (io.EOF at the end)
}

// prefetch runs produce on its own goroutine, so that decoding rows from
// SQLite, and scanning their headers (analyze.Scan) when the analyzer
// lags, run on one core while the analyzer works on the other. next
// yields what produce emitted, then io.EOF or produce's error; stop ends
// the producer early and waits for it. Batches go back to the producer
// once the analyzer has moved past them, so their Scans' buffers are
// reused.
func prefetch(ctx context.Context, produce func(context.Context, func(*storage.Exchange) error) error) (next func() (*storage.Exchange, *analyze.Scan, error), stop func()) {
	full := make(chan *batch, prefetchDepth)
	free := make(chan *batch, prefetchDepth+2)
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	newBatch := func() *batch {
		select {
		case b := <-free:
			b.exs, b.err, b.scanned = b.exs[:0], nil, false
			return b
		default:
			return &batch{exs: make([]*storage.Exchange, 0, prefetchBatch), scans: make([]analyze.Scan, prefetchBatch)}
		}
	}
	go func() {
		defer close(finished)
		b := newBatch()
		send := func() error {
			select {
			case full <- b:
				b = newBatch()
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := produce(ctx, func(ex *storage.Exchange) error {
			if len(b.exs) == 0 {
				// Scan on this side only while the analyzer lags behind
				// (batches queue up): whichever side has the spare time
				// does the scanning. Reading alone and analysing alone
				// cost about the same, so a fixed split leaves a core idle.
				b.scanned = len(full) >= scanWhenQueued
			}
			if b.scanned {
				b.scans[len(b.exs)].Fill(ex)
			}
			b.exs = append(b.exs, ex)
			if len(b.exs) == prefetchBatch {
				return send()
			}
			return nil
		})
		if err == nil {
			err = io.EOF
		}
		b.err = err
		_ = send()
	}()
	var cur *batch
	i := 0
	next = func() (*storage.Exchange, *analyze.Scan, error) {
		for cur == nil || i >= len(cur.exs) {
			if cur != nil {
				if cur.err != nil {
					return nil, nil, cur.err
				}
				select {
				case free <- cur: // the analyzer is done with it
				default:
				}
			}
			cur, i = <-full, 0
		}
		i++
		if !cur.scanned {
			return cur.exs[i-1], nil, nil
		}
		return cur.exs[i-1], &cur.scans[i-1], nil
	}
	stop = func() {
		cancel()
		<-finished
	}
	return next, stop
}
