package analyze

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"https://a.example.com", "http://[::1]:8080", "null", "https://a.test:0443",
		"HTTPS://A.TEST", "https://*.x.com", "https://a.test/", "https://a.test`.evil", "://", "https://[", "https://a:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o := parseOrigin(s)
		if o.canonical && !o.valid {
			t.Fatalf("%q canonical but invalid", s)
		}
		if o.valid {
			if o.port < 0 || o.port > 65535 {
				t.Fatalf("%q port %d", s, o.port)
			}
			if strings.ContainsAny(o.host, "/?#@ \r\n") {
				t.Fatalf("%q host %q", s, o.host)
			}
		}
		ti := &targetInfo{origin: "https://api.example.com", scheme: "https", hostname: "api.example.com", reg: "example.com"}
		cls, _, _ := classify(s, ti)
		if cls.String() == "unknown" {
			t.Fatalf("%q: unknown class", s)
		}
		_ = isUserContentHost(o.hostname())
		_ = isIntranetHost(o.hostname())
	})
}

// fuzzExchanges turns fuzz bytes into a few exchanges: blocks separated by
// a blank line; in each block line 1 is "METHOD URL STATUS", then request
// headers, "--", response headers.
func fuzzExchanges(data []byte) []*storage.Exchange {
	var out []*storage.Exchange
	for i, block := range bytes.Split(data, []byte("\n\n")) {
		if i >= 16 {
			break
		}
		lines := strings.Split(string(block), "\n")
		first := strings.Fields(lines[0])
		ex := &storage.Exchange{ID: int64(i + 1), Method: "GET", Scheme: "https", Host: "api.example.com", Port: 443, Path: "/",
			Status: 200, Started: t0.Add(time.Duration(i) * time.Millisecond), Client: "10.0.0.1:1", Server: "10.0.0.2:443", EntryIndex: -1}
		if len(first) > 0 {
			ex.Method = first[0]
		}
		if len(first) > 1 {
			u := first[1]
			if sc, rest, ok := strings.Cut(u, "://"); ok {
				ex.Scheme = sc
				host, path, _ := strings.Cut(rest, "/")
				ex.Host, ex.Path = host, "/"+path
			} else {
				ex.Path = u
			}
		}
		if len(first) > 2 {
			n := 0
			for _, c := range first[2] {
				if c >= '0' && c <= '9' && n < 1000 {
					n = n*10 + int(c-'0')
				}
			}
			ex.Status = n
		}
		resp := false
		for _, l := range lines[1:] {
			if l == "--" {
				resp = true
				continue
			}
			n, v, _ := strings.Cut(l, ":")
			h := storage.Header{Name: n, Value: strings.TrimPrefix(v, " ")}
			if resp {
				ex.ResponseHeaders = append(ex.ResponseHeaders, h)
			} else {
				ex.RequestHeaders = append(ex.RequestHeaders, h)
			}
		}
		if ex.Method == "PFID" {
			ex.Method, ex.PreflightID = "PUT", 1
		}
		ex.RequestBody = []byte(ex.RequestHeaders.Value("X-Body"))
		ex.RequestBodySize = int64(len(ex.RequestBody))
		out = append(out, ex)
	}
	return out
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte("OPTIONS https://api.example.com/a 204\nOrigin: https://evil.test\nAccess-Control-Request-Method: PUT\nAccess-Control-Request-Headers: x-a\n--\nAccess-Control-Allow-Origin: https://evil.test\nAccess-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: x-a\nAccess-Control-Max-Age: 99999\n\nPUT https://api.example.com/a 200\nOrigin: https://evil.test\nX-A: 1\nCookie: s=1\n--\nAccess-Control-Allow-Origin: https://evil.test\nAccess-Control-Allow-Credentials: true"))
	f.Add([]byte("GET wss://api.example.com/ws 101\nOrigin: null\nUpgrade: websocket\nCookie: a=b\n--\nSet-Cookie: sid=1; SameSite=None; Secure"))
	f.Add([]byte("POST https://api.example.com/t 302\nOrigin: https://x.github.io\nContent-Type: text/plain\nX-Body: {\"a\":1}\nCookie: a\nSec-Fetch-Site: cross-site\n--\nAccess-Control-Allow-Origin: *\nAccess-Control-Allow-Origin: null\nVary: Origin\nX-Cache: HIT"))
	f.Add([]byte("PFID https://[::1]:8443/%zz 200\nOrigin: https://api.example.com.evil\r\n--\nAccess-Control-Allow-Origin: https://api.example.com.evil\r\nAccess-Control-Allow-Credentials: True"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exs := fuzzExchanges(data)
		res, err := AnalyzeSlice(context.Background(), exs, Config{})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for _, ex := range exs {
			ids[ex.ID] = true
		}
		for _, fd := range res.Findings {
			if fd.Rule == "" || storage.SeverityRank(fd.Severity) == 0 || len(fd.Exchanges) == 0 {
				t.Fatalf("bad finding %+v", fd)
			}
			if b, err := hex.DecodeString(fd.Fingerprint); err != nil || len(b) != 32 {
				t.Fatalf("fingerprint %q", fd.Fingerprint)
			}
			for _, id := range fd.Exchanges {
				if !ids[id] {
					t.Fatalf("finding %s cites unknown exchange %d", fd.Rule, id)
				}
			}
		}
		for _, p := range res.Pairings {
			if !ids[p.ActualID] {
				t.Fatalf("pairing of unknown actual %d", p.ActualID)
			}
		}
		if int64(len(exs)) != res.Stats["exchanges"] {
			t.Fatalf("stats %v for %d exchanges", res.Stats, len(exs))
		}
	})
}
