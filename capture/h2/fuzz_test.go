package h2

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
)

// fuzzSeeds are whole connections from the synthetic tests, as (client, server) bytes.
func fuzzSeeds() [][2][]byte {
	var out [][2][]byte
	add := func(w *wire) { out = append(out, [2][]byte{w.bytesOf(c2s), w.bytesOf(s2c)}) }
	add(newWire().start().headers(c2s, 1, true, preflightReq...).headers(s2c, 1, true, preflightResp...))
	add(midConnection())
	w := newWire().start()
	blk := w.block(c2s, ":method", "POST", ":scheme", "http", ":authority", "h.example", ":path", "/p", "x-a", "1234567890")
	w.fr[c2s].WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk[:10], PadLength: 3})
	w.fr[c2s].WriteContinuation(1, true, blk[10:])
	w.take(c2s)
	w.fr[c2s].WriteDataPadded(1, true, []byte("body"), make([]byte, 5))
	w.take(c2s)
	w.fr[s2c].WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, EndHeaders: true, BlockFragment: w.block(s2c, ":method", "GET", ":path", "/x", ":authority", "h.example", ":scheme", "http")})
	w.take(s2c)
	w.headers(s2c, 1, false, ":status", "200", "content-encoding", "gzip")
	w.data(s2c, 1, false, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	w.headers(s2c, 1, true, "x-trailer", "t")
	w.fr[s2c].WriteRSTStream(2, http2.ErrCodeRefusedStream)
	w.fr[s2c].WriteGoAway(1, http2.ErrCodeProtocol, []byte("bye"))
	w.take(s2c)
	add(w)
	return out
}

func FuzzParser(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s[0], s[1], uint16(len(s[0])/2), uint16(0))
		f.Add(s[0], s[1], uint16(30), uint16(40))
	}
	f.Fuzz(func(t *testing.T, client, server []byte, split, gapAt uint16) {
		opts := Options{MaxBody: 512, MaxDecoded: 4096, MaxHeaders: 16, MaxHeaderBytes: 2048, MaxStreams: 8, MaxFrameBytes: 4096}
		var got []*storage.Exchange
		p := NewParser(opts, testMeta, func(e *storage.Exchange) { got = append(got, e) })
		at := http1.Segment{Time: t0, Packet: 1}
		k := min(int(split), len(client))
		at.Data = client[:k]
		p.Feed(c2s, at)
		g := min(int(gapAt), len(server))
		at.Data = server[:g]
		p.Feed(s2c, at)
		switch gapAt & 3 {
		case 1:
			p.Gap(s2c, int(gapAt%300)-1, t0)
		case 3:
			p.LimitGap(s2c, int(gapAt%300)-1, t0, "fuzz cap")
		}
		at.Data = server[g:]
		p.Feed(s2c, at)
		at.Data = client[k:]
		p.Feed(c2s, at)
		p.Close(t0.Add(time.Second))
		for _, x := range got {
			if x.Proto != storage.ProtoHTTP2 || len(x.RequestBody) > 512 || len(x.ResponseBody) > 512 ||
				len(x.RequestHeaders) > 16 || len(x.ResponseHeaders) > 16 {
				t.Fatalf("caps broken: %+v", x)
			}
			seen := map[string]bool{}
			for _, w := range x.Warnings {
				if seen[w] || w == "" {
					t.Fatalf("warning %q twice or empty: %q", w, x.Warnings)
				}
				seen[w] = true
			}
		}
		if len(p.Warnings()) > maxConnWarnings || len(p.streams) != 0 {
			t.Fatalf("%d connection warnings, %d streams left", len(p.Warnings()), len(p.streams))
		}
		for i := range p.half {
			if cap(p.half[i].buf) > 2*(resyncWindow+opts.MaxFrameBytes+len(client)+len(server)) {
				t.Fatalf("buffer grew to %d", cap(p.half[i].buf))
			}
		}
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/FuzzParser when
// CORSCOPE_WRITE_SEEDS is set (the files are committed).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("CORSCOPE_WRITE_SEEDS") == "" {
		t.Skip("set CORSCOPE_WRITE_SEEDS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParser")
	os.MkdirAll(dir, 0o755)
	for i, s := range fuzzSeeds() {
		var b bytes.Buffer
		fmt.Fprintf(&b, "go test fuzz v1\n[]byte(%q)\n[]byte(%q)\nuint16(%d)\nuint16(%d)\n", s[0], s[1], len(s[0])/3, 2*i+1)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
