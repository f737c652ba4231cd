// Command genhar writes a large, realistic Chrome DevTools-style HAR for
// ingest benchmarks: go run ./scripts/genhar -size 300MB -o big.har
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/corscope/corscope/har/hargen"
)

func main() {
	size := flag.String("size", "300MB", "approximate output size (e.g. 50MB, 1GB, 123456)")
	out := flag.String("o", "big.har", "output file, - for standard output")
	seed := flag.Uint64("seed", 1, "random seed: same seed, same file")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genhar:", err)
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "genhar:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	st, err := hargen.Generate(w, hargen.Config{Size: n, Seed: *seed})
	if err == nil && w != os.Stdout {
		err = w.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genhar:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "genhar: %s: %d bytes, %d entries, %d preflights (%d blocked)\n", *out, st.Bytes, st.Entries, st.Preflights, st.Blocked)
}

// parseSize reads 300MB, 1GB, 64KiB or a plain byte count.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(n * float64(mult)), nil
}
