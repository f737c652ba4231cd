package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/corscope/corscope/storage"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

type globalFlags struct {
	db         string
	config     string
	keylogs    []string
	format     string
	failOn     string
	noProgress bool
	quiet      bool
	maxBody    int64
	noBodies   bool
	cpuProfile string
	limits     limitFlags
}

func newRootCmd() *cobra.Command { return newRootCmdWith(&globalFlags{}) }

// newRootCmdWith builds the command tree around g, which the persistent
// flags fill (tests read it back).
func newRootCmdWith(g *globalFlags) *cobra.Command {
	root := &cobra.Command{
		Use:   "corscope",
		Short: "Passive CORS traffic analyzer for pcap, pcapng and HAR files",
		Long: `corscope rebuilds HTTP exchanges from packet captures, live interfaces and
browser HAR exports, stores them in SQLite, pairs CORS preflights with their
actual requests and reports risky cross-origin patterns.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return withCode(exitUsage, err) })
	pf := root.PersistentFlags()
	pf.StringVar(&g.db, "db", storage.DefaultPath, "SQLite database (\":memory:\" keeps nothing)")
	pf.StringVar(&g.config, "config", "", "configuration file (default ./corscope.yaml when present)")
	pf.StringArrayVar(&g.keylogs, "keylog", nil, "NSS key log file (SSLKEYLOGFILE format) for TLS decryption; may repeat")
	pf.BoolVar(&g.noProgress, "no-progress", false, "never show a progress bar")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only results and errors")
	pf.Int64Var(&g.maxBody, "max-body", 1<<20, "bytes of each body to store")
	pf.BoolVar(&g.noBodies, "no-bodies", false, "store body sizes only, no body bytes")
	g.limits.add(pf)
	pf.StringVar(&g.cpuProfile, "cpuprofile", "", "write a Go CPU profile to this file (for performance work)")
	_ = pf.MarkHidden("cpuprofile")
	var profile *os.File
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if g.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(g.cpuProfile)
		if err != nil {
			return withCode(exitUsage, err)
		}
		profile = f
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(cmd *cobra.Command, args []string) {
		if profile != nil {
			pprof.StopCPUProfile()
			profile.Close()
		}
	}

	root.AddCommand(newIngestCmd(g), newExchangesCmd(g), newExportCmd(g), newUICmd(g), newVersionCmd())
	addAnalyzerCommands(root, g)
	root.AddCommand(newCaptureCmd(g))
	return root
}

func openStore(g *globalFlags) (*storage.Store, error) {
	st, err := storage.Open(g.db)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return st, nil
}

func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }
func stdoutIsTerminal() bool { return term.IsTerminal(int(os.Stdout.Fd())) }

// useColor follows https://no-color.org and only colours terminals.
func useColor() bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	return stdoutIsTerminal() && os.Getenv("TERM") != "dumb"
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return withCode(exitUsage, fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(allowed, ", ")))
}

// panicTestHook lets a test prove that a bug becomes exit 70 and one line.
var panicTestHook func()

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print corscope's version and database schema version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			if panicTestHook != nil {
				panicTestHook()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "corscope %s (schema %d)\n", version, storage.SchemaVersion())
		},
	}
}
