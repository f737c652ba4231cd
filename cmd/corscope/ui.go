package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/corscope/corscope/capture/live"
	"github.com/corscope/corscope/internal/ingest"
	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui"
)

func newUICmd(g *globalFlags) *cobra.Command {
	var mouse bool
	capf := &captureFlags{}
	cmd := &cobra.Command{
		Use:   "ui [flags] [INPUT...]",
		Short: "The terminal UI; inputs given here are ingested in the background while it is already usable; -i follows a live capture",
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
			var lc *live.Config
			if capf.iface != "" {
				c, err := captureConfig(g, capf, st, cfg, nil)
				if err != nil {
					return err
				}
				lc = &c
			}
			if len(args) > 0 || lc != nil {
				opts.Background = func(ctx context.Context, report func(tui.Status)) error {
					if len(args) > 0 {
						err := ingestInBackground(ctx, st, g, args, report, func() error {
							_, err := runAnalysis(ctx, st, cfg)
							return err
						})
						if err != nil || lc == nil {
							return err
						}
					}
					return followCapture(ctx, st, *lc, capf.iface, report)
				}
			}
			return tui.Run(cmd.Context(), st, opts)
		},
	}
	cmd.Flags().BoolVar(&mouse, "mouse", false, "enable the mouse (off keeps terminal text selection working)")
	cmd.Flags().StringVarP(&capf.iface, "interface", "i", "", "also capture live on this interface (\"any\" for all), as 'corscope capture' does")
	cmd.Flags().StringSliceVar(&capf.ports, "port", nil, "with -i: capture only TCP traffic to or from these ports")
	cmd.Flags().StringArrayVar(&capf.hosts, "host", nil, "with -i: capture only traffic to or from this address or host name")
	return cmd
}

// followCapture runs a live capture for the UI's life. The capture's
// progress (about every half second) gives the packet rate and kernel
// drops; the counts come from the store, so a row counted is a row the
// views can load.
func followCapture(ctx context.Context, st *storage.Store, lc live.Config, iface string, report func(tui.Status)) error {
	var prev live.Progress
	lc.Progress = func(p live.Progress) {
		in, _ := st.Count(ctx, "inputs")
		n, _ := st.Count(ctx, "exchanges")
		f, _ := st.Count(ctx, "findings")
		pps, msg := captureStatus(iface, prev, p)
		prev = p
		report(tui.Status{Inputs: in, Exchanges: n, Findings: f, PacketsPerSec: pps, Drops: int64(min(p.KernelDrops, math.MaxInt64)), Message: msg})
	}
	_, err := live.Run(ctx, lc)
	if err != nil && ctx.Err() == nil {
		report(tui.Status{Message: "capture stopped: " + err.Error()})
	}
	return err
}

// captureStatus says how a live capture is doing, from its progress p and
// the snapshot before it (zero at the first): "capturing on lo: 1234
// pkt/s, 0 dropped". The rate is 0 once the capture has ended.
func captureStatus(iface string, prev, p live.Progress) (pps float64, msg string) {
	if p.Final {
		return 0, fmt.Sprintf("capture on %s ended: %d packets, %d dropped", iface, p.Packets, p.KernelDrops)
	}
	pps = p.PacketsPerSecond(prev)
	msg = fmt.Sprintf("capturing on %s: %.0f pkt/s, %d dropped", iface, pps, p.KernelDrops)
	if p.AnalysisPaused {
		msg += " (periodic analysis paused: findings update at the end)"
	}
	return pps, msg
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
