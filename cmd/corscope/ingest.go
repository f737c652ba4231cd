package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/corscope/corscope/internal/ingest"
	"github.com/corscope/corscope/storage"
)

func newIngestCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "ingest [flags] INPUT...",
		Short: "Rebuild exchanges from pcap, pcapng or HAR files into the database",
		Long: `Rebuild HTTP exchanges from the inputs into the database. Formats are
recognised by content; "-" reads standard input. Re-ingesting a file with the
same content is a no-op.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(g)
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = ingestAll(cmd.Context(), st, g, args, cmd.ErrOrStderr())
			return err
		},
	}
}

// ingestAll ingests every input, going on after a broken one, and returns
// the results and an exit error: 2 when an input could not be read at all,
// 3 when one was read only in part.
func ingestAll(ctx context.Context, st *storage.Store, g *globalFlags, paths []string, log io.Writer) ([]*ingest.Result, error) {
	worst := exitOK
	var results []*ingest.Result
	var lastErr error
	for _, path := range paths {
		res, err := ingestOne(ctx, st, g, path, log)
		if res != nil {
			results = append(results, res)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return results, withCode(130, fmt.Errorf("interrupted"))
		}
		fmt.Fprintln(log, "corscope:", terminalSafe(err.Error(), 0))
		lastErr = err
		var ie *ingest.Error
		code := exitUsage
		if errors.As(err, &ie) && ie.Partial {
			code = exitPartial
		}
		// A usage-level failure (2) outranks a partial read (3) only when
		// nothing at all was read; report the more serious of the two.
		if worst == exitOK || code == exitUsage {
			worst = code
		}
	}
	if worst != exitOK {
		_ = lastErr
		return results, withCode(worst, nil)
	}
	return results, nil
}

func ingestOne(ctx context.Context, st *storage.Store, g *globalFlags, path string, log io.Writer) (*ingest.Result, error) {
	opts, err := g.ingestOptions()
	if err != nil {
		return nil, err
	}
	var progress *mpb.Progress
	if !g.noProgress && !g.quiet && stderrIsTerminal() {
		progress = mpb.NewWithContext(ctx, mpb.WithOutput(os.Stderr), mpb.WithWidth(40),
			mpb.WithRefreshRate(150*time.Millisecond))
		var bar *mpb.Bar
		var started = time.Now()
		var exchanges int64
		opts.Progress = func(read, total, n int64) {
			if bar == nil {
				bar = progress.AddBar(total,
					mpb.PrependDecorators(decor.Name(filepath.Base(path)+" "), decor.CountersKibiByte("% .1f / % .1f")),
					mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
						secs := time.Since(started).Seconds()
						if secs <= 0 {
							return ""
						}
						return fmt.Sprintf("%d exchanges, %.0f/s", exchanges, float64(exchanges)/secs)
					})))
			}
			exchanges = n
			bar.SetCurrent(read)
		}
	}
	res, err := ingest.File(ctx, st, path, opts)
	if progress != nil {
		progress.Shutdown()
	}
	if res != nil && !g.quiet {
		path := terminalSafe(path, 0) // file names can be hostile too
		if res.Skipped {
			fmt.Fprintf(log, "%s: already ingested (same sha256 as input %d, %d exchanges): nothing to do\n",
				path, res.Input.ID, res.Input.Exchanges)
		} else {
			msg := fmt.Sprintf("%s: %s, %d exchanges", path, res.Input.Format, res.Input.Exchanges)
			if res.Input.Connections > 0 {
				msg += fmt.Sprintf(", %d connections", res.Input.Connections)
			}
			if res.Linked > 0 {
				msg += fmt.Sprintf(", %d preflights linked", res.Linked)
			}
			fmt.Fprintln(log, msg)
		}
	}
	return res, err
}
