// Command benchpcap writes a synthetic pcap of HTTP/1.1 keep-alive CORS
// traffic for ingest benchmarks, and can time corscope's capture pipeline on it.
//
//	benchpcap -o bench.pcap -n 100000     # write the capture
//	benchpcap -ingest bench.pcap          # time capture.ReadFile on it (no store)
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/capture/tcpasm"
	"github.com/corscope/corscope/storage"
)

func main() {
	out := flag.String("o", "", "write the capture to this file")
	n := flag.Int("n", 100000, "number of exchanges")
	perConn := flag.Int("per-conn", 100, "exchanges per keep-alive connection")
	seed := flag.Int64("seed", 1, "random seed (the output is deterministic)")
	ingest := flag.String("ingest", "", "time the capture pipeline on this file instead")
	stage := flag.String("stage", "full", "with -ingest: read (reader only), decode (reader+decoder), reassemble (+TCP), full (+HTTP)")
	flag.Parse()
	switch {
	case *ingest != "":
		if err := runIngest(*ingest, *stage); err != nil {
			fmt.Fprintln(os.Stderr, "benchpcap:", err)
			os.Exit(1)
		}
	case *out != "":
		if err := generate(*out, *n, *perConn, *seed); err != nil {
			fmt.Fprintln(os.Stderr, "benchpcap:", err)
			os.Exit(1)
		}
	default:
		flag.Usage()
		os.Exit(2)
	}
}

type countSink struct{ ex, conns, withOrigin int64 }

func (c *countSink) Exchange(e *storage.Exchange) {
	c.ex++
	if _, ok := e.RequestHeaders.Get("Origin"); ok {
		c.withOrigin++
	}
}
func (c *countSink) Connection(*storage.Connection) { c.conns++ }

func runIngest(path, stage string) error {
	start := time.Now()
	if stage != "full" {
		n, err := runStage(path, stage)
		if err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Printf("%s: %s in %.3fs (CPU %.3fs), peak RSS %s\n", stage, n, el.Seconds(), cpuTime().Seconds(), peakRSS())
		return nil
	}
	s := &countSink{}
	st, err := capture.ReadFile(context.Background(), path, capture.Options{}, s)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("pipeline: %d packets, %d connections, %d exchanges (%d with Origin) in %.3fs (CPU %.3fs, %.0f exchanges/s), peak RSS %s\n",
		st.Packets, s.conns, s.ex, s.withOrigin, el.Seconds(), cpuTime().Seconds(), float64(s.ex)/el.Seconds(), peakRSS())
	return nil
}

type nullStream struct{ n *int64 }

func (s nullStream) Data(_ tcpasm.Dir, c *tcpasm.Chunk) { *s.n += int64(len(c.Data)) }
func (nullStream) Gap(tcpasm.Dir, int, time.Time)       {}
func (nullStream) Close(time.Time)                      {}

// runStage runs the pipeline's first stages only, for the ratio of the full
// ingest to a bare decode loop.
func runStage(path, stage string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r, err := pcapio.NewReader(f)
	if err != nil {
		return "", err
	}
	d := packet.NewDecoder(packet.DefragLimits{})
	var streamBytes int64
	a := tcpasm.New(tcpasm.Options{}, func(*tcpasm.Conn) tcpasm.Stream { return nullStream{&streamBytes} })
	var p pcapio.Packet
	var seg packet.Segment
	var pkts, tcp int64
	for r.Next(&p) == nil {
		pkts++
		if stage == "read" {
			continue
		}
		if d.Decode(p.LinkType, p.Data, p.Time, &seg) == packet.ResultTCP {
			tcp++
			if stage == "reassemble" {
				a.Add(&seg, pkts, p.Time)
			}
		}
	}
	a.FlushAll(p.Time)
	return fmt.Sprintf("%d packets, %d TCP segments, %d stream bytes", pkts, tcp, streamBytes), nil
}

// cpuTime is the process's user+system CPU time: on a busy machine it says
// more than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads VmHWM from /proc (Linux); "?" elsewhere.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return strconv.FormatUint(m.Sys>>20, 10) + " MB (Go sys)"
}

// ---- generator ----

type gen struct {
	w     *pcapio.Writer
	t     time.Time
	frame []byte
	rng   *rand.Rand
	pkts  int
}

func (g *gen) emit(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) error {
	g.t = g.t.Add(time.Duration(20+g.rng.Intn(60)) * time.Microsecond)
	g.frame = packet.AppendEthernetTCP(g.frame[:0], src, dst, seq, ack, flags, payload)
	g.pkts++
	return g.w.WritePacket(g.t, g.frame, 0)
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

func generate(path string, n, perConn int, seed int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := pcapio.NewWriter(bw, packet.LinkEthernet, 262144)
	if err != nil {
		return err
	}
	g := &gen{w: w, t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), rng: rand.New(rand.NewSource(seed))}

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
	var req, resp bytes.Buffer
	for done, conn := 0, 0; done < n; conn++ {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(1 + conn/50000), byte(1 + conn%200)}), uint16(20000+conn%40000))
		cs, ss := uint32(g.rng.Uint32()), uint32(g.rng.Uint32())
		if err := g.emit(client, server, cs, 0, packet.FlagSYN, nil); err != nil {
			return err
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
				return err
			}
			if err := g.send(server, client, &ss, cs, resp.Bytes()); err != nil {
				return err
			}
			done++
		}
		g.emit(client, server, cs, ss, packet.FlagFIN|packet.FlagACK, nil)
		g.emit(server, client, ss, cs+1, packet.FlagFIN|packet.FlagACK, nil)
		if err := g.emit(client, server, cs+1, ss+1, packet.FlagACK, nil); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchpcap: wrote %s: %d exchanges, %d packets\n", path, n, g.pkts)
	return nil
}
