package http1

import (
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

const benchRequest = "GET /api/v1/items?page=2&sort=desc HTTP/1.1\r\n" +
	"Host: api.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36\r\n" +
	"Accept: application/json\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Origin: https://app.example.com\r\n" +
	"Referer: https://app.example.com/dashboard\r\n" +
	"Cookie: session=0123456789abcdef; theme=dark\r\n" +
	"Connection: keep-alive\r\n\r\n"

const benchResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Wed, 25 Nov 2026 15:00:00 GMT\r\n" +
	"Content-Type: application/json; charset=utf-8\r\n" +
	"Content-Length: 97\r\n" +
	"Access-Control-Allow-Origin: https://app.example.com\r\n" +
	"Access-Control-Allow-Credentials: true\r\n" +
	"Vary: Origin\r\n" +
	"Cache-Control: no-store\r\n\r\n" +
	`{"items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"},{"id":3,"name":"gamma"}],"page":2,"n":3}`

// BenchmarkParser measures one keep-alive exchange per iteration: "small"
// sends each message as one segment; "split-100" cuts them into 100-byte
// segments (heads then span segments); "body-16KiB" answers with a 16 KiB
// body in 1448-byte segments.
func BenchmarkParser(b *testing.B) {
	big := "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 16384\r\n" +
		"Access-Control-Allow-Origin: *\r\n\r\n" + strings.Repeat("x", 16384)
	for _, bc := range []struct {
		name    string
		resp    string
		segment int
	}{
		{"small", benchResponse, 1 << 20},
		{"split-100", benchResponse, 100},
		{"body-16KiB", big, 1448},
	} {
		b.Run(bc.name, func(b *testing.B) { benchParser(b, []byte(benchRequest), []byte(bc.resp), bc.segment) })
	}
}

func benchParser(b *testing.B, req, resp []byte, segment int) {
	n := 0
	p := NewParser(Options{}, ConnMeta{Client: "10.0.0.1:40000", Server: "10.0.0.2:443", TLS: true}, func(x *storage.Exchange) { n++ })
	var seq [2]uint32
	pkt := int64(0)
	now := time.Unix(1700000000, 0)
	feed := func(d Dir, data []byte) {
		for len(data) > 0 {
			k := min(len(data), segment)
			pkt++
			p.Feed(d, Segment{Data: data[:k], Time: now, Packet: pkt, Seq: seq[d], Ack: seq[1-d]})
			seq[d] += uint32(k)
			data = data[k:]
		}
	}
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		feed(ClientToServer, req)
		feed(ServerToClient, resp)
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if n != b.N {
		b.Fatalf("%d exchanges for %d iterations", n, b.N)
	}
}
