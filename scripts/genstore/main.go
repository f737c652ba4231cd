// Command genstore fills a corscope database with generated CORS traffic
// (internal/synthex) for analyzer and UI benchmarks at scale:
// go run ./scripts/genstore -n 1000000 -db big.db
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/corscope/corscope/internal/synthex"
	"github.com/corscope/corscope/storage"
)

func main() {
	n := flag.Int("n", 1_000_000, "exchanges to generate")
	db := flag.String("db", "synthetic.db", "database to create (must not exist)")
	flag.Parse()
	if err := run(*n, *db); err != nil {
		fmt.Fprintln(os.Stderr, "genstore:", err)
		os.Exit(1)
	}
}

func run(n int, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: remove it first", path)
	}
	st, err := storage.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if _, err := synthex.Fill(context.Background(), st, n); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "genstore: %s: %d exchanges in %.1fs\n", path, n, time.Since(start).Seconds())
	return nil
}
