package h2

import (
	"fmt"
	"testing"

	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
)

// benchConn is a connection of 100 preflight + PUT pairs with small bodies.
func benchConn() []step {
	w := newWire().start()
	for i := uint32(0); i < 100; i++ {
		id := 4*i + 1
		path := fmt.Sprintf("/api/items/%d", i)
		w.headers(c2s, id, true, ":method", "OPTIONS", ":scheme", "https", ":authority", "api.example", ":path", path,
			"origin", "https://app.example", "access-control-request-method", "PUT", "user-agent", "bench/1.0")
		w.headers(s2c, id, true, ":status", "204", "access-control-allow-origin", "https://app.example", "access-control-allow-methods", "PUT")
		w.headers(c2s, id+2, false, ":method", "PUT", ":scheme", "https", ":authority", "api.example", ":path", path,
			"origin", "https://app.example", "content-type", "application/json", "user-agent", "bench/1.0")
		w.data(c2s, id+2, true, []byte(`{"name":"item","n":42}`))
		w.headers(s2c, id+2, false, ":status", "200", "access-control-allow-origin", "https://app.example", "content-type", "application/json")
		w.data(s2c, id+2, true, []byte(`{"ok":true,"id":42,"pad":"................................"}`))
	}
	return w.steps
}

func BenchmarkParser(b *testing.B) {
	steps := benchConn()
	var n int64
	for _, s := range steps {
		n += int64(len(s.data))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	count := 0
	for b.Loop() {
		p := NewParser(Options{}, testMeta, func(*storage.Exchange) { count++ })
		for _, s := range steps {
			p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0, Packet: 1})
		}
		p.Close(t0)
	}
	if count != 200*b.N {
		b.Fatalf("%d exchanges for %d runs", count, b.N)
	}
}
