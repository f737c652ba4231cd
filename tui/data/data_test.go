package data

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/internal/filter"
	"github.com/corscope/corscope/internal/synthex"
	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/internal/fixture"
)

func fixtureSource(t *testing.T) *Source {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := fixture.Small(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return NewSource(st)
}

func TestIDsSortAndFilterInSQLAndGo(t *testing.T) {
	ctx := context.Background()
	src := fixtureSource(t)
	cases := []struct {
		expr  string
		order Sort
		want  []int64
	}{
		{"", Sort{Column: ColTime}, []int64{1, 2, 3, 4, 5}},
		{"", Sort{Column: ColTime, Desc: true}, []int64{5, 4, 3, 2, 1}},
		{"", Sort{Column: ColMethod}, []int64{1, 4, 5, 2, 3}},
		{"", Sort{Column: ColStatus, Desc: true}, []int64{2, 5, 4, 3, 1}},
		{"~sev high", Sort{Column: ColTime}, []int64{2, 3}},
		{`~u "^https://api\\.example\\.com/v1/(user|profile)$"`, Sort{Column: ColID}, []int64{1, 2}},
		{`~u ^https://api & ~sev high`, Sort{Column: ColID, Desc: true}, []int64{3, 2}},
	}
	for _, c := range cases {
		var f *filter.Expr
		if c.expr != "" {
			var err error
			if f, err = filter.Parse(c.expr); err != nil {
				t.Fatal(err)
			}
		}
		checked := 0
		got, err := src.IDs(ctx, f, c.order, func(n int) { checked = n })
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q %+v: ids %v, want %v", c.expr, c.order, got, c.want)
		}
		if f != nil && !f.Exact() && checked == 0 {
			t.Errorf("%q: inexact filter reported no progress", c.expr)
		}
	}
}

func TestRowsRenderMarksAndSanitizeWireText(t *testing.T) {
	src := fixtureSource(t)
	rows, err := src.Rows(context.Background(), []int64{fixture.IDHostile, fixture.IDPreflight, fixture.IDActual, 99})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	if rows[1].Cells[ColPair] != "P" || rows[2].Cells[ColPair] != "↳" || rows[1].Cells[ColFinding] != "H" {
		t.Errorf("marks: %q %q %q", rows[1].Cells[ColPair], rows[2].Cells[ColPair], rows[1].Cells[ColFinding])
	}
	if rows[3].Cells[ColURL] != "(deleted)" {
		t.Errorf("missing id row: %+v", rows[3])
	}
	if rows[2].Cells[ColACAC] != "true" || rows[2].Cells[ColOrigin] != "https://evil.example" {
		t.Errorf("cors cells: %+v", rows[2].Cells)
	}
}

func TestWindowLoadsOnlyWantedBlocksAndStaysBounded(t *testing.T) {
	src := fixtureSource(t)
	applied := make(chan func(), 256)
	w := NewWindow(src, func(f func()) { applied <- f })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	ids := make([]int64, BlockSize*(maxBlocks+10))
	for i := range ids {
		ids[i] = int64(i%5 + 1)
	}
	w.SetIDs(ids)
	if _, ok := w.Row(0); ok {
		t.Fatal("row served before any load")
	}
	wait := func() {
		select {
		case f := <-applied:
			f()
		case <-time.After(5 * time.Second):
			t.Fatal("block never loaded")
		}
	}
	wait()
	if r, ok := w.Row(0); !ok || r.ID != 1 {
		t.Fatalf("row 0 = %+v, %v", r, ok)
	}
	for b := 1; b < maxBlocks+10; b++ {
		w.Want(b)
		wait()
	}
	if w.Cached() > maxBlocks {
		t.Errorf("%d blocks cached, cap %d", w.Cached(), maxBlocks)
	}
	// A block loaded for an old list is dropped.
	w.Want(0)
	w.SetIDs(ids[:10])
	for len(applied) > 0 {
		(<-applied)()
	}
	if w.Len() != 10 {
		t.Fatalf("len %d", w.Len())
	}
}

func TestRenderRowSanitizesEveryWireCell(t *testing.T) {
	ex := &storage.Exchange{ID: 9, Method: "GET\x1b[2J", Scheme: "https", Host: "h.example", Port: 443,
		Path: "/[red]x[-]", Client: "[:::https://evil.example/]c", Status: 200,
		RequestHeaders:  storage.Headers{{Name: "Origin", Value: fixture.Hostile}},
		ResponseHeaders: storage.Headers{{Name: "Access-Control-Allow-Origin", Value: fixture.Bidi}, {Name: "Access-Control-Allow-Origin", Value: "*"}}}
	r := RenderRow(ex, 4)
	for c, cell := range r.Cells {
		for _, bad := range []string{"\x1b", "\u202e", "[red]", "[:::", "[-]"} {
			if strings.Contains(cell, bad) {
				t.Errorf("column %s holds raw %q: %q", ColumnTitles[c], bad, cell)
			}
		}
	}
	if !strings.Contains(r.Cells[ColACAO], "×2") || !strings.Contains(r.Cells[ColACAO], "<U+202E>") {
		t.Errorf("ACAO cell %q: want the bidi rune named and the duplicate counted", r.Cells[ColACAO])
	}
	if r.Cells[ColFinding] != "H" {
		t.Errorf("finding mark %q", r.Cells[ColFinding])
	}
}

// A Go-side filter over thousands of rows (several read batches) keeps
// exactly the rows that match, in list order, and reports every row
// checked; a cancelled context ends it with an error.
func TestShallowFilterOverManyBatches(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(filepath.Join(t.TempDir(), "many.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := synthex.Fill(ctx, st, 5000); err != nil {
		t.Fatal(err)
	}
	f, err := filter.Parse(`~u "/[a-z]+/[0-9]*7$"`)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	if err := st.Exchanges(ctx, storage.Query{Desc: true}, func(ex *storage.Exchange) error {
		if f.Match(ex) {
			want = append(want, ex.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || len(want) == 5000 {
		t.Fatalf("the filter keeps %d of 5000 rows: no test", len(want))
	}
	src := NewSource(st)
	checked := 0
	got, err := src.IDs(ctx, f, Sort{Column: ColTime, Desc: true}, func(n int) { checked = n })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || checked != 5000 {
		t.Fatalf("%d ids (want %d), %d checked", len(got), len(want), checked)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.IDs(cctx, f, Sort{Column: ColTime}, nil); err == nil {
		t.Fatal("a cancelled filter returned no error")
	}
}
