package http1

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

// fuzzOpts are small caps so the fuzzer reaches them.
var fuzzOpts = Options{MaxBody: 512, MaxDecoded: 4096, MaxHeaderBytes: 1024, MaxHeaders: 16}

// FuzzParser cuts a client and a server stream into random segments, loses
// some of them, interleaves both directions and checks the parser's bounds.
func FuzzParser(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.client, s.server, s.seed)
	}
	f.Fuzz(func(t *testing.T, client, server []byte, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed>>7|1))
		var got []*storage.Exchange
		p := NewParser(fuzzOpts, ConnMeta{Client: "1.1.1.1:1", Server: "[::1]:80"}, func(x *storage.Exchange) { got = append(got, x) })
		streams := [2][]byte{client, server}
		seq := [2]uint32{rng.Uint32(), rng.Uint32()}
		now := time.Unix(0, 0)
		for len(streams[0])+len(streams[1]) > 0 {
			d := Dir(rng.IntN(2))
			if len(streams[d]) == 0 {
				d = 1 - d
			}
			n := 1 + rng.IntN(min(len(streams[d]), 300))
			chunk := streams[d][:n]
			streams[d] = streams[d][n:]
			now = now.Add(time.Microsecond)
			if rng.IntN(16) == 0 {
				lost := n
				if rng.IntN(4) == 0 {
					lost = -1
				}
				if rng.IntN(2) == 0 {
					p.LimitGap(d, lost, now, "fuzz cap")
				} else {
					p.Gap(d, lost, now)
				}
			} else {
				p.Feed(d, Segment{Data: chunk, Time: now, Seq: seq[d], Ack: seq[1-d]})
			}
			seq[d] += uint32(n)
			checkBounds(t, p)
		}
		p.Close(now)
		checkBounds(t, p)
		if len(p.queue) != 0 {
			t.Fatalf("%d exchanges left after Close", len(p.queue))
		}
		for _, x := range got {
			if int64(len(x.RequestBody)) > fuzzOpts.MaxBody || int64(len(x.ResponseBody)) > fuzzOpts.MaxBody {
				t.Fatalf("body over cap: %d %d", len(x.RequestBody), len(x.ResponseBody))
			}
			if len(x.RequestHeaders) > fuzzOpts.MaxHeaders || len(x.ResponseHeaders) > fuzzOpts.MaxHeaders {
				t.Fatalf("headers over cap")
			}
			seen := map[string]bool{}
			for _, w := range x.Warnings {
				if seen[w] || w == "" {
					t.Fatalf("warning %q twice or empty: %q", w, x.Warnings)
				}
				seen[w] = true
			}
		}
	})
}

func checkBounds(t *testing.T, p *Parser) {
	for _, h := range []*half{&p.c, &p.s} {
		if len(h.buf) > fuzzOpts.MaxHeaderBytes+maxChunkLine {
			t.Fatalf("dir %d buffer %d bytes", h.dir, len(h.buf))
		}
		if int64(len(h.msg.body.data)) > fuzzOpts.MaxBody {
			t.Fatalf("body buffer %d", len(h.msg.body.data))
		}
	}
	if len(p.queue) > maxPending+1 {
		t.Fatalf("queue %d", len(p.queue))
	}
	if len(p.leftover[0]) > fuzzOpts.MaxHeaderBytes || len(p.leftover[1]) > fuzzOpts.MaxHeaderBytes {
		t.Fatalf("leftover over cap")
	}
}

type fuzzSeed struct {
	client, server []byte
	seed           uint64
}

// fuzzSeeds are the framing test cases as whole streams.
func fuzzSeeds() []fuzzSeed {
	var out []fuzzSeed
	for i, tc := range framingCases {
		var c, s strings.Builder
		for _, st := range tc.steps {
			if st.dir == ClientToServer {
				c.WriteString(st.data)
			} else {
				s.WriteString(st.data)
			}
		}
		out = append(out, fuzzSeed{[]byte(c.String()), []byte(s.String()), uint64(i)})
	}
	return out
}

// TestWriteFuzzSeeds rewrites the committed seed corpus when run with
// CORSCOPE_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("CORSCOPE_WRITE_SEEDS") == "" {
		t.Skip("set CORSCOPE_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzParser")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds() {
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s.client)) + ")\n[]byte(" + strconv.Quote(string(s.server)) + ")\nuint64(" + strconv.FormatUint(s.seed, 10) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "case"+strconv.Itoa(i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
