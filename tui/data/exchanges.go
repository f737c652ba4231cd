// Package data is the UI's model layer: ordered id lists, row rendering and
// a window cache over the store. Views read it; they never query storage.
package data

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/rivo/tview"

	"github.com/corscope/corscope/internal/filter"
	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/sanitize"
)

// Column is one column of the exchanges table.
type Column int

// Columns of the exchanges table, in display order.
const (
	ColID Column = iota
	ColTime
	ColClient
	ColMethod
	ColURL
	ColStatus
	ColOrigin
	ColACAO
	ColACAC
	ColPair
	ColFinding
	ColMark
	NumColumns
)

// ColumnTitles are the header texts.
var ColumnTitles = [NumColumns]string{"#", "time", "client", "method", "url", "status", "origin", "acao", "acac", "pair", "find", "mark"}

// sortSQL is the ORDER BY key of each sortable column; "" = not sortable.
var sortSQL = [NumColumns]string{
	ColID: "e.id", ColTime: "e.started", ColClient: "e.client", ColMethod: "e.method",
	ColURL: "e.host, e.path, e.query", ColStatus: "e.status", ColOrigin: "e.origin", ColACAO: "e.acao", ColACAC: "e.acac",
}

// Sortable reports whether the table can sort on c.
func Sortable(c Column) bool { return c >= 0 && c < NumColumns && sortSQL[c] != "" }

// Sort is an ordering of the exchange list.
type Sort struct {
	Column Column
	Desc   bool
}

// Row is one rendered exchange: every cell is sanitized markup.
type Row struct {
	ID        int64
	Cells     [NumColumns]string
	Preflight bool
	Paired    bool              // an actual request with a known preflight
	Severity  int               // highest severity rank of the findings it supports; 0 none
	Widths    [NumColumns]uint8 // display width of each cell (capped at 255)
}

// Source reads exchanges for the UI.
type Source struct {
	st *storage.Store
}

// NewSource returns a source over st.
func NewSource(st *storage.Store) *Source { return &Source{st: st} }

// Store returns the underlying store.
func (s *Source) Store() *storage.Store { return s.st }

// Count returns the number of stored exchanges.
func (s *Source) Count(ctx context.Context) (int64, error) { return s.st.Count(ctx, "exchanges") }

// IDs returns the ids of the exchanges that f selects (nil: all), in the
// given order. Inexact filters (regex on the URL) are checked in Go on
// chunks of the SQL pre-selection; progress, when set, receives how many
// rows were checked.
func (s *Source) IDs(ctx context.Context, f *filter.Expr, order Sort, progress func(checked int)) ([]int64, error) {
	key := sortSQL[ColTime]
	if Sortable(order.Column) {
		key = sortSQL[order.Column]
	}
	dir := ""
	if order.Desc {
		dir = " DESC"
	}
	var parts []string
	for _, k := range strings.Split(key, ", ") {
		parts = append(parts, k+dir)
	}
	where, args := "", []any(nil)
	if f != nil {
		where, args = f.SQL()
		where = " WHERE " + where
	}
	orderBy := " ORDER BY " + strings.Join(parts, ", ") + ", e.id" + dir
	if f != nil && !f.Exact() && f.Shallow() {
		return s.shallowIDs(ctx, f, where+orderBy, args, progress)
	}
	ids, err := s.st.IDs(ctx, "SELECT e.id FROM exchanges e"+where+orderBy, args...)
	if err != nil {
		return nil, fmt.Errorf("list exchanges: %w", err)
	}
	if f == nil || f.Exact() {
		return ids, nil
	}
	var refs map[int64][]filter.FindingRef
	if f.NeedsFindings() {
		if refs, err = s.FindingRefs(ctx); err != nil {
			return nil, err
		}
	}
	kept := ids[:0]
	const chunk = 512
	for start := 0; start < len(ids); start += chunk {
		end := min(start+chunk, len(ids))
		exs, err := s.st.ExchangesByID(ctx, ids[start:end], false)
		if err != nil {
			return nil, err
		}
		for _, ex := range exs {
			if f.MatchWith(ex, refs[ex.ID]) {
				kept = append(kept, ex.ID)
			}
		}
		if progress != nil {
			progress(end)
		}
	}
	return kept, nil
}

// shallowIDs checks a filter that reads only URL, method and status fields
// (filter.Expr.Shallow) on those columns alone, streamed in list order:
// no headers to decode, one query.
func (s *Source) shallowIDs(ctx context.Context, f *filter.Expr, tail string, args []any, progress func(int)) ([]int64, error) {
	// Rows are read on one goroutine and matched on this one: a regex over
	// a million URLs costs about what reading them does.
	const batchLen = 1024
	batches := make(chan []storage.Exchange, 4)
	free := make(chan []storage.Exchange, 6)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var readErr error
	go func() {
		defer close(batches)
		b := make([]storage.Exchange, 0, batchLen)
		send := func() error {
			select {
			case batches <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case b = <-free:
				b = b[:0]
			default:
				b = make([]storage.Exchange, 0, batchLen)
			}
			return nil
		}
		readErr = s.st.EachShallow(ctx, tail, args, func(ex *storage.Exchange) error {
			if b = append(b, *ex); len(b) == batchLen {
				return send()
			}
			return nil
		})
		if readErr == nil && len(b) > 0 {
			readErr = send()
		}
	}()
	var ids []int64
	checked := 0
	for b := range batches {
		for i := range b {
			if f.Match(&b[i]) {
				ids = append(ids, b[i].ID)
			}
		}
		if progress != nil && (checked+len(b))/4096 != checked/4096 {
			progress(checked + len(b))
		}
		checked += len(b)
		select {
		case free <- b:
		default:
		}
	}
	// batches is closed: the reader is done and readErr is set.
	if readErr != nil {
		return nil, fmt.Errorf("filter exchanges: %w", readErr)
	}
	if progress != nil {
		progress(checked)
	}
	return ids, nil
}

// FindingRefs returns, per exchange, the findings it supports (for Go-side
// filter evaluation of ~sev and ~rule).
func (s *Source) FindingRefs(ctx context.Context) (map[int64][]filter.FindingRef, error) {
	x, err := s.st.FindingIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding refs: %w", err)
	}
	out := map[int64][]filter.FindingRef{}
	x.Each(func(id int64, refs []storage.FindingRef) {
		fr := make([]filter.FindingRef, len(refs))
		for i, r := range refs {
			fr[i] = filter.FindingRef{Rule: r.Rule, Severity: r.Severity}
		}
		out[id] = fr
	})
	return out, nil
}

// severities returns the highest finding severity rank of each of ids that
// supports a finding.
func (s *Source) severities(ctx context.Context, ids []int64) (map[int64]int, error) {
	out := map[int64]int{}
	if len(ids) == 0 {
		return out, nil
	}
	x, err := s.st.FindingIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding marks: %w", err)
	}
	for _, id := range ids {
		if rank, ok := x.MaxRank(id); ok {
			out[id] = rank
		}
	}
	return out, nil
}

// Rows loads and renders the exchanges ids, in that order. An id that no
// longer exists renders as a row saying so, so a row never goes missing.
func (s *Source) Rows(ctx context.Context, ids []int64) ([]Row, error) {
	exs, err := s.st.ExchangesByID(ctx, ids, false)
	if err != nil {
		return nil, err
	}
	sev, err := s.severities(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*storage.Exchange, len(exs))
	for _, ex := range exs {
		byID[ex.ID] = ex
	}
	out := make([]Row, len(ids))
	for i, id := range ids {
		ex, ok := byID[id]
		if !ok {
			out[i].ID = id
			out[i].Cells[ColID] = strconv.FormatInt(id, 10)
			out[i].Cells[ColURL] = "(deleted)"
			continue
		}
		out[i] = RenderRow(ex, sev[id])
	}
	return out, nil
}

// Cell width caps: values are cut with an ellipsis so one hostile header
// cannot push every other column off screen.
const (
	maxURL    = 80
	maxOrigin = 36
	maxShort  = 24
)

// RenderRow renders ex (supporting findings up to severity rank sev).
func RenderRow(ex *storage.Exchange, sev int) Row {
	r := Row{ID: ex.ID, Preflight: ex.IsPreflight(), Paired: ex.PreflightID != 0, Severity: sev}
	r.Cells[ColID] = strconv.FormatInt(ex.ID, 10)
	if !ex.Started.IsZero() {
		r.Cells[ColTime] = ex.Started.UTC().Format("15:04:05.000")
	}
	r.Cells[ColClient] = sanitize.Line(ex.Client, maxShort)
	r.Cells[ColMethod] = sanitize.Line(ex.Method, 10)
	r.Cells[ColURL] = sanitize.Line(ex.URL(), maxURL)
	if ex.Status != 0 {
		r.Cells[ColStatus] = strconv.Itoa(ex.Status)
	} else {
		r.Cells[ColStatus] = "-"
	}
	r.Cells[ColOrigin] = headerCell(ex.RequestHeaders, "Origin", maxOrigin)
	r.Cells[ColACAO] = headerCell(ex.ResponseHeaders, "Access-Control-Allow-Origin", maxOrigin)
	r.Cells[ColACAC] = headerCell(ex.ResponseHeaders, "Access-Control-Allow-Credentials", 8)
	switch {
	case r.Preflight:
		r.Cells[ColPair] = "P"
	case r.Paired:
		r.Cells[ColPair] = "↳"
	}
	if sev > 0 {
		r.Cells[ColFinding] = SeverityLetter(sev)
	}
	for c, cell := range r.Cells {
		r.Widths[c] = uint8(min(tview.TaggedStringWidth(cell), 255))
	}
	return r
}

// headerCell shows a header's first value; several fields with that name
// (which browsers reject for ACAO) are flagged with "×N".
func headerCell(h storage.Headers, name string, max int) string {
	n := h.Count(name)
	if n == 0 {
		return ""
	}
	v := sanitize.Line(h.Value(name), max)
	if n > 1 {
		v += " ×" + strconv.Itoa(n)
	}
	return v
}

// SeverityLetter is the one-letter mark of a severity rank.
func SeverityLetter(rank int) string {
	switch rank {
	case 5:
		return "C"
	case 4:
		return "H"
	case 3:
		return "M"
	case 2:
		return "L"
	case 1:
		return "i"
	}
	return ""
}

// SeverityName returns the severity name of a rank.
func SeverityName(rank int) string {
	return [...]string{"", storage.SeverityInfo, storage.SeverityLow, storage.SeverityMedium, storage.SeverityHigh,
		storage.SeverityCritical}[max(0, min(rank, 5))]
}
