package storage

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sampleExchange(i int) *Exchange {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return &Exchange{
		EntryIndex: i, Started: t0, RespStarted: t0.Add(time.Millisecond), Ended: t0.Add(2 * time.Millisecond),
		Client: "10.0.0.2:51234", Server: "10.0.0.9:443", TLS: true, Proto: ProtoHTTP11,
		Method: "GET", Scheme: "https", Host: "api.example.com", Port: 443, Path: "/v1/user", Query: "id=7",
		Status: 200, StatusText: "OK",
		RequestHeaders: Headers{{"Host", "api.example.com"}, {"origin", "https://evil.example"},
			{"Cookie", "a=1"}, {"Cookie", "b=\"2\"\x01\xff"}},
		ResponseHeaders: Headers{{"Access-Control-Allow-Origin", "https://evil.example"},
			{"access-control-allow-origin", "*"}, {"Access-Control-Allow-Credentials", "true"}},
		RequestBodySize: 0, ResponseBodySize: 5, ResponseBody: []byte("hello"),
		Warnings: []string{"response truncated by capture"},
	}
}

func TestExchangeRoundTripKeepsHeaderOrderCaseAndDuplicates(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	want := sampleExchange(1)
	pre := sampleExchange(0)
	pre.Method = "OPTIONS"
	ids := storeSamples(t, s, []*Exchange{want, pre}, func(w *Writer, ids []int64) {
		w.Link(Pairing{PreflightID: ids[1], ActualID: ids[0]})
		w.Connection(&Connection{No: 1, Client: "10.0.0.2:51234", Server: "10.0.0.9:443", TLS: true, ALPN: "h2"})
	})
	id, preID := ids[0], ids[1]
	got, err := s.Exchange(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want.PreflightID = preID
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	act, err := s.Actuals(ctx, preID)
	if err != nil || !reflect.DeepEqual(act, []int64{id}) {
		t.Fatalf("actuals = %v, %v", act, err)
	}
	var acao string
	if err := s.DB().QueryRow(`SELECT acao FROM exchanges WHERE id = ?`, id).Scan(&acao); err != nil || acao != "https://evil.example" {
		t.Fatalf("acao column = %q, %v", acao, err)
	}
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "private.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestMemoryDatabaseKeepsNothing(t *testing.T) {
	s, err := Open(MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := s.tmpDir
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary database %s left behind", dir)
	}
}

func TestIncompleteInputIsReplacedAndCompleteOneFound(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	crashed := &Input{Path: "a.pcap", Format: FormatPCAP, SHA256: "same"}
	if err := s.BeginInput(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	w, _ := s.NewWriter(crashed.ID, WriterOptions{})
	w.Exchange(sampleExchange(1))
	w.Close()
	if found, _ := s.FindInput(ctx, "same"); found != nil {
		t.Fatal("an unfinished input counts as ingested")
	}
	again := &Input{Path: "a.pcap", Format: FormatPCAP, SHA256: "same"}
	if err := s.BeginInput(ctx, again); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, "exchanges"); n != 0 {
		t.Fatalf("rows of the crashed ingest survive: %d", n)
	}
	w, _ = s.NewWriter(again.ID, WriterOptions{})
	w.Exchange(sampleExchange(2))
	w.Close()
	again.Exchanges = 1
	if err := s.FinishInput(ctx, again); err != nil {
		t.Fatal(err)
	}
	found, err := s.FindInput(ctx, "same")
	if err != nil || found == nil || found.ID != again.ID || found.Exchanges != 1 {
		t.Fatalf("FindInput = %+v, %v", found, err)
	}
}

func TestSaveAnalysisReplacesPreviousRun(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for run := 0; run < 2; run++ {
		a := &Analysis{
			Findings: []Finding{{Fingerprint: fmt.Sprint("fp", run), Rule: "cors-wildcard", Severity: SeverityInfo,
				Host: "https://a.example", Exchanges: []int64{3, 4}, Evidence: []string{"Access-Control-Allow-Origin: *"}},
				{Fingerprint: "x", Rule: "cors-reflect-any-credentials", Severity: SeverityHigh, Exchanges: []int64{5}}},
			Pairings: []Pairing{{PreflightID: 1, ActualID: 2, Kind: "direct"}},
			Verdicts: []Verdict{{ExchangeID: 2, Shared: false, Reason: "MissingAllowOriginHeader"}},
			Hosts:    []HostPolicy{{Host: "https://a.example", Wildcard: true}},
		}
		if err := s.SaveAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := s.Findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Rule != "cors-reflect-any-credentials" || fs[1].Fingerprint != "fp1" ||
		!reflect.DeepEqual(fs[1].Exchanges, []int64{3, 4}) || fs[1].Evidence[0] != "Access-Control-Allow-Origin: *" {
		t.Fatalf("findings = %+v", fs)
	}
	v, err := s.Verdict(ctx, 2)
	if err != nil || v == nil || v.Reason != "MissingAllowOriginHeader" {
		t.Fatalf("verdict = %+v, %v", v, err)
	}
	hs, err := s.HostPolicies(ctx)
	if err != nil || len(hs) != 1 || !hs[0].Wildcard {
		t.Fatalf("hosts = %+v, %v", hs, err)
	}
}

func TestStreamingOrderAndPaging(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	in := &Input{Path: "p", Format: FormatPCAP}
	s.BeginInput(ctx, in)
	w, _ := s.NewWriter(in.ID, WriterOptions{BatchSize: 7})
	for _, i := range []int{5, 3, 9, 1} {
		w.Exchange(sampleExchange(i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var order []int
	err := s.Exchanges(ctx, Query{}, func(ex *Exchange) error {
		order = append(order, ex.EntryIndex)
		return nil
	})
	if err != nil || !reflect.DeepEqual(order, []int{1, 3, 5, 9}) {
		t.Fatalf("start order = %v, %v", order, err)
	}
	ids, _ := s.ExchangeIDs(ctx, Query{OrderByID: true, AfterID: 2, Limit: 1})
	if !reflect.DeepEqual(ids, []int64{3}) {
		t.Fatalf("paged ids = %v", ids)
	}
}

func BenchmarkWriterBulk(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	in := &Input{Path: "bench", Format: FormatPCAP}
	s.BeginInput(ctx, in)
	w, _ := s.NewWriter(in.ID, WriterOptions{NoBodies: true, Bulk: true})
	ex := sampleExchange(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Exchange(ex)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkWriterExchanges(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	in := &Input{Path: "bench", Format: FormatPCAP}
	s.BeginInput(ctx, in)
	w, _ := s.NewWriter(in.ID, WriterOptions{NoBodies: true})
	ex := sampleExchange(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Exchange(ex)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func TestExchangesLoadRequestBodyPrefix(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	in := &Input{Path: "p", Format: FormatHAR}
	s.BeginInput(ctx, in)
	w, _ := s.NewWriter(in.ID, WriterOptions{})
	a := sampleExchange(1)
	a.RequestBody = []byte(`{"amount":100,"to":"attacker"}`)
	w.Exchange(a)
	w.Exchange(sampleExchange(2))
	w.Close()
	got := readAll(t, s, Query{RequestBodyPrefix: 10})
	if len(got) != 2 {
		t.Fatalf("%d exchanges", len(got))
	}
	first, second := got[0], got[1]
	if string(first.RequestBody) != `{"amount":` || second.RequestBody != nil || first.ResponseBody != nil {
		t.Fatalf("bodies: %q %q %q", first.RequestBody, second.RequestBody, first.ResponseBody)
	}
}

func TestBulkWriterRebuildsIndexesAndMultiRowInsertKeepsEveryRow(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if n := strings.Count(exchangeInsert, "?"); n != exchangeColumnCount {
		t.Fatalf("exchange insert has %d placeholders, exchangeColumnCount says %d", n, exchangeColumnCount)
	}
	in := &Input{Path: "bulk", Format: FormatPCAP}
	s.BeginInput(ctx, in)
	w, err := s.NewWriter(in.ID, WriterOptions{Bulk: true, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 0; i < 1000; i++ { // not a multiple of rowsPerInsert
		ids = append(ids, w.Exchange(sampleExchange(i)))
		if i == 500 {
			w.Link(Pairing{PreflightID: ids[0], ActualID: ids[i]}) // forces a flush of held rows
		}
	}
	w.Exchange(sampleExchange(1001))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, "exchanges"); n != 1001 {
		t.Fatalf("%d rows stored", n)
	}
	got, err := s.Exchange(ctx, ids[500])
	if err != nil || got.PreflightID != ids[0] || got.EntryIndex != 500 {
		t.Fatalf("linked row: %+v %v", got, err)
	}
	var idx int
	s.DB().QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'exchanges' AND name LIKE 'exchanges_%'`).Scan(&idx)
	if idx != len(exchangeIndexes) {
		t.Fatalf("%d exchange indexes after a bulk load, want %d", idx, len(exchangeIndexes))
	}
}

func TestWriterWaitsForAnotherWriterInsteadOfFailing(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "busy.db")
	s, err := open(p, 20) // a lock held longer than busy_timeout
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(p) // a second process, e.g. 'corscope analyze' during a live capture
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	in := &Input{Path: "live", Format: FormatLive}
	s.BeginInput(ctx, in)
	// Hold the write lock well past the writer's busy_timeout: it must
	// retry, not give up and drop what it was handed.
	tx, err := other.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO runs (started) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(in.ID, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Exchange(sampleExchange(1))
	done := make(chan error, 1)
	go func() { done <- w.Flush() }()
	time.Sleep(300 * time.Millisecond)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("flush after the lock was released: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, "exchanges"); n != 1 {
		t.Fatalf("%d exchanges stored", n)
	}
}

// The analyzer's pairing is what readers see as PreflightID; the ingest
// hint stays in place underneath for the next analysis to read.
func TestPairingShownToReadersHintKeptForAnalyzer(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	ids := storeSamples(t, s, samples(4), func(w *Writer, ids []int64) {
		w.Link(Pairing{PreflightID: ids[0], ActualID: ids[1]}) // the HAR's own link
	})
	preflightOf := func(q Query) map[int64]int64 {
		t.Helper()
		out := map[int64]int64{}
		if err := s.Exchanges(ctx, q, func(ex *Exchange) error { out[ex.ID] = ex.PreflightID; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := preflightOf(Query{}); got[ids[1]] != ids[0] || got[ids[3]] != 0 {
		t.Fatalf("before analysis: %v", got)
	}
	a := &Analysis{Pairings: []Pairing{{PreflightID: ids[0], ActualID: ids[1], Kind: "hint"},
		{PreflightID: ids[2], ActualID: ids[3], Kind: "direct"}}}
	for run := 0; run < 2; run++ {
		if err := s.SaveAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if got := preflightOf(Query{}); got[ids[1]] != ids[0] || got[ids[3]] != ids[2] || got[ids[0]] != 0 {
		t.Fatalf("readers after analysis: %v", got)
	}
	if got := preflightOf(Query{IngestHints: true}); got[ids[1]] != ids[0] || got[ids[3]] != 0 {
		t.Fatalf("ingest hints after analysis: %v", got)
	}
	if err := s.SaveAnalysis(ctx, &Analysis{}); err != nil {
		t.Fatal(err)
	}
	if got := preflightOf(Query{}); got[ids[1]] != ids[0] || got[ids[3]] != 0 {
		t.Fatalf("after an analysis that paired nothing: %v", got)
	}
}

// A database written by schema 1 opens with its findings' links intact.
func TestMigrationFromSchema1KeepsFindingLinks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v1.db")
	// Build the file exactly as schema 1 left it.
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0],
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`, `INSERT INTO schema_version VALUES (1)`,
		`INSERT INTO runs (id, started) VALUES (1, 0)`,
		`INSERT INTO findings (id, run_id, fingerprint, rule, severity, severity_rank) VALUES (7, 1, 'fp', 'cors-wildcard', 'info', 0)`,
		`INSERT INTO finding_exchanges VALUES (7, 30), (7, 10), (7, 20)`,
		`INSERT INTO verdicts VALUES (20, 0, 'MissingAllowOriginHeader')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(p)

	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	fs, err := s.Findings(ctx)
	if err != nil || len(fs) != 1 || !reflect.DeepEqual(fs[0].Exchanges, []int64{10, 20, 30}) {
		t.Fatalf("findings = %+v, %v", fs, err)
	}
	if ids, err := s.FindingsOf(ctx, 20); err != nil || !reflect.DeepEqual(ids, []int64{7}) {
		t.Fatalf("FindingsOf(20) = %v, %v", ids, err)
	}
}

// Verdicts round-trip through their blocks: every one is found, ids
// without a verdict are not, duplicates keep the last.
func TestVerdictBlocks(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	reasons := []string{"", "MissingAllowOriginHeader", "AllowOriginMismatch", "PreflightInvalidStatus"}
	var vs []Verdict
	for id := int64(1); id <= 3*verdictBlockSize+17; id += 3 {
		r := reasons[id%4]
		vs = append(vs, Verdict{ExchangeID: id * 5, Shared: r == "", Reason: r})
	}
	vs = append(vs, Verdict{ExchangeID: 5, Shared: false, Reason: "AllowOriginMismatch"}) // overrides id 5
	if err := s.SaveAnalysis(ctx, &Analysis{Verdicts: vs}); err != nil {
		t.Fatal(err)
	}
	for i, want := range vs[:len(vs)-1] {
		if i == 0 {
			want = vs[len(vs)-1]
		}
		got, err := s.Verdict(ctx, want.ExchangeID)
		if err != nil || got == nil || *got != want {
			t.Fatalf("Verdict(%d) = %+v, %v; want %+v", want.ExchangeID, got, err, want)
		}
		if got, err := s.Verdict(ctx, want.ExchangeID+1); err != nil || got != nil {
			t.Fatalf("Verdict(%d) = %+v, %v; want none", want.ExchangeID+1, got, err)
		}
	}
	if got, err := s.Verdict(ctx, 1); err != nil || got != nil {
		t.Fatalf("Verdict(1) = %+v, %v", got, err)
	}
}

func FuzzVerdictBlock(f *testing.F) {
	f.Add(encodeVerdictBlock([]Verdict{{ExchangeID: 3, Reason: "MissingAllowOriginHeader"}, {ExchangeID: 9, Shared: true}}))
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []Verdict
		if err := decodeVerdictBlock(1, b, func(v Verdict) bool { got = append(got, v); return true }); err != nil || len(got) == 0 {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		var again []Verdict
		if err := decodeVerdictBlock(got[0].ExchangeID, encodeVerdictBlock(got), func(v Verdict) bool { again = append(again, v); return true }); err != nil || !reflect.DeepEqual(got, again) {
			t.Fatalf("%v → %v (%v)", got, again, err)
		}
	})
}

// fn's own error comes back unwrapped (callers stop early with a sentinel).
func TestExchangesReturnsCallbackErrorAsIs(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	storeSamples(t, s, samples(5), nil)
	stop := fmt.Errorf("stop")
	n := 0
	err := s.Exchanges(ctx, Query{OrderByID: true}, func(ex *Exchange) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("err = %v after %d rows", err, n)
	}
}

// Arguments of any Go integer type work as they do through database/sql.
func TestExchangesConvertsArguments(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	storeSamples(t, s, samples(1), nil)
	for _, arg := range []any{200, int32(200), uint16(200), int64(200)} {
		n := 0
		err := s.Exchanges(ctx, Query{Where: "e.status = ?", Args: []any{arg}}, func(*Exchange) error { n++; return nil })
		if err != nil || n != 1 {
			t.Fatalf("%T: %d rows, %v", arg, n, err)
		}
	}
}

func TestFindingIndexFollowsTheLastRun(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if x, err := s.FindingIndex(ctx); err != nil || x != nil {
		t.Fatalf("before any run: %v, %v", x, err)
	}
	save := func(fs ...Finding) {
		t.Helper()
		if err := s.SaveAnalysis(ctx, &Analysis{Findings: fs}); err != nil {
			t.Fatal(err)
		}
	}
	save(Finding{Fingerprint: "a", Rule: "cors-wildcard", Severity: SeverityInfo, Exchanges: []int64{9, 3, 4}},
		Finding{Fingerprint: "b", Rule: "cors-reflect-any-credentials", Severity: SeverityHigh, Exchanges: []int64{4}})
	x, err := s.FindingIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refs := x.Of(4)
	if len(refs) != 2 || refs[0].Rule != "cors-reflect-any-credentials" || refs[1].Rule != "cors-wildcard" {
		t.Fatalf("Of(4) = %+v", refs)
	}
	if r, ok := x.MaxRank(3); !ok || r != SeverityRank(SeverityInfo) {
		t.Fatalf("MaxRank(3) = %d, %v", r, ok)
	}
	if _, ok := x.MaxRank(5); ok || len(x.Of(5)) != 0 {
		t.Fatal("exchange 5 supports nothing")
	}
	var seen []int64
	x.Each(func(id int64, refs []FindingRef) { seen = append(seen, id) })
	if !reflect.DeepEqual(seen, []int64{3, 4, 9}) {
		t.Fatalf("Each visited %v", seen)
	}
	fs, err := s.Findings(ctx)
	if err != nil || !reflect.DeepEqual(fs[1].Exchanges, []int64{3, 4, 9}) {
		t.Fatalf("Findings = %+v, %v", fs, err)
	}
	// A new run (same run id once the old one is replaced) is seen.
	time.Sleep(time.Millisecond)
	save(Finding{Fingerprint: "c", Rule: "cors-null-trusted", Severity: SeverityHigh, Exchanges: []int64{5}})
	if ids, err := s.FindingsOf(ctx, 5); err != nil || len(ids) != 1 {
		t.Fatalf("FindingsOf(5) after the second run = %v, %v", ids, err)
	}
	if ids, _ := s.FindingsOf(ctx, 4); len(ids) != 0 {
		t.Fatalf("FindingsOf(4) after the second run = %v", ids)
	}
}

func TestParseIDList(t *testing.T) {
	for in, want := range map[string][]int64{"[]": nil, "[7]": {7}, "[3,1,2]": {1, 2, 3}, "[10,20]": {10, 20}} {
		if got, err := parseIDList(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "[", "[1,]", "[a]", "1,2", "[1,,2]", "[,]"} {
		if _, err := parseIDList(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if got := string(appendIDList(nil, []int64{1, 22, 333})); got != "[1,22,333]" {
		t.Errorf("appendIDList = %s", got)
	}
}

// A lean read returns exactly the fields it promises, whatever bytes they
// hold, and zero for the rest.
func TestLeanReadMatchesFullRead(t *testing.T) {
	s := openTemp(t)
	odd := sampleExchange(2)
	odd.Path, odd.Query, odd.Host = "/a:b,c/\x00\xff\xfe/é", "x=1:2,3", "h:8,0"
	odd.Client, odd.Server, odd.Upgrade = "", "[::1]:443", "websocket"
	odd.RespStarted, odd.Ended = time.Time{}, time.Time{}
	odd.SourceRequestID, odd.InitiatorRequestID = "12,3:4", "9"
	odd.RequestHeaders = append(odd.RequestHeaders, Header{"X-Odd", "1:2,3\x00"})
	storeSamples(t, s, []*Exchange{sampleExchange(1), odd}, nil)
	full, lean := readAll(t, s, Query{OrderByID: true}), readAll(t, s, Query{OrderByID: true, Lean: true})
	if len(full) != 2 || len(lean) != 2 {
		t.Fatalf("%d full, %d lean rows", len(full), len(lean))
	}
	for i := range full {
		f := *full[i]
		want := Exchange{ID: f.ID, Started: f.Started, RespStarted: f.RespStarted, Ended: f.Ended, Client: f.Client,
			Server: f.Server, Method: f.Method, Scheme: f.Scheme, Host: f.Host, Port: f.Port, Path: f.Path, Query: f.Query,
			Status: f.Status, RequestHeaders: f.RequestHeaders, ResponseHeaders: f.ResponseHeaders,
			RequestBodySize: f.RequestBodySize, SourceRequestID: f.SourceRequestID,
			InitiatorRequestID: f.InitiatorRequestID, Upgrade: f.Upgrade, PreflightID: f.PreflightID}
		if !reflect.DeepEqual(*lean[i], want) {
			t.Errorf("lean row %d:\n got %+v\nwant %+v", i, *lean[i], want)
		}
	}
	if lean[1].Path != odd.Path || !lean[1].RespStarted.IsZero() {
		t.Errorf("odd row: path %q, resp started %v", lean[1].Path, lean[1].RespStarted)
	}
}

// storeSamples writes exchanges into s as one HAR input, calling add with
// the writer so a test can queue links too, and returns their ids.
func storeSamples(t *testing.T, s *Store, exs []*Exchange, add func(w *Writer, ids []int64)) []int64 {
	t.Helper()
	ctx := context.Background()
	in := &Input{Path: "x.har", Format: FormatHAR, SHA256: "abc"}
	if err := s.BeginInput(ctx, in); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(in.ID, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, ex := range exs {
		ids = append(ids, w.Exchange(ex))
	}
	if add != nil {
		add(w, ids)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func samples(n int) []*Exchange {
	var out []*Exchange
	for i := 0; i < n; i++ {
		out = append(out, sampleExchange(i))
	}
	return out
}

// New databases get 16 KiB pages (the driver applies journal_mode after
// the _pragma list, or WAL would fix the page size at 4 KiB first).
func TestNewDatabaseHas16KiBPages(t *testing.T) {
	s := openTemp(t)
	var size int
	if err := s.DB().QueryRow(`PRAGMA page_size`).Scan(&size); err != nil || size != 16384 {
		t.Fatalf("page size %d, %v", size, err)
	}
	var mode string
	if err := s.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v", mode, err)
	}
}

// WithBodies brings each exchange's own request and response bodies, and
// none to an exchange that has none.
func TestExchangesWithBodies(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	exs := samples(3)
	exs[0].RequestBody, exs[0].RequestBodySize = []byte("a=1"), 3
	exs[1].ResponseBody = nil
	exs[1].ResponseBodySize = 0
	exs[2].RequestBody, exs[2].RequestBodySize = []byte{0, 1, 2}, 3
	exs[2].ResponseBody = []byte("third")
	ids := storeSamples(t, s, exs, nil)
	got, err := s.ExchangesByID(ctx, []int64{ids[2], ids[0], ids[1]}, true)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d exchanges, %v", len(got), err)
	}
	want := [][2]string{{"\x00\x01\x02", "third"}, {"a=1", "hello"}, {"", ""}}
	for i, ex := range got {
		if string(ex.RequestBody) != want[i][0] || string(ex.ResponseBody) != want[i][1] {
			t.Errorf("exchange %d: bodies %q / %q, want %q", ex.ID, ex.RequestBody, ex.ResponseBody, want[i])
		}
	}
	if got[2].RequestBody != nil || got[2].ResponseBody != nil {
		t.Errorf("exchange without bodies: %v / %v", got[2].RequestBody, got[2].ResponseBody)
	}
}

// readAll reads every exchange q selects from s.
func readAll(t testing.TB, s *Store, q Query) []*Exchange {
	t.Helper()
	var out []*Exchange
	if err := s.Exchanges(context.Background(), q, func(ex *Exchange) error { out = append(out, ex); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
