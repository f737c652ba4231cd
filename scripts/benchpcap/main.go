// Command benchpcap writes a synthetic pcap of HTTP/1.1 keep-alive CORS
// traffic for ingest benchmarks, and can time corscope's capture pipeline on it.
//
//	benchpcap -o bench.pcap -n 100000     # write the capture
//	benchpcap -ingest bench.pcap          # time capture.ReadFile on it (no store)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/capture/synth"
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
	cpuprofile := flag.String("cpuprofile", "", "with -ingest: write a CPU profile here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchpcap:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	switch {
	case *ingest != "":
		if err := runIngest(*ingest, *stage); err != nil {
			fmt.Fprintln(os.Stderr, "benchpcap:", err)
			pprof.StopCPUProfile()
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

func generate(path string, n, perConn int, seed int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	res, err := synth.Write(f, synth.Options{Exchanges: n, PerConn: perConn, Seed: seed})
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchpcap: wrote %s: %d exchanges, %d connections, %d packets\n", path, res.Exchanges, res.Connections, res.Packets)
	return nil
}
