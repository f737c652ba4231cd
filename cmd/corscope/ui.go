package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/corscope/corscope/internal/ingest"
	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui"
)

func newUICmd(g *globalFlags) *cobra.Command {
	var mouse bool
	cmd := &cobra.Command{
		Use:   "ui [flags] [INPUT...]",
		Short: "The terminal UI; inputs given here are ingested in the background while it is already usable",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g)
			if err != nil {
				return err
			}
			st, err := openStore(g)
			if err != nil {
				return err
			}
			defer st.Close()
			opts := tui.Options{Mouse: mouse}
			if len(args) > 0 {
				opts.Background = func(ctx context.Context, report func(tui.Status)) error {
					return ingestInBackground(ctx, st, g, args, func(s tui.Status) { report(s) }, func() error {
						_, err := runAnalysis(ctx, st, cfg)
						return err
					})
				}
			}
			return tui.Run(cmd.Context(), st, opts)
		},
	}
	cmd.Flags().BoolVar(&mouse, "mouse", false, "enable the mouse (off keeps terminal text selection working)")
	return cmd
}

// ingestInBackground ingests each input with progress in the UI's status
// line, then runs the analysis so findings appear.
func ingestInBackground(ctx context.Context, st *storage.Store, g *globalFlags, paths []string,
	report func(tui.Status), analyzeAll func() error) error {
	var done int64
	for _, path := range paths {
		name := filepath.Base(path)
		opts, err := g.ingestOptions()
		if err != nil {
			return err
		}
		opts.Progress = func(read, total, n int64) {
			msg := fmt.Sprintf("ingesting %s", name)
			if total > 0 {
				msg += fmt.Sprintf(" %d%%", read*100/total)
			}
			report(tui.Status{Inputs: done, Exchanges: n, Message: msg})
		}
		res, err := ingest.File(ctx, st, path, opts)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// Shown in the status line; the other inputs still load.
			report(tui.Status{Inputs: done, Message: "error: " + err.Error()})
		}
		if res != nil {
			done++
		}
	}
	report(tui.Status{Inputs: done, Message: "analyzing…"})
	if err := analyzeAll(); err != nil {
		report(tui.Status{Inputs: done, Message: "analysis failed: " + err.Error()})
		return err
	}
	n, _ := st.Count(ctx, "exchanges")
	f, _ := st.Count(ctx, "findings")
	report(tui.Status{Inputs: done, Exchanges: n, Findings: f, Message: "ready"})
	return nil
}
