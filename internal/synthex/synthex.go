// Package synthex generates realistic CORS traffic as stored exchanges, the
// same for every benchmark that needs many of them (analyzer, store, UI).
package synthex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/corscope/corscope/storage"
)

// Exchanges builds n exchanges: 40 hosts, id-bearing paths, a dozen origins
// (same-site, foreign, probe, null), preflights followed by their actual
// requests on another connection, cached repeats, plain requests without
// Origin, some cookies and cache headers.
func Exchanges(n int) []*storage.Exchange {
	out := make([]*storage.Exchange, 0, n)
	Stream(n, func(ex *storage.Exchange) { out = append(out, ex) })
	return out
}

// Stream generates the same n exchanges as Exchanges, handing each to fn
// as it is made, so that millions need not be held in memory.
func Stream(n int, fn func(*storage.Exchange)) {
	r := rand.New(rand.NewPCG(1, 2))
	origins := []string{"https://app.example0.com", "https://partner.io", "https://evil.test", "null",
		"https://admin.example0.com", "https://x.github.io", "http://localhost:3000", "https://other.org",
		"https://example0.com.evil.tld", "https://www.shop.test", "https://a1b2c3d4e5f6.io", "https://cdn.example0.com"}
	count := 0
	emit := func(ex *storage.Exchange) {
		if count < n {
			fn(ex)
			count++
		}
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for id := int64(1); count < n; id++ {
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
			emit(&pf)
			id++
			act := base
			act.ID, act.Method, act.Started, act.RespStarted = id, "PUT", at.Add(2*time.Millisecond), at.Add(3*time.Millisecond)
			act.Client = client[:len(client)-1] + "9"
			act.RequestHeaders = storage.Headers{{Name: ":method", Value: "PUT"}, {Name: "origin", Value: o},
				{Name: "content-type", Value: "application/json"}, {Name: "x-token", Value: "abc"},
				{Name: "cookie", Value: "session=xyz" + strconv.Itoa(r.IntN(50))}, {Name: "sec-fetch-site", Value: "cross-site"},
				{Name: "sec-fetch-mode", Value: "cors"}}
			act.ResponseHeaders = resp
			emit(&act)
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
			emit(&ex)
		default: // no Origin
			ex := base
			ex.ID, ex.Method, ex.Started, ex.RespStarted = id, "GET", at, at.Add(time.Millisecond)
			ex.RequestHeaders = storage.Headers{{Name: ":method", Value: "GET"}, {Name: "accept", Value: "*/*"}}
			ex.ResponseHeaders = append(resp, storage.Header{Name: "set-cookie", Value: "session=abc; Secure; HttpOnly; SameSite=None"})
			emit(&ex)
		}
	}
}

// Fill stores n generated exchanges in st as one complete input, loaded in
// bulk (indexes rebuilt at the end when st was empty).
func Fill(ctx context.Context, st *storage.Store, n int) (*storage.Input, error) {
	in := &storage.Input{Path: fmt.Sprintf("synthex:%d", n), Format: "synthetic", SHA256: fmt.Sprintf("synthex-%d", n),
		Started: time.Now().UTC()}
	if err := st.BeginInput(ctx, in); err != nil {
		return nil, err
	}
	w, err := st.NewWriter(in.ID, storage.WriterOptions{Bulk: true})
	if err != nil {
		return nil, err
	}
	Stream(n, func(ex *storage.Exchange) { w.Exchange(ex) })
	if err := w.Close(); err != nil {
		return nil, err
	}
	in.Exchanges, in.Complete, in.Completed = int64(n), true, time.Now().UTC()
	if err := st.FinishInput(ctx, in); err != nil {
		return nil, err
	}
	return in, nil
}
