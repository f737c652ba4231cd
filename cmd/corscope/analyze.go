package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/corscope/corscope/analyze/catalog"
	"github.com/corscope/corscope/analyze/config"
	"github.com/corscope/corscope/analyze/report"
	"github.com/corscope/corscope/internal/analysisrun"
	"github.com/corscope/corscope/storage"
)

type reportFlags struct {
	format   string
	failOn   string
	baseline string
	verbose  bool
	output   string
}

func (r *reportFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.format, "format", "", "text, json, ndjson, sarif or markdown (default text)")
	cmd.Flags().StringVar(&r.failOn, "fail-on", "never", "exit 1 when a finding is at or above: critical, high, medium, low, info, never")
	cmd.Flags().StringVar(&r.baseline, "baseline", "", "report only findings whose fingerprint is not in this baseline file")
	cmd.Flags().BoolVarP(&r.verbose, "verbose", "v", false, "print secrets in evidence in full")
	cmd.Flags().StringVarP(&r.output, "output", "o", "", "write the report to this file (mode 0600) instead of stdout")
}

func (r *reportFlags) check() error {
	if r.format == "" {
		r.format = "text"
	}
	if err := checkFormat(r.format, "text", "json", "ndjson", "sarif", "markdown"); err != nil {
		return err
	}
	if _, err := report.FailOn(nil, r.failOn); err != nil {
		return withCode(exitUsage, err)
	}
	return nil
}

func addAnalyzerCommands(root *cobra.Command, g *globalFlags) {
	root.AddCommand(newAuditCmd(g), newAnalyzeCmd(g), newReportCmd(g), newRulesCmd(), newBaselineCmd(g))
}

// loadConfig reads --config, or ./corscope.yaml when present.
func loadConfig(g *globalFlags) (*config.Config, error) {
	path := g.config
	if path == "" {
		if _, err := os.Stat(config.DefaultName); err != nil {
			return &config.Config{}, nil
		}
		path = config.DefaultName
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return c, nil
}

// runAnalysis streams every stored exchange through the analyzer and
// stores what it decided, replacing the previous run (shared with live
// capture in internal/analysisrun).
func runAnalysis(ctx context.Context, st *storage.Store, cfg *config.Config) (*storage.Analysis, error) {
	return analysisrun.Run(ctx, st, cfg, version)
}

func newAnalyzeCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "analyze [flags]",
		Short: "(Re)run the rules over everything stored; findings replace the previous run's",
		Args:  cobra.NoArgs,
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
			a, err := runAnalysis(cmd.Context(), st, cfg)
			if err != nil {
				return err
			}
			if !g.quiet {
				counts := map[string]int{}
				for _, f := range a.Findings {
					counts[f.Severity]++
				}
				var parts []string
				for _, s := range []string{"critical", "high", "medium", "low", "info"} {
					if counts[s] > 0 {
						parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
					}
				}
				summary := "no findings"
				if len(parts) > 0 {
					summary = strings.Join(parts, ", ")
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "analyzed %d exchanges in %s: %s\n", a.Run.Stats["exchanges"],
					a.Run.Finished.Sub(a.Run.Started).Round(time.Millisecond), summary)
			}
			return nil
		},
	}
}

func newReportCmd(g *globalFlags) *cobra.Command {
	rf := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "report [flags]",
		Short: "Print the findings of the last analysis",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.check(); err != nil {
				return err
			}
			cfg, err := loadConfig(g)
			if err != nil {
				return err
			}
			st, err := openStore(g)
			if err != nil {
				return err
			}
			defer st.Close()
			run, err := st.LastRun(cmd.Context())
			if err != nil {
				return err
			}
			if run == nil {
				if _, err := runAnalysis(cmd.Context(), st, cfg); err != nil {
					return err
				}
			}
			return writeReport(cmd.Context(), st, cfg, rf, cmd.OutOrStdout())
		},
	}
	rf.add(cmd)
	return cmd
}

func newAuditCmd(g *globalFlags) *cobra.Command {
	rf := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "audit [flags] INPUT...",
		Short: "Ingest, analyze and report in one step (temporary database unless --db is given)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.check(); err != nil {
				return err
			}
			cfg, err := loadConfig(g)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("db") {
				g.db = storage.MemoryPath
			}
			st, err := openStore(g)
			if err != nil {
				return err
			}
			defer st.Close()
			_, ingestErr := ingestAll(cmd.Context(), st, g, args, cmd.ErrOrStderr())
			var ee *exitError
			if ingestErr != nil && (!errors.As(ingestErr, &ee) || ee.code == 130) {
				return ingestErr
			}
			if n, _ := st.Count(cmd.Context(), "inputs"); n == 0 {
				return ingestErr // nothing readable at all
			}
			if _, err := runAnalysis(cmd.Context(), st, cfg); err != nil {
				return err
			}
			if err := writeReport(cmd.Context(), st, cfg, rf, cmd.OutOrStdout()); err != nil {
				// A findings exit (1) yields to an input error (2, 3): a
				// broken input is the more urgent thing for CI to see.
				if ingestErr != nil {
					return ingestErr
				}
				return err
			}
			return ingestErr
		},
	}
	rf.add(cmd)
	return cmd
}

// writeReport applies suppressions and the baseline, renders the report and
// returns exit code 1 when a finding reaches --fail-on.
func writeReport(ctx context.Context, st *storage.Store, cfg *config.Config, rf *reportFlags, stdout io.Writer) error {
	findings, err := st.Findings(ctx)
	if err != nil {
		return err
	}
	kept, warnings := cfg.Apply(findings, time.Now())
	baselinePath, explicit := rf.baseline, true
	if baselinePath == "" {
		baselinePath, explicit = cfg.BaselinePath(), false
	}
	if baselinePath != "" {
		b, err := config.LoadBaseline(baselinePath)
		switch {
		case err == nil:
			kept = b.New(kept)
		case !explicit && errors.Is(err, fs.ErrNotExist):
			// The first CI run of a project whose config names a baseline
			// has none yet: report everything, and say how to make one.
			warnings = append(warnings, fmt.Sprintf("baseline %s does not exist yet: every finding is reported (create it with 'corscope baseline write -o %s')", baselinePath, baselinePath))
		default:
			return withCode(exitUsage, err)
		}
	}
	hosts, err := st.HostPolicies(ctx)
	if err != nil {
		return err
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	inputs, err := st.Inputs(ctx)
	if err != nil {
		return err
	}
	rep := &report.Report{ToolVersion: version, Stats: stats, Hosts: hosts, Findings: kept, Warnings: warnings}
	for _, in := range inputs {
		rep.Inputs = append(rep.Inputs, report.Input{Path: in.Path, Format: in.Format, SHA256: in.SHA256,
			Exchanges: in.Exchanges, Warnings: in.Warnings})
	}
	err = writeOutput(rf.output, stdout, func(w io.Writer, toFile bool) error {
		return report.Write(w, rep, rf.format, report.Options{Color: useColor() && !toFile, Verbose: rf.verbose})
	})
	if err != nil {
		return err
	}
	fail, _ := report.FailOn(kept, rf.failOn)
	if fail {
		return withCode(exitFindings, nil)
	}
	return nil
}

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules [explain ID]",
		Short: "List the rule catalogue, or explain one rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUP\tID\tSEVERITY\tCWE\tTITLE")
			for _, r := range catalog.All() {
				cwe := "-"
				if r.CWE != 0 {
					cwe = fmt.Sprint(r.CWE)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Group, r.ID, r.BaseSeverity, cwe, r.Title)
			}
			return tw.Flush()
		},
	}
	explain := &cobra.Command{
		Use:   "explain ID",
		Short: "What a rule finds, why it matters, how it is exploited and fixed",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var ids []string
			for _, r := range catalog.All() {
				ids = append(ids, r.ID)
			}
			sort.Strings(ids)
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, ok := catalog.Lookup(args[0])
			if !ok {
				return withCode(exitUsage, fmt.Errorf("no rule %q (see 'corscope rules')", args[0]))
			}
			fmt.Fprint(cmd.OutOrStdout(), r.Explain())
			return nil
		},
	}
	cmd.AddCommand(explain)
	return cmd
}

func newBaselineCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "baseline", Short: "Manage the baseline of accepted findings"}
	var output string
	write := &cobra.Command{
		Use:   "write [-o FILE]",
		Short: "Write the current findings' fingerprints as a baseline, so CI reports only new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(g)
			if err != nil {
				return err
			}
			defer st.Close()
			fs, err := st.Findings(cmd.Context())
			if err != nil {
				return err
			}
			return writeOutput(output, cmd.OutOrStdout(), func(w io.Writer, _ bool) error {
				return config.WriteBaseline(w, fs)
			})
		},
	}
	write.Flags().StringVarP(&output, "output", "o", "corscope-baseline.json", "baseline file (- for stdout)")
	cmd.AddCommand(write)
	return cmd
}
