package main

import (
	"context"
	"fmt"

	"github.com/corscope/corscope/internal/filter"
	"github.com/corscope/corscope/storage"
)

// compileFilter turns a filter expression into a store query plus, when SQL
// alone cannot decide it (a ~u regex), an in-memory predicate over the
// selected superset.
func compileFilter(ctx context.Context, st *storage.Store, expr string) (storage.Query, func(*storage.Exchange) bool, error) {
	if expr == "" {
		return storage.Query{}, nil, nil
	}
	e, err := filter.Parse(expr)
	if err != nil {
		return storage.Query{}, nil, withCode(exitUsage, fmt.Errorf("--filter: %w", err))
	}
	where, args := e.SQL()
	q := storage.Query{Where: where, Args: args}
	if e.Exact() {
		return q, nil, nil
	}
	if !e.NeedsFindings() {
		return q, e.Match, nil
	}
	byExchange, err := findingRefs(ctx, st)
	if err != nil {
		return q, nil, err
	}
	return q, func(ex *storage.Exchange) bool { return e.MatchWith(ex, byExchange[ex.ID]) }, nil
}

func findingRefs(ctx context.Context, st *storage.Store) (map[int64][]filter.FindingRef, error) {
	fs, err := st.Findings(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int64][]filter.FindingRef{}
	for _, f := range fs {
		for _, id := range f.Exchanges {
			out[id] = append(out[id], filter.FindingRef{Rule: f.Rule, Severity: f.Severity})
		}
	}
	return out, nil
}
