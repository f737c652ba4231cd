// Command pcaplossy writes a degraded copy of a capture: a deterministic
// share of packets dropped, reordered and duplicated.
//
//	pcaplossy -drop 0.03 -reorder 0.10 -dup 0.01 -seed 1 in.pcap out.pcap
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/corscope/corscope/capture/lossy"
)

func main() {
	var o lossy.Options
	flag.Float64Var(&o.Drop, "drop", 0.03, "share of packets dropped")
	flag.Float64Var(&o.Reorder, "reorder", 0.10, "share of packets delivered 1..max-displacement packets late")
	flag.Float64Var(&o.Duplicate, "dup", 0.01, "share of packets written twice")
	flag.IntVar(&o.MaxDisplacement, "max-displacement", 3, "how many packets late a reordered packet may come")
	flag.Int64Var(&o.Seed, "seed", 1, "random seed")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: pcaplossy [flags] IN OUT")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), o); err != nil {
		fmt.Fprintln(os.Stderr, "pcaplossy:", err)
		os.Exit(1)
	}
}

func run(in, out string, o lossy.Options) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	g, err := os.Create(out)
	if err != nil {
		return err
	}
	rep, err := lossy.Mangle(f, g, o)
	if err != nil {
		g.Close()
		return err
	}
	if err := g.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "pcaplossy: %d packets in, %d out: %d dropped, %d reordered, %d duplicated\n",
		rep.In, rep.Out, len(rep.Dropped), len(rep.Reordered), len(rep.Duplicated))
	return nil
}
