// Package synth writes synthetic captures of HTTP/1.1 keep-alive CORS
// traffic with real handshakes and exact seq/ack, for benchmarks and tests.
package synth

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net/netip"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
)

// Options shape the traffic.
type Options struct {
	Exchanges int   // total exchanges
	PerConn   int   // exchanges per keep-alive connection (default 100)
	Seed      int64 // the output is a function of the options
	IPv6      bool
}

// Result says what was written.
type Result struct {
	Packets, Connections, Exchanges int
}

type gen struct {
	w     *pcapio.Writer
	t     time.Time
	frame []byte
	rng   *rand.Rand
	pkts  int
	err   error
}

func (g *gen) emit(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) error {
	if g.err != nil {
		return g.err
	}
	g.t = g.t.Add(time.Duration(20+g.rng.Intn(60)) * time.Microsecond)
	g.frame = packet.AppendEthernetTCP(g.frame[:0], src, dst, seq, ack, flags, payload)
	g.pkts++
	g.err = g.w.WritePacket(g.t, g.frame, 0)
	return g.err
}

const mss = 1448

// send writes data as MSS-sized segments from src and the peer's ACK.
func (g *gen) send(src, dst netip.AddrPort, seq *uint32, ack uint32, data []byte) error {
	for off := 0; off < len(data); off += mss {
		end := min(off+mss, len(data))
		if err := g.emit(src, dst, *seq, ack, packet.FlagACK|packet.FlagPSH, data[off:end]); err != nil {
			return err
		}
		*seq += uint32(end - off)
	}
	return g.emit(dst, src, ack, *seq, packet.FlagACK, nil)
}

var (
	origins = []string{"https://app.example.com", "https://evil.example.net", "null", "http://localhost:3000", "https://partner.example.org"}
	paths   = []string{"/api/v1/users", "/api/v1/orders", "/api/v1/search", "/static/app.js", "/api/v1/profile", "/graphql"}
)

// Write writes a pcap (Ethernet, nanosecond timestamps) of the traffic to out.
// Every tenth exchange is a CORS preflight, every fifth response is
// gzip-compressed, every eleventh chunked; request paths carry ?page=N so
// each exchange is unique within its connection.
func Write(out io.Writer, o Options) (Result, error) {
	n, perConn := o.Exchanges, o.PerConn
	if perConn <= 0 {
		perConn = 100
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	w, err := pcapio.NewWriter(bw, packet.LinkEthernet, 262144)
	if err != nil {
		return Result{}, err
	}
	g := &gen{w: w, t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), rng: rand.New(rand.NewSource(o.Seed))}
	res := Result{}

	// Bodies: JSON of varying size, one gzip-compressed variant.
	var bodies [][]byte
	for i := 0; i < 8; i++ {
		var b bytes.Buffer
		b.WriteString(`{"items":[`)
		for j := 0; j < 1+i; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%d,"name":"item-%d","tags":["cors","bench"]}`, j, j)
		}
		b.WriteString("]}")
		bodies = append(bodies, b.Bytes())
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bodies[7])
	zw.Close()

	server := netip.MustParseAddrPort("10.0.0.80:8080")
	if o.IPv6 {
		server = netip.MustParseAddrPort("[fd00::80]:8080")
	}
	var req, resp bytes.Buffer
	for done, conn := 0, 0; done < n; conn++ {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(1 + conn/50000), byte(1 + conn%200)}), uint16(20000+conn%40000))
		if o.IPv6 {
			client = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0xfd, 0, 14: byte(conn / 200), 15: byte(1 + conn%200)}), uint16(20000+conn%40000))
		}
		res.Connections++
		cs, ss := uint32(g.rng.Uint32()), uint32(g.rng.Uint32())
		if err := g.emit(client, server, cs, 0, packet.FlagSYN, nil); err != nil {
			return res, err
		}
		g.emit(server, client, ss, cs+1, packet.FlagSYN|packet.FlagACK, nil)
		cs, ss = cs+1, ss+1
		g.emit(client, server, cs, ss, packet.FlagACK, nil)
		for k := 0; k < perConn && done < n; k++ {
			origin := origins[g.rng.Intn(len(origins))]
			p := paths[g.rng.Intn(len(paths))]
			req.Reset()
			resp.Reset()
			preflight := done%10 == 3
			if preflight {
				fmt.Fprintf(&req, "OPTIONS %s HTTP/1.1\r\nHost: api.example.com:8080\r\nOrigin: %s\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type, x-token\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0\r\nAccept: */*\r\n\r\n", p, origin)
				fmt.Fprintf(&resp, "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Methods: GET, PUT, POST, DELETE\r\nAccess-Control-Allow-Headers: content-type, x-token\r\nAccess-Control-Allow-Credentials: true\r\nAccess-Control-Max-Age: 600\r\nVary: Origin\r\nDate: Fri, 02 Jan 2026 03:04:05 GMT\r\n\r\n", origin)
			} else {
				fmt.Fprintf(&req, "GET %s?page=%d HTTP/1.1\r\nHost: api.example.com:8080\r\nOrigin: %s\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0\r\nAccept: application/json\r\nAccept-Encoding: gzip\r\nCookie: session=abc%d\r\n\r\n", p, k, origin, conn)
				body := bodies[g.rng.Intn(len(bodies))]
				enc := ""
				if done%5 == 0 {
					body, enc = gz.Bytes(), "Content-Encoding: gzip\r\n"
				}
				acao := origin
				if done%7 == 0 {
					acao = "*"
				}
				if done%11 == 0 { // chunked
					fmt.Fprintf(&resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%sTransfer-Encoding: chunked\r\nAccess-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\nAccess-Control-Expose-Headers: X-Request-Id\r\nX-Request-Id: %d\r\nVary: Origin\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", enc, acao, done, len(body), body)
				} else {
					fmt.Fprintf(&resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\nAccess-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\nAccess-Control-Expose-Headers: X-Request-Id\r\nX-Request-Id: %d\r\nVary: Origin\r\n\r\n%s", enc, len(body), acao, done, body)
				}
			}
			if err := g.send(client, server, &cs, ss, req.Bytes()); err != nil {
				return res, err
			}
			if err := g.send(server, client, &ss, cs, resp.Bytes()); err != nil {
				return res, err
			}
			done++
		}
		g.emit(client, server, cs, ss, packet.FlagFIN|packet.FlagACK, nil)
		g.emit(server, client, ss, cs+1, packet.FlagFIN|packet.FlagACK, nil)
		if err := g.emit(client, server, cs+1, ss+1, packet.FlagACK, nil); err != nil {
			return res, err
		}
	}
	res.Packets, res.Exchanges = g.pkts, n
	return res, bw.Flush()
}
