// Command demo runs the UI over a database, optionally filled with the
// test fixture first (for manual runs and scripts/tui-e2e.sh until the CLI
// has `corscope ui`).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui"
	"github.com/corscope/corscope/tui/internal/fixture"
)

func main() {
	db := flag.String("db", "corscope.db", "database")
	fill := flag.Bool("fixture", false, "fill the database with the UI test fixture first")
	bulk := flag.Int("bulk", 0, "append N synthetic exchanges first")
	mouse := flag.Bool("mouse", false, "enable the mouse")
	fillOnly := flag.Bool("fill-only", false, "fill the database and exit without the UI")
	flag.Parse()
	ctx := context.Background()
	st, err := storage.Open(*db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer st.Close()
	if *fill {
		if err := fixture.Small(ctx, st); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if *bulk > 0 {
		if err := fixture.Bulk(ctx, st, *bulk); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if *fillOnly {
		return
	}
	if err := tui.Run(ctx, st, tui.Options{Mouse: *mouse}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
