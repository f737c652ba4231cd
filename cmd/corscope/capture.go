package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/corscope/corscope/analyze/config"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/corscope/corscope/analyze/report"
	"github.com/corscope/corscope/capture/keylog"
	"github.com/corscope/corscope/capture/live"
	"github.com/corscope/corscope/internal/analysisrun"
	"github.com/corscope/corscope/storage"
)

type captureFlags struct {
	iface      string
	ports      []string
	hosts      []string
	promisc    bool
	duration   time.Duration
	write      string
	rotate     string
	rotateKeep int
}

func newCaptureCmd(g *globalFlags) *cobra.Command {
	f := &captureFlags{}
	cmd := &cobra.Command{
		Use:   "capture -i IFACE [flags]",
		Short: "Capture live traffic (AF_PACKET, Linux), store exchanges and report findings as they appear",
		Long: `Capture HTTP traffic on a live interface ("any" for all) with a pure Go
AF_PACKET socket, rebuild exchanges continuously into the database and
re-run the analyzer about every second while new exchanges arrive.
Ctrl-C, SIGTERM or --duration stop it: pending exchanges are flushed
(requests without a response get status 0), the final analysis runs and a
summary is printed. Needs CAP_NET_RAW.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCapture(cmd.Context(), g, f, cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.iface, "interface", "i", "", "interface to capture on, or \"any\"")
	fl.StringSliceVar(&f.ports, "port", nil, "capture only TCP traffic to or from these ports (comma-separated, may repeat)")
	fl.StringArrayVar(&f.hosts, "host", nil, "capture only traffic to or from this address or host name (may repeat)")
	fl.BoolVar(&f.promisc, "promisc", false, "put the interface in promiscuous mode")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (e.g. 30s, 10m); 0 runs until Ctrl-C")
	fl.StringVar(&f.write, "write", "", "also keep the raw packets in this pcapng file (mode 0600)")
	fl.StringVar(&f.rotate, "rotate", "", "with --write: start a new file at this size (e.g. 100MB, 1GiB)")
	fl.IntVar(&f.rotateKeep, "rotate-keep", 10, "with --rotate: keep only the newest N files (0 keeps all)")
	_ = cmd.MarkFlagRequired("interface")
	return cmd
}

func runCapture(ctx context.Context, g *globalFlags, f *captureFlags, log io.Writer) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	defer st.Close()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	status := log
	if g.quiet {
		status = nil
	}
	lc, err := captureConfig(g, f, st, cfg, status)
	if err != nil {
		return err
	}
	if status != nil && !g.noProgress {
		if ls := newLiveStatus(log, f.iface); ls != nil {
			lc.Log, lc.Progress = ls, ls.progress
		}
	}
	// A second Ctrl-C while the final analysis runs skips it.
	finalCtx, skipFinal := context.WithCancel(context.Background())
	defer skipFinal()
	go func() {
		select {
		case <-ctx.Done():
		case <-finalCtx.Done():
			return
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			skipFinal()
		case <-finalCtx.Done():
		}
	}()
	lc.FinalContext = finalCtx
	sum, err := live.Run(ctx, lc)
	if sum != nil && !g.quiet {
		printCaptureSummary(log, sum)
	}
	if err != nil {
		if sum == nil {
			return withCode(exitUsage, err)
		}
		return err
	}
	return nil
}

// captureConfig builds the live capture that --interface and its flags ask
// for, into st, with the same limits and --redact as ingest; status (may be
// nil) gets the capture's messages. Used by 'capture' and 'ui -i'.
func captureConfig(g *globalFlags, f *captureFlags, st *storage.Store, cfg *config.Config, status io.Writer) (live.Config, error) {
	filter, err := captureFilter(f)
	if err != nil {
		return live.Config{}, withCode(exitUsage, err)
	}
	var rotate int64
	if f.rotate != "" {
		if f.write == "" {
			return live.Config{}, withCode(exitUsage, fmt.Errorf("--rotate needs --write FILE.pcapng"))
		}
		if rotate, err = parseSize(f.rotate); err != nil {
			return live.Config{}, withCode(exitUsage, fmt.Errorf("--rotate: %w", err))
		}
	}
	// The same limits (and --redact) as ingest.
	iopts, err := g.ingestOptions()
	if err != nil {
		return live.Config{}, err
	}
	copts := iopts.Limits.CaptureOptions(g.maxBody)
	var transform func(*storage.Exchange)
	if r := iopts.Redactor; r != nil {
		transform = func(ex *storage.Exchange) { r.Exchange(ex) }
	}
	if len(g.keylogs) > 0 {
		// Watched, not read once: browsers append a line per session.
		keys := keylog.New(0)
		for _, p := range g.keylogs {
			if err := keys.WatchFile(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return live.Config{}, withCode(exitUsage, err)
			}
		}
		copts.Keys = keys
	}
	return live.Config{
		Source:  live.SourceConfig{Interface: f.iface, Promisc: f.promisc, Filter: filter},
		Store:   st,
		Capture: copts, NoBodies: g.noBodies, Transform: transform,
		Write: f.write, RotateBytes: rotate, RotateKeep: f.rotateKeep, Keylogs: g.keylogs,
		Analyze: func(ctx context.Context) (*storage.Analysis, error) {
			return analysisrun.Run(ctx, st, cfg, version)
		},
		Log: status,
		Ready: func() {
			if status != nil {
				fmt.Fprintf(status, "capturing on %s into %s; Ctrl-C stops\n", terminalSafe(f.iface, 64), terminalSafe(st.Path(), 200))
			}
		},
	}, nil
}

// captureFilter turns --port and --host into the kernel filter.
func captureFilter(f *captureFlags) (live.Filter, error) {
	var flt live.Filter
	for _, p := range f.ports {
		p = strings.TrimSpace(p)
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return flt, fmt.Errorf("--port %q: want a port number 1-65535", p)
		}
		flt.Ports = append(flt.Ports, uint16(n))
	}
	for _, h := range f.hosts {
		if a, err := netip.ParseAddr(h); err == nil {
			flt.Hosts = append(flt.Hosts, a)
			continue
		}
		ips, err := net.LookupIP(h)
		if err != nil || len(ips) == 0 {
			return flt, fmt.Errorf("--host %q: not an address, and the name does not resolve", h)
		}
		for _, ip := range ips {
			if a, ok := netip.AddrFromSlice(ip); ok {
				flt.Hosts = append(flt.Hosts, a.Unmap())
			}
		}
	}
	return flt, nil
}

// parseSize reads "100MB", "1GiB", "512k" or plain bytes: KB/MB/GB are
// decimal, KiB/MiB/GiB and bare K/M/G binary.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			mult, t = u.mult, strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 100MB, 1GiB)", s)
	}
	if n*mult < 1<<20 {
		return 0, fmt.Errorf("%q is below the 1 MiB minimum", s)
	}
	return n * mult, nil
}

// liveStatus keeps one status line at the bottom of a terminal while a
// capture runs ("capturing on lo: 1234 pkt/s, 0 dropped; ..."); the
// capture's messages written through it appear above the line.
type liveStatus struct {
	mu    sync.Mutex
	w     io.Writer
	width int // columns: a line that wrapped could not be redrawn with \r
	iface string
	line  string // shown now
	prev  live.Progress
}

// newLiveStatus returns a status line on w, or nil when w is no terminal.
func newLiveStatus(w io.Writer, iface string) *liveStatus {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return nil
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 80
	}
	// The name was typed and names a real interface, but Linux allows
	// control characters in names and this goes straight to the terminal.
	return &liveStatus{w: w, width: width, iface: report.Terminal(iface, 64)}
}

const clearLine = "\r\x1b[K"

// Write puts a message (whole lines) above the status line.
func (s *liveStatus) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line == "" {
		return s.w.Write(p)
	}
	io.WriteString(s.w, clearLine)
	n, err := s.w.Write(p)
	io.WriteString(s.w, s.line)
	return n, err
}

// progress redraws the line; the final call clears it for the summary.
func (s *liveStatus) progress(p live.Progress) {
	line := ""
	if !p.Final {
		_, msg := captureStatus(s.iface, s.prev, p)
		line = fmt.Sprintf("%s; %d exchanges, %d findings", msg, p.Exchanges, p.Findings)
		if r := []rune(line); len(r) >= s.width {
			line = string(r[:max(s.width-2, 0)]) + "…"
		}
	}
	s.prev = p
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, clearLine+line)
	s.line = line
}

func printCaptureSummary(w io.Writer, s *live.Summary) {
	fmt.Fprintf(w, "captured %d packets on %s in %s (kernel: %d received, %d dropped)\n",
		s.Packets, s.Interface, s.Duration.Round(time.Millisecond), s.KernelReceived, s.KernelDrops)
	findings := "no findings"
	if s.Findings > 0 {
		var parts []string
		for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
			if n := s.BySeverity[sev]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		findings = fmt.Sprintf("%d findings (%s)", s.Findings, strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "%d exchanges, %d connections stored (input %d); %s\n", s.Exchanges, s.Connections, s.InputID, findings)
	if s.Analyses > 0 {
		fmt.Fprintf(w, "analysis ran %d times, last %s, longest %s\n", s.Analyses,
			s.AnalysisLast.Round(time.Millisecond), s.AnalysisMax.Round(time.Millisecond))
	}
	if s.FinalSkipped {
		fmt.Fprintln(w, "final analysis skipped: run 'corscope analyze' on this database for up-to-date findings")
	}
	if s.AnalysisPaused {
		fmt.Fprintln(w, "periodic analysis was paused (the database outgrew a quick full run); the final analysis covers everything")
	}
	for _, f := range s.Files {
		fmt.Fprintf(w, "packets kept in %s\n", f)
	}
	for _, warn := range s.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
}
