package http1

import (
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

// BenchmarkParser measures one small keep-alive exchange per iteration: one
// request segment, one response segment.
func BenchmarkParser(b *testing.B) {
	if len(`{"items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"},{"id":3,"name":"gamma"}],"page":2,"n":3}`) != 97 {
		b.Fatal("fix Content-Length of benchResponse")
	}
	req, resp := []byte(benchRequest), []byte(benchResponse)
	n := 0
	p := NewParser(Options{}, ConnMeta{Client: "10.0.0.1:40000", Server: "10.0.0.2:443", TLS: true}, func(x *storage.Exchange) { n++ })
	var cseq, sseq uint32 = 1, 1
	now := time.Unix(1700000000, 0)
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		p.Feed(ClientToServer, Segment{Data: req, Time: now, Packet: int64(2 * i), Seq: cseq, Ack: sseq})
		cseq += uint32(len(req))
		p.Feed(ServerToClient, Segment{Data: resp, Time: now, Packet: int64(2*i + 1), Seq: sseq, Ack: cseq})
		sseq += uint32(len(resp))
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if n != b.N {
		b.Fatalf("%d exchanges for %d iterations", n, b.N)
	}
}
