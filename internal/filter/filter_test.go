package filter

import (
	"context"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

// fixture is a small store: ids are assigned in this order from 1.
type fixture struct {
	st  *storage.Store
	all []*storage.Exchange
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	in := &storage.Input{Path: "fixture.har", Format: storage.FormatHAR, SHA256: "f"}
	if err := st.BeginInput(ctx, in); err != nil {
		t.Fatal(err)
	}
	w, err := st.NewWriter(in.ID, storage.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	mk := func(i int, method, scheme, host string, port int, path, query string, status int, req, resp storage.Headers) *storage.Exchange {
		return &storage.Exchange{EntryIndex: i, Started: t0.Add(time.Duration(i) * time.Second), Method: method, Scheme: scheme,
			Host: host, Port: port, Path: path, Query: query, Status: status, Proto: storage.ProtoHTTP11,
			RequestHeaders: req, ResponseHeaders: resp}
	}
	evil := "https://evil.example"
	exs := []*storage.Exchange{
		// 1: preflight
		mk(0, "OPTIONS", "https", "api.example.com", 443, "/v1/user", "", 204,
			storage.Headers{{Name: "Origin", Value: evil}, {Name: "Access-Control-Request-Method", Value: "PUT"}},
			storage.Headers{{Name: "Access-Control-Allow-Origin", Value: evil}, {Name: "Access-Control-Allow-Credentials", Value: "true"}}),
		// 2: credentialed actual
		mk(1, "PUT", "https", "api.example.com", 443, "/v1/user", "id=7", 200,
			storage.Headers{{Name: "Origin", Value: evil}, {Name: "Cookie", Value: "sid=1"}},
			storage.Headers{{Name: "Access-Control-Allow-Origin", Value: evil}, {Name: "access-control-allow-credentials", Value: "true"}}),
		// 3: plain GET on another host, odd port, no Origin
		mk(2, "GET", "http", "static.other.org", 8080, "/a_b%c.js", "", 404,
			storage.Headers{{Name: "User-Agent", Value: "curl"}}, storage.Headers{{Name: "Content-Type", Value: "text/javascript"}}),
		// 4: Authorization, wildcard
		mk(3, "get", "https", "deep.api.example.com", 443, "/v2/items", "q=[red]", 500,
			storage.Headers{{Name: "Authorization", Value: "Bearer x"}, {Name: "Origin", Value: "null"}},
			storage.Headers{{Name: "Access-Control-Allow-Origin", Value: "*"}}),
		// 5: IPv6 host, no response
		mk(4, "POST", "http", "::1", 80, "", "", 0, nil, nil),
	}
	for _, ex := range exs {
		w.Exchange(ex)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	err = st.SaveAnalysis(ctx, &storage.Analysis{Findings: []storage.Finding{
		{Rule: "cors-reflect-any-credentials", Severity: "high", Exchanges: []int64{1, 2}},
		{Rule: "cors-wildcard", Severity: "info", Exchanges: []int64{4}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.ExchangesByID(ctx, []int64{1, 2, 3, 4, 5}, false)
	if err != nil || len(all) != 5 {
		t.Fatalf("reload: %v %d", err, len(all))
	}
	return &fixture{st: st, all: all}
}

var fixtureFindings = map[int64][]FindingRef{
	1: {{Rule: "cors-reflect-any-credentials", Severity: "high"}},
	2: {{Rule: "cors-reflect-any-credentials", Severity: "high"}},
	4: {{Rule: "cors-wildcard", Severity: "info"}},
}

// viaSQL returns the ids the expression selects through SQL (+ Match when
// the SQL is inexact), as the UI and the CLI do.
func (f *fixture) viaSQL(t testing.TB, e *Expr) []int64 {
	t.Helper()
	where, args := e.SQL()
	var ids []int64
	err := f.st.Exchanges(context.Background(), storage.Query{Where: where, Args: args, OrderByID: true}, func(ex *storage.Exchange) error {
		if e.Exact() || e.MatchWith(ex, fixtureFindings[ex.ID]) {
			ids = append(ids, ex.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%q: SQL %s: %v", e.String(), where, err)
	}
	return ids
}

func (f *fixture) viaGo(e *Expr) []int64 {
	var ids []int64
	for _, ex := range f.all {
		if e.MatchWith(ex, fixtureFindings[ex.ID]) {
			ids = append(ids, ex.ID)
		}
	}
	return ids
}

func TestExpressionsSelectTheRightExchangesInSQLAndGo(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		expr  string
		want  []int64
		exact bool
	}{
		{"", []int64{1, 2, 3, 4, 5}, true},
		{"~m PUT", []int64{2}, true},
		{"~m get", []int64{3, 4}, true},
		{"~pf", []int64{1}, true},
		{"!~pf", []int64{2, 3, 4, 5}, true},
		{"~cred", []int64{1, 2, 4}, true},
		{"~origin evil", []int64{1, 2}, true},
		{"~origin EVIL.example", []int64{1, 2}, true},
		{"~d example.com", []int64{1, 2, 4}, true},
		{"~d api.example.com", []int64{1, 2, 4}, true},
		{"~d xample.com", nil, true},
		{"~c 200", []int64{2}, true},
		{"~c 4xx", []int64{3}, true},
		{"~c 0", []int64{5}, true},
		{"~h cookie", []int64{2}, true},
		{"~h content-type", []int64{3}, true},
		{"~hq Origin=null", []int64{4}, true},
		{"~hs access-control-allow-origin=*", []int64{4}, true},
		{"~hq access-control-allow-origin", nil, true},
		{"~sev high", []int64{1, 2}, true},
		{"~sev info", []int64{1, 2, 4}, true},
		{"~rule cors-wildcard", []int64{4}, true},
		{"v1", []int64{1, 2}, true},
		{"a_b%c", []int64{3}, true},
		{"a%b", nil, true},
		{":8080/", []int64{3}, true},
		{"http://[::1]/", []int64{5}, true},
		{`"q=[red]"`, []int64{4}, true},
		{"~u /v1/user", []int64{1, 2}, true},
		{`~u ^https://api\.`, []int64{1, 2}, false},
		{`!~u ^https://api\.`, []int64{3, 4, 5}, false},
		{`~u V[12]/`, []int64{1, 2, 4}, false},
		{"~m PUT & ~origin evil & ~cred & ~sev high", []int64{2}, true},
		{"~m PUT ~cred", []int64{2}, true},
		{"~pf | ~c 500", []int64{1, 4}, true},
		{"!(~pf | ~c 500) & ~d example.com", []int64{2}, true},
		{`!(~u ^https & ~m GET) & ~d example.com`, []int64{1, 2}, false},
		{"!!~pf", []int64{1}, true},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			if e.Exact() != c.exact {
				t.Errorf("Exact() = %v, want %v", e.Exact(), c.exact)
			}
			if got := f.viaSQL(t, e); !reflect.DeepEqual(got, c.want) {
				t.Errorf("SQL selects %v, want %v", got, c.want)
			}
			if got := f.viaGo(e); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Match selects %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseErrorsNameTheColumn(t *testing.T) {
	cases := map[string]string{
		"~m GET & ~x 5":         "~x at 10: unknown operator",
		"~x":                    "~x at 1: unknown operator",
		"~m":                    "~m at 1: needs an argument",
		"~m GET &":              "at 9: expression incomplete",
		"(~pf":                  "at 5: expected )",
		"~pf )":                 ") at 5: unexpected token",
		`~u "("`:                "~u at 1: bad regex: missing closing ): `(`",
		"~sev huge":             `~sev at 1: unknown severity "huge" (critical, high, medium, low, info)`,
		"~c abc":                "~c at 1: status must be a number 0-999 or a class like 4xx",
		`~origin "unterminated`: "at 9: unterminated quote",
		"~hq =x":                "~hq at 1: empty header name",
		"~m ()":                 "~m at 1: needs an argument",
	}
	for expr, want := range cases {
		_, err := Parse(expr)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error = %v, want %q", expr, err, want)
		}
	}
	if _, err := Parse(strings.Repeat("!", 200) + "~pf"); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep nesting: %v", err)
	}
	if _, err := Parse(strings.Repeat("a", MaxLength+1)); err == nil {
		t.Error("over-long expression accepted")
	}
}

func TestOperatorHelpListsEveryOperator(t *testing.T) {
	help := OperatorHelp()
	if len(help) != len(Operators) {
		t.Fatalf("help has %d lines, %d operators", len(help), len(Operators))
	}
	names := make([]string, 0, len(help))
	for _, h := range help {
		names = append(names, strings.Fields(h)[0])
	}
	sort.Strings(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			t.Fatalf("duplicate %s", names[i])
		}
	}
}

func TestShallowExpressionsNeedNoHeaders(t *testing.T) {
	f := newFixture(t)
	for expr, want := range map[string]bool{
		`~u ^https & !~m GET | ~c 4xx & ~d example.com & url`: true,
		`~u ^https & ~origin evil`:                            false, "~pf": false, "~cred": false, "~sev high": false, "~h x": false,
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if e.Shallow() != want {
			t.Errorf("%q: Shallow() = %v", expr, !want)
		}
		if !want {
			continue
		}
		// The claim holds: matching on header-less copies changes nothing.
		for _, ex := range f.all {
			bare := *ex
			bare.RequestHeaders, bare.ResponseHeaders = nil, nil
			if e.Match(&bare) != e.Match(ex) {
				t.Errorf("%q: exchange %d matches differently without headers", expr, ex.ID)
			}
		}
	}
}
