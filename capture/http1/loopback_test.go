package http1

import (
	"bufio"
	"bytes"
	"compress/gzip"
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
)

// recorder is a TCP proxy that records what crosses it, per direction, in
// the order the proxy saw it: a capture without the packets.
type recorder struct {
	mu     sync.Mutex
	chunks []recChunk
	sent   [2]uint32
}

type recChunk struct {
	dir      Dir
	data     []byte
	seq, ack uint32
	at       time.Time
}

func (r *recorder) add(dir Dir, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, recChunk{dir: dir, data: append([]byte(nil), b...), seq: 1 + r.sent[dir], ack: 1 + r.sent[1-dir], at: time.Now()})
	r.sent[dir] += uint32(len(b))
}

// proxy accepts one connection and relays it to target while recording.
func (r *recorder) proxy(t *testing.T, target string) (addr string, done <-chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		var wg sync.WaitGroup
		relay := func(dir Dir, dst, src net.Conn) {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, err := src.Read(buf)
				if n > 0 {
					r.add(dir, buf[:n])
					dst.Write(buf[:n])
				}
				if err != nil {
					dst.(*net.TCPConn).CloseWrite()
					return
				}
			}
		}
		wg.Add(2)
		go relay(ClientToServer, s, c)
		go relay(ServerToClient, c, s)
		wg.Wait()
		c.Close()
		s.Close()
	}()
	return ln.Addr().String(), fin
}

func (r *recorder) replay(split func([]byte) [][]byte) []*storage.Exchange {
	var got []*storage.Exchange
	p := NewParser(Options{}, ConnMeta{Client: "127.0.0.1:50000", Server: "127.0.0.1:8080", ConnNo: 1}, func(x *storage.Exchange) { got = append(got, x) })
	var pkt int64
	for _, c := range r.chunks {
		segs := [][]byte{c.data}
		if split != nil {
			segs = split(c.data)
		}
		seq := c.seq
		for _, s := range segs {
			pkt++
			p.Feed(c.dir, Segment{Data: s, Time: c.at, Packet: pkt, Seq: seq, Ack: c.ack})
			seq += uint32(len(s))
		}
	}
	p.Close(time.Now())
	return got
}

func loopbackHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/cors", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["access-control-allow-origin"] = []string{r.Header.Get("Origin")}
		w.Header()["Access-Control-Allow-Origin"] = []string{"*"}
		io.WriteString(w, "cors")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, strings.Repeat("compressed ", 300))
		zw.Close()
	})
	mux.HandleFunc("/head", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5000")
		if r.Method != http.MethodHead {
			w.Write(make([]byte, 5000))
		}
	})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
	})
	mux.HandleFunc("OPTIONS /cors", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Methods", "PUT")
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// TestLoopbackGoServer records a keep-alive connection between Go's HTTP
// client and server and checks every exchange is rebuilt as the client saw it.
func TestLoopbackGoServer(t *testing.T) {
	srv := httptest.NewServer(loopbackHandler())
	defer srv.Close()
	rec := &recorder{}
	addr, done := rec.proxy(t, srv.Listener.Addr().String())
	tr := &http.Transport{DisableCompression: true, MaxConnsPerHost: 1}
	client := &http.Client{Transport: tr}
	type want struct {
		method, path string
		status       int
		body         string
	}
	var wants []want
	do := func(method, path, body string, hdr map[string]string) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, "http://"+addr+path, rd)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, _ := gzip.NewReader(bytes.NewReader(b))
			b, _ = io.ReadAll(zr)
		}
		wants = append(wants, want{method, path, resp.StatusCode, string(b)})
	}
	do("GET", "/cors?x=1", "", map[string]string{"Origin": "https://a.test"})
	do("OPTIONS", "/cors", "", map[string]string{"Origin": "https://a.test", "Access-Control-Request-Method": "PUT"})
	do("HEAD", "/head", "", nil)
	do("GET", "/chunked", "", nil)
	do("GET", "/gzip", "", nil)
	do("GET", "/nocontent", "", nil)
	do("POST", "/echo", strings.Repeat("p", 3000), map[string]string{"Expect": "100-continue"})
	do("GET", "/head", "", nil)
	do("GET", "/missing", "", nil)
	tr.CloseIdleConnections()
	<-done

	for name, split := range map[string]func([]byte) [][]byte{"as recorded": nil, "bytewise": bytewise} {
		got := rec.replay(split)
		if len(got) != len(wants) {
			t.Fatalf("%s: %d exchanges, want %d:\n%s", name, len(got), len(wants), summary(got))
		}
		for i, w := range wants {
			x := got[i]
			path := x.Path
			if x.Query != "" {
				path += "?" + x.Query
			}
			wantWarn := 0
			if w.path == "/echo" {
				wantWarn = 1 // Go's client sent Expect: 100-continue and got the interim answer
				if len(x.Warnings) != 1 || x.Warnings[0] != `interim response 100 "Continue"` {
					t.Errorf("%s: POST warnings %q", name, x.Warnings)
				}
			}
			if x.Method != w.method || path != w.path || x.Status != w.status || string(x.ResponseBody) != w.body || len(x.Warnings) != wantWarn {
				t.Errorf("%s: exchange %d: %s %s %d %d bytes %q; want %s %s %d %d bytes", name, i, x.Method, path, x.Status, len(x.ResponseBody), x.Warnings, w.method, w.path, w.status, len(w.body))
			}
		}
		if n := got[0].ResponseHeaders.Count("Access-Control-Allow-Origin"); n != 2 {
			t.Errorf("%s: %d ACAO fields, want both kept", name, n)
		}
		if got[6].RequestBodySize != 3000 {
			t.Errorf("%s: POST body %d", name, got[6].RequestBodySize)
		}
	}
}

// TestLoopbackPipelinedRaw sends pipelined requests on a raw socket, as nc
// would, to a Go server.
func TestLoopbackPipelinedRaw(t *testing.T) {
	srv := httptest.NewServer(loopbackHandler())
	defer srv.Close()
	rec := &recorder{}
	addr, done := rec.proxy(t, srv.Listener.Addr().String())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /cors HTTP/1.1\r\nHost: a\r\nOrigin: https://o.test\r\n\r\n"+
		"HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n"+
		"GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n"+
		"GET /nocontent HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	io.Copy(io.Discard, bufio.NewReader(c))
	c.Close()
	<-done
	got := rec.replay(nil)
	var b strings.Builder
	for _, x := range got {
		fmt.Fprintf(&b, "%s %s %d %q|", x.Method, x.Path, x.Status, x.ResponseBody)
	}
	if s := b.String(); s != `GET /cors 200 "cors"|HEAD /head 200 ""|GET /chunked 200 "part0;part1;part2;"|GET /nocontent 204 ""|` {
		t.Errorf("%s", s)
	}
}
