package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// streamingConn returns a pooled read connection of a new store.
func streamingConn(t *testing.T) *rawConn {
	t.Helper()
	s := openTemp(t)
	c, err := s.rawConn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.putRawConn(c) })
	return c
}

// Text, blob, float, bool and NULL arguments bind as database/sql would
// bind them, and every column type reads back.
func TestRawConnBindsAndReadsEveryType(t *testing.T) {
	ctx := context.Background()
	c := streamingConn(t)
	var got []string
	err := c.query(ctx, `SELECT ?1, typeof(?1), ?2, typeof(?2), ?3, ?4, ?5 IS NULL, ?6, length(?6)`,
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
	c := streamingConn(t)
	err := c.query(ctx, `SELECT nope FROM exchanges`, nil, func(rawRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no such column: nope") {
		t.Fatalf("err = %v", err)
	}
	err = c.query(ctx, `SELECT ?`, []any{struct{}{}}, func(rawRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "argument 1") {
		t.Fatalf("unsupported argument: err = %v", err)
	}
	err = c.query(ctx, `SELECT ?, ?`, []any{1}, func(rawRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "1 arguments for 2 parameters") {
		t.Fatalf("too few arguments: err = %v", err)
	}
	if err = c.query(ctx, ` -- nothing`, nil, func(rawRow) error { return nil }); err == nil {
		t.Fatal("an empty query succeeded")
	}
	n := 0
	if err := c.query(ctx, `SELECT 1 UNION ALL SELECT 2`, nil, func(r rawRow) error { n += int(r.int64(0)); return nil }); err != nil || n != 3 {
		t.Fatalf("after errors: n = %d, err = %v", n, err)
	}
}

// A step that runs long without producing a row (a filter that matches
// nothing in a big table) ends when the context does.
func TestRawConnInterruptsALongStepWhenTheContextEnds(t *testing.T) {
	c := streamingConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.query(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n) SELECT i FROM n WHERE i < 0`,
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

type namedInt int32

// A prepared rawStmt binds every argument type the Writer hands it: empty
// text stays text (not NULL), a nil []byte is NULL, big blobs grow the
// argument buffer, other types go through database/sql's converter.
func TestRawStmtBindsWhatTheWriterHandsIt(t *testing.T) {
	s := openTemp(t)
	c, err := openRawWriteConn(s.file, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.exec(`CREATE TABLE t (i, v)`); err != nil {
		t.Fatal(err)
	}
	st, err := c.prepare(`INSERT INTO t VALUES (?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	big := bytes.Repeat([]byte{0xAB}, 1<<20)
	for i, v := range []any{"", []byte(nil), []byte{}, big, "small after big", namedInt(-7), uint16(9), 2.5, true, nil, int64(math.MaxInt64)} {
		if err := st.exec(i, v); err != nil {
			t.Fatalf("%d (%T): %v", i, v, err)
		}
	}
	want := []string{"0|text|", "1|null|", "2|blob|0", "3|blob|1048576", "4|text|small after big", "5|integer|-7",
		"6|integer|9", "7|real|2.5", "8|integer|1", "9|null|", "10|integer|9223372036854775807"}
	var got []string
	err = c.query(context.Background(), `SELECT i || '|' || typeof(v) || '|' ||
		CASE typeof(v) WHEN 'blob' THEN length(v) ELSE coalesce(v, '') END FROM t ORDER BY i`, nil, func(r rawRow) error {
		got = append(got, r.text(0))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := st.exec(1, struct{}{}); err == nil || !strings.Contains(err.Error(), "argument 2") {
		t.Fatalf("unsupported type: %v", err)
	}
	if err := st.exec(1); err == nil || !strings.Contains(err.Error(), "1 arguments for 2 parameters") {
		t.Fatalf("too few arguments: %v", err)
	}
	// A constraint error names SQLite's message and leaves the statement usable.
	if err := c.exec(`CREATE UNIQUE INDEX t_i ON t(i)`); err != nil {
		t.Fatal(err)
	}
	if err := st.exec(0, "again"); err == nil || !strings.Contains(err.Error(), "UNIQUE constraint failed") {
		t.Fatalf("duplicate: %v", err)
	}
	if err := st.exec(100, "fine"); err != nil {
		t.Fatalf("after a failed exec: %v", err)
	}
}

// The Writer's connection reports a lock held by another connection as
// busy, which the Writer waits out.
func TestRawConnBusyIsRecognised(t *testing.T) {
	s := openTemp(t)
	tx, err := s.DB().Begin() // BEGIN IMMEDIATE (the Store's DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	c, err := openRawWriteConn(s.file, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	err = c.exec(`BEGIN IMMEDIATE`)
	if !isBusy(err) {
		t.Fatalf("err = %v, want busy", err)
	}
}

// EachShallow fills the request-line columns of each selected exchange,
// in the order the tail asks for; IDs returns the ids of its query.
func TestEachShallowAndIDs(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	exs := samples(3)
	exs[1].Method, exs[1].Status, exs[1].Path, exs[1].Query = "POST", 404, "/v2/x", ""
	ids := storeSamples(t, s, exs, nil)
	var got []string
	err := s.EachShallow(ctx, "WHERE e.status >= ? ORDER BY e.id DESC", []any{200}, func(ex *Exchange) error {
		got = append(got, fmt.Sprintf("%d %s %s %d", ex.ID, ex.Method, ex.URL(), ex.Status))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("%d GET https://api.example.com/v1/user?id=7 200", ids[2]),
		fmt.Sprintf("%d POST https://api.example.com/v2/x 404", ids[1]),
		fmt.Sprintf("%d GET https://api.example.com/v1/user?id=7 200", ids[0]),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	only, err := s.IDs(ctx, `SELECT id FROM exchanges WHERE status = ?`, 404)
	if err != nil || len(only) != 1 || only[0] != ids[1] {
		t.Fatalf("IDs = %v, %v", only, err)
	}
}

// A file that cannot be opened is SQLite's error, not a crash.
func TestRawConnOpenFailure(t *testing.T) {
	_, err := openRawConn(t.TempDir()+"/missing/x.db", 10)
	if err == nil || !strings.Contains(err.Error(), "unable to open") {
		t.Fatalf("err = %v", err)
	}
}
