package h2

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// recorder keeps what a client connection wrote and read, in order.
type recorder struct {
	mu    sync.Mutex
	steps []step
}

type recConn struct {
	net.Conn
	rec *recorder
}

func (c *recConn) Write(b []byte) (int, error) {
	c.rec.mu.Lock()
	c.rec.steps = append(c.rec.steps, step{c2s, append([]byte(nil), b...)})
	c.rec.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.rec.mu.Lock()
		c.rec.steps = append(c.rec.steps, step{s2c, append([]byte(nil), b[:n]...)})
		c.rec.mu.Unlock()
	}
	return n, err
}

func TestGoH2CClientAndServerOnLoopback(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 6400) // 100 KiB: several DATA frames
	mux := http.NewServeMux()
	mux.HandleFunc("/api/items", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method == http.MethodOptions {
			h["Access-Control-Allow-Origin"] = []string{"https://app.example", "https://other.example"}
			h.Set("Access-Control-Allow-Methods", "PUT, DELETE")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, _ := io.ReadAll(r.Body)
		h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprintf(zw, "got %s %s", r.Method, body)
		zw.Close()
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	mux.HandleFunc("/trailer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "data")
		w.Header().Set("X-Sum", "42")
	})
	mux.HandleFunc("/n/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	srv := httptest.NewServer(h2c.NewHandler(mux, &http2.Server{}))
	defer srv.Close()

	rec := &recorder{}
	var conns int
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conns++
		return &recConn{Conn: c, rec: rec}, nil
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	do := func(method, path, body string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body == "" {
			req.Body = nil
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	do("OPTIONS", "/api/items?id=3", "", "Origin", "https://app.example", "Access-Control-Request-Method", "PUT")
	do("PUT", "/api/items?id=3", `{"n":1}`, "Origin", "https://app.example", "Content-Type", "application/json")
	do("GET", "/big", "")
	do("GET", "/trailer", "")
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			do("GET", fmt.Sprintf("/n/%d", i), "")
		}(i)
	}
	wg.Wait()
	if conns != 1 {
		t.Fatalf("client used %d connections, want 1", conns)
	}

	rec.mu.Lock()
	steps := append([]step(nil), rec.steps...)
	rec.mu.Unlock()
	p, got := run(Options{}, steps)
	if len(got) != 10 {
		t.Fatalf("got %d exchanges, want 10", len(got))
	}
	byPath := map[string]*storage.Exchange{}
	for _, x := range got {
		if len(x.Warnings) != 0 && x.Path != "/trailer" {
			t.Errorf("%s %s: warnings %q", x.Method, x.Path, x.Warnings)
		}
		if x.Proto != storage.ProtoHTTP2 || x.Host != "127.0.0.1" || x.Scheme != "http" || x.Started.IsZero() || x.Ended.Before(x.Started) {
			t.Errorf("%s %s: %+v", x.Method, x.Path, x)
		}
		byPath[x.Method+" "+x.Path] = x
	}
	pre := byPath["OPTIONS /api/items"]
	if pre == nil || !pre.IsPreflight() || pre.Status != 204 || pre.Query != "id=3" ||
		strings.Join(pre.ResponseHeaders.Values("access-control-allow-origin"), ",") != "https://app.example,https://other.example" {
		t.Errorf("preflight: %+v", pre)
	}
	put := byPath["PUT /api/items"]
	if put == nil || put.Status != 200 || string(put.RequestBody) != `{"n":1}` || string(put.ResponseBody) != `got PUT {"n":1}` ||
		put.RequestHeaders.Value("origin") != "https://app.example" || put.ResponseHeaders.Value("access-control-allow-credentials") != "true" {
		t.Errorf("PUT: %+v", put)
	}
	if x := byPath["GET /big"]; x == nil || !bytes.Equal(x.ResponseBody, big) || x.ResponseBodySize != int64(len(big)) {
		t.Errorf("big body not rebuilt")
	}
	if x := byPath["GET /trailer"]; x == nil || string(x.ResponseBody) != "data" || len(x.Warnings) != 1 || x.Warnings[0] != `trailer fields: "x-sum: 42"` {
		t.Errorf("trailer: %+v", x)
	}
	for i := 0; i < 6; i++ {
		if x := byPath[fmt.Sprintf("GET /n/%d", i)]; x == nil || string(x.ResponseBody) != fmt.Sprintf("/n/%d", i) || x.Status != 200 {
			t.Errorf("concurrent request %d: %+v", i, x)
		}
	}
	if s := p.Stats(); s.Streams != 10 || s.HeaderBlocksFailed != 0 {
		t.Errorf("stats %+v", s)
	}
}
