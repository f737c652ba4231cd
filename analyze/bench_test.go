package analyze

import (
	"context"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

// synthetic builds n exchanges: 40 hosts, id-bearing paths, a dozen origins
// (same-site, foreign, probe, null), preflights followed by their actual
// requests on another connection, cached repeats, plain requests without
// Origin, some cookies and cache headers.
func synthetic(n int) []*storage.Exchange {
	r := rand.New(rand.NewPCG(1, 2))
	origins := []string{"https://app.example0.com", "https://partner.io", "https://evil.test", "null",
		"https://admin.example0.com", "https://x.github.io", "http://localhost:3000", "https://other.org",
		"https://example0.com.evil.tld", "https://www.shop.test", "https://a1b2c3d4e5f6.io", "https://cdn.example0.com"}
	out := make([]*storage.Exchange, 0, n)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for id := int64(1); len(out) < n; id++ {
		at = at.Add(time.Duration(r.IntN(3000)) * time.Microsecond)
		host := "api" + strconv.Itoa(r.IntN(12)) + ".example" + strconv.Itoa(r.IntN(2)) + ".com"
		path := "/v1/items/" + strconv.Itoa(r.IntN(100000))
		if r.IntN(4) == 0 {
			path = "/static/app." + strconv.Itoa(r.IntN(8)) + ".css"
		}
		o := origins[r.IntN(len(origins))]
		client := "10.0." + strconv.Itoa(r.IntN(4)) + "." + strconv.Itoa(r.IntN(200)) + ":" + strconv.Itoa(40000+r.IntN(20000))
		base := storage.Exchange{Scheme: "https", Host: host, Port: 443, Path: path, Client: client, Server: "203.0.113.9:443",
			Proto: storage.ProtoHTTP2, Status: 200, EntryIndex: -1}
		resp := storage.Headers{{Name: "content-type", Value: "application/json"}, {Name: "date", Value: "Thu, 01 Jan 2026 00:00:00 GMT"}}
		echoed := r.IntN(3) != 0
		if echoed {
			resp = append(resp, storage.Header{Name: "access-control-allow-origin", Value: o})
			if r.IntN(2) == 0 {
				resp = append(resp, storage.Header{Name: "access-control-allow-credentials", Value: "true"})
			}
			if r.IntN(2) == 0 {
				resp = append(resp, storage.Header{Name: "vary", Value: "Origin, Accept-Encoding"})
			}
		}
		switch k := r.IntN(10); {
		case k < 2: // preflight + actual
			pf := base
			pf.ID, pf.Method, pf.Started, pf.RespStarted = id, "OPTIONS", at, at.Add(time.Millisecond)
			pf.RequestHeaders = storage.Headers{{Name: ":method", Value: "OPTIONS"}, {Name: "origin", Value: o},
				{Name: "access-control-request-method", Value: "PUT"}, {Name: "access-control-request-headers", Value: "content-type,x-token"},
				{Name: "user-agent", Value: "Mozilla/5.0"}}
			pf.ResponseHeaders = append(append(storage.Headers{}, resp...),
				storage.Header{Name: "access-control-allow-methods", Value: "GET, PUT, DELETE"},
				storage.Header{Name: "access-control-allow-headers", Value: "Content-Type, X-Token"},
				storage.Header{Name: "access-control-max-age", Value: "600"})
			pf.Status = 204
			out = append(out, &pf)
			id++
			act := base
			act.ID, act.Method, act.Started, act.RespStarted = id, "PUT", at.Add(2*time.Millisecond), at.Add(3*time.Millisecond)
			act.Client = client[:len(client)-1] + "9"
			act.RequestHeaders = storage.Headers{{Name: ":method", Value: "PUT"}, {Name: "origin", Value: o},
				{Name: "content-type", Value: "application/json"}, {Name: "x-token", Value: "abc"},
				{Name: "cookie", Value: "session=xyz" + strconv.Itoa(r.IntN(50))}, {Name: "sec-fetch-site", Value: "cross-site"},
				{Name: "sec-fetch-mode", Value: "cors"}}
			act.ResponseHeaders = resp
			out = append(out, &act)
		case k < 8: // CORS GET or POST
			ex := base
			ex.ID, ex.Method, ex.Started, ex.RespStarted = id, "GET", at, at.Add(time.Millisecond)
			if k == 7 {
				ex.Method = "POST"
			}
			ex.RequestHeaders = storage.Headers{{Name: ":method", Value: ex.Method}, {Name: "origin", Value: o},
				{Name: "accept", Value: "application/json"}, {Name: "user-agent", Value: "Mozilla/5.0"},
				{Name: "content-type", Value: "text/plain;charset=UTF-8"}, {Name: "cookie", Value: "session=abc"}}
			if r.IntN(5) == 0 {
				resp = append(resp, storage.Header{Name: "x-cache", Value: "HIT"}, storage.Header{Name: "age", Value: "12"})
			}
			ex.ResponseHeaders = resp
			out = append(out, &ex)
		default: // no Origin
			ex := base
			ex.ID, ex.Method, ex.Started, ex.RespStarted = id, "GET", at, at.Add(time.Millisecond)
			ex.RequestHeaders = storage.Headers{{Name: ":method", Value: "GET"}, {Name: "accept", Value: "*/*"}}
			ex.ResponseHeaders = append(resp, storage.Header{Name: "set-cookie", Value: "session=abc; Secure; HttpOnly; SameSite=None"})
			out = append(out, &ex)
		}
	}
	return out[:n]
}

func BenchmarkAnalyze(b *testing.B) {
	const n = 100_000
	exs := synthetic(n)
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
	res, err := AnalyzeSlice(context.Background(), synthetic(5000), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats["exchanges"] != 5000 || res.Stats["pairings_direct"] == 0 || len(res.Findings) == 0 || len(res.Hosts) == 0 {
		t.Fatalf("stats %v findings %d", res.Stats, len(res.Findings))
	}
	// Grouping keeps the report readable: the same traffic seen 20 times
	// over yields about as many findings, each listing more exchanges.
	base := synthetic(500)
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
