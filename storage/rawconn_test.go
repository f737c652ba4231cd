package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Text, blob, float, bool and NULL arguments bind as database/sql would
// bind them, and every column type reads back.
func TestRawConnBindsAndReadsEveryType(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	c, err := s.rawConn()
	if err != nil {
		t.Fatal(err)
	}
	defer s.putRawConn(c)
	var got []string
	err = c.query(ctx, `SELECT ?1, typeof(?1), ?2, typeof(?2), ?3, ?4, ?5 IS NULL, ?6, length(?6)`,
		[]any{"a\x00b€", []byte{0, 1, 2}, 2.5, true, nil, ""}, func(r rawRow) error {
			got = append(got, r.text(0), r.text(1), string(r.blob(2)), r.text(3), r.text(4))
			if r.int64(5) != 1 || r.int64(6) != 1 || r.isNull(7) || r.text(7) != "" || r.int64(8) != 0 {
				t.Errorf("bool %d, null %d, empty %q/%d", r.int64(5), r.int64(6), r.text(7), r.int64(8))
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a\x00b€", "text", "\x00\x01\x02", "blob", "2.5"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// SQL errors name SQLite's message; the connection stays usable.
func TestRawConnReportsErrorsAndStaysUsable(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	c, err := s.rawConn()
	if err != nil {
		t.Fatal(err)
	}
	defer s.putRawConn(c)
	err = c.query(ctx, `SELECT nope FROM exchanges`, nil, func(rawRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no such column: nope") {
		t.Fatalf("err = %v", err)
	}
	err = c.query(ctx, `SELECT ?`, []any{struct{}{}}, func(rawRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "argument 1") {
		t.Fatalf("unsupported argument: err = %v", err)
	}
	n := 0
	if err := c.query(ctx, `SELECT 1 UNION ALL SELECT 2`, nil, func(r rawRow) error { n += int(r.int64(0)); return nil }); err != nil || n != 3 {
		t.Fatalf("after errors: n = %d, err = %v", n, err)
	}
}

// A step that runs long without producing a row (a filter that matches
// nothing in a big table) ends when the context does.
func TestRawConnInterruptsALongStepWhenTheContextEnds(t *testing.T) {
	s := openTemp(t)
	c, err := s.rawConn()
	if err != nil {
		t.Fatal(err)
	}
	defer s.putRawConn(c)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.query(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n) SELECT i FROM n WHERE i < 0`,
		nil, func(rawRow) error { t.Error("row"); return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("interrupt took %v", d)
	}
	// The interrupt does not leak into the next query on the connection.
	n := 0
	if err := c.query(context.Background(), `SELECT 1`, nil, func(rawRow) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("next query: n = %d, err = %v", n, err)
	}
}

// Streaming sees what a writer committed after the connection was pooled,
// and a closed Store hands out no connection.
func TestRawConnPoolSeesNewRowsAndClosesWithTheStore(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	count := func() int {
		n := 0
		if err := s.Exchanges(ctx, Query{}, func(*Exchange) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("empty store: %d", n)
	}
	storeSamples(t, s, samples(3), nil)
	if n := count(); n != 3 {
		t.Fatalf("after writing 3: %d", n)
	}
	if len(s.rawIdle) != 1 {
		t.Fatalf("%d idle streaming connections, want 1 reused", len(s.rawIdle))
	}
	s.Close()
	if err := s.Exchanges(ctx, Query{}, func(*Exchange) error { return nil }); err == nil {
		t.Fatal("Exchanges on a closed store succeeded")
	}
}
