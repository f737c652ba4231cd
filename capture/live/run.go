//go:build linux

package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/corscope/corscope/analyze/report"
	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/storage"
)

// stopDrain bounds how long packets already captured are still read after
// the stop request: enough for the ring's last block to be handed over.
const stopDrain = 200 * time.Millisecond

// progressEvery is how often Config.Progress is called by default.
const progressEvery = 500 * time.Millisecond

// keyReload is how often watched key logs are re-read for new lines.
const keyReload = 50 * time.Millisecond

// keysDue says whether a packet calls for re-reading the key logs before
// it is decoded: a ring block hands over a whole handshake at once, faster
// than the periodic re-read, and a session's secrets are logged before its
// peer's handshake flight (record type 0x16) or Finished (0x14 ChangeCipherSpec
// first) goes out. Application data (0x17) re-reads at most every 5 ms.
func keysDue(p []byte, since time.Duration) bool {
	switch tlsRecordAtStart(p) {
	case 0x14, 0x16:
		return true
	case 0x17:
		return since >= 5*time.Millisecond
	}
	return false
}

// tlsRecordAtStart returns the TLS record type a raw IP packet's TCP
// payload starts with, or 0.
func tlsRecordAtStart(p []byte) byte {
	if len(p) < 1 {
		return 0
	}
	var off int
	switch p[0] >> 4 {
	case 4:
		if len(p) < 20 || p[9] != 6 {
			return 0
		}
		off = int(p[0]&0xf) * 4
	case 6:
		if len(p) < 40 || p[6] != 6 {
			return 0
		}
		off = 40
	default:
		return 0
	}
	if len(p) < off+13 {
		return 0
	}
	off += int(p[off+12]>>4) * 4
	if len(p) >= off+3 && p[off] >= 0x14 && p[off] <= 0x17 && p[off+1] == 3 && p[off+2] <= 4 {
		return p[off]
	}
	return 0
}

// Run captures until ctx is done (SIGINT, SIGTERM, --duration), then
// flushes every pending exchange, runs the final analysis and records the
// input as complete. Errors opening the capture are returned before
// anything is written to the database.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	started := time.Now()
	src, err := Open(cfg.Source)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	sum := &Summary{Interface: cfg.Source.Interface, BySeverity: map[string]int{}}
	st := cfg.Store
	in := &storage.Input{Path: "live:" + cfg.Source.Interface, Format: storage.FormatLive}
	if err := st.BeginInput(context.Background(), in); err != nil {
		return nil, err
	}
	sum.InputID = in.ID
	w, err := st.NewWriter(in.ID, storage.WriterOptions{FlushInterval: 100 * time.Millisecond, NoBodies: cfg.NoBodies})
	if err != nil {
		return nil, err
	}
	var pw *RotatingWriter
	if cfg.Write != "" {
		name := func(idx int) string {
			if idx < 0 || cfg.Source.Interface != "any" {
				return cfg.Source.Interface
			}
			return src.InterfaceName(idx)
		}
		if pw, err = NewRotatingWriter(cfg.Write, cfg.RotateBytes, cfg.RotateKeep, layers.LinkTypeRaw, name); err != nil {
			w.Close()
			return nil, err
		}
	}
	tail := newKeyTail(cfg.Keylogs)
	if pw != nil {
		if err := pw.AddSecrets(tail.next()); err != nil {
			w.Close()
			return nil, err
		}
	}
	sink := &countingSink{w: w, transform: cfg.Transform}
	stream := capture.NewStream(cfg.Capture, sink)
	stream.Name = cfg.Source.Interface

	an := newAnalyzer(cfg, w, sink, sum)
	anCtx, stopAnalyzer := context.WithCancel(context.Background())
	var anDone sync.WaitGroup
	if cfg.Analyze != nil {
		anDone.Add(1)
		go func() { defer anDone.Done(); an.loop(anCtx) }()
	}
	var prog *progressPump
	every := cfg.ProgressEvery
	if every <= 0 {
		every = progressEvery
	}
	if cfg.Progress != nil {
		prog = startProgress(cfg.Progress)
	}
	// snapshot runs on the capture goroutine: the stream is not safe for
	// concurrent use, and a getsockopt every half second costs nothing.
	var kernRecv, kernDrops uint64
	snapshot := func(now time.Time) Progress {
		st := stream.Stats()
		if recv, drops, err := src.KernelStats(); err == nil {
			kernRecv, kernDrops = recv, drops
		}
		p := Progress{
			Elapsed: now.Sub(started), Packets: st.Packets, Bytes: st.Bytes,
			KernelReceived: kernRecv, KernelDrops: kernDrops,
			Exchanges: sink.n.Load(), Connections: st.Connections, Open: stream.Open(),
		}
		an.progress(&p)
		return p
	}
	if cfg.Ready != nil {
		cfg.Ready()
	}

	var runErr error
	keylogMissing := false
	lastTick, lastKeys, lastProgress := time.Now(), time.Now(), time.Now()
	var stopAt time.Time
	for {
		if stopAt.IsZero() && ctx.Err() != nil {
			stopAt = time.Now().Add(stopDrain)
		}
		data, info, err := src.Next()
		now := info.Time
		if err != nil {
			now = time.Now()
		}
		if keys := cfg.Capture.Keys; keys != nil && (now.Sub(lastKeys) >= keyReload || (err == nil && keysDue(data, now.Sub(lastKeys)))) {
			// Browsers append a line per TLS session; reading it before the
			// session's records come out of the ring lets them decrypt at once.
			lastKeys = now
			added, kerr := keys.Reload()
			if added > 0 && pw != nil && runErr == nil {
				runErr = pw.AddSecrets(tail.next())
			}
			if kerr != nil && !keylogMissing {
				keylogMissing = true
				if cfg.Log != nil {
					fmt.Fprintf(cfg.Log, "warning: %v (still watching)\n", kerr)
				}
			}
		}
		switch {
		case err == nil:
			stream.Packet(LinkType, data, info.Time)
			if pw != nil && runErr == nil {
				if werr := pw.WritePacket(info.Time, data, info.Length, info.IfIndex); werr != nil {
					runErr = werr // keep capturing into the database, report at the end
				}
			}
		case errors.Is(err, ErrTimeout):
			if !stopAt.IsZero() {
				stopAt = now // nothing left in the ring
			}
		default:
			runErr = err
			stopAt = time.Now()
		}
		if stopAt.IsZero() && an.failed.Load() {
			// The database writer gave up: capturing on would lose everything.
			stopAt = time.Now()
		}
		if now.Sub(lastTick) >= time.Second {
			// Quiet connections close by capture time, which on a live
			// socket is the wall clock.
			lastTick = now
			stream.Idle(time.Now())
			if pw != nil {
				if ferr := pw.Flush(); ferr != nil && runErr == nil {
					runErr = ferr
				}
			}
		}
		if prog != nil {
			if t := time.Now(); t.Sub(lastProgress) >= every {
				lastProgress = t
				prog.send(snapshot(t))
			}
		}
		if !stopAt.IsZero() && !time.Now().Before(stopAt) {
			break
		}
	}

	if keys := cfg.Capture.Keys; keys != nil {
		keys.Reload() // secrets of the last sessions, before their records are given up
	}
	stats := stream.Close(time.Now())
	stopAnalyzer()
	anDone.Wait()
	if err := w.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if pw != nil {
		if err := pw.Close(); err != nil && runErr == nil {
			runErr = err
		}
		sum.Files = pw.Files()
	}
	if recv, drops, err := src.KernelStats(); err == nil {
		sum.KernelReceived, sum.KernelDrops = recv, drops
	}
	if cfg.Analyze != nil {
		fctx := cfg.FinalContext
		if fctx == nil {
			fctx = context.Background()
		}
		if cfg.Log != nil && sum.AnalysisPaused && an.pending() {
			fmt.Fprintf(cfg.Log, "final analysis of %d exchanges... (Ctrl-C again skips it)\n", sink.n.Load())
		}
		an.run(fctx, true)
		sum.FinalSkipped = an.cancelled
		if an.err != nil && runErr == nil {
			runErr = an.err
		}
	}
	sum.Packets, sum.Bytes, sum.Exchanges, sum.Connections = stats.Packets, stats.Bytes, stats.Exchanges, stats.Connections
	sum.Warnings = stats.Warnings
	if sum.KernelDrops > 0 {
		sum.Warnings = append(sum.Warnings, fmt.Sprintf("%s: the kernel dropped %d packets (capture too slow): exchanges may be missing", cfg.Source.Interface, sum.KernelDrops))
	}
	in.Packets, in.Exchanges, in.Connections = stats.Packets, sink.n.Load(), stats.Connections
	in.Warnings = sum.Warnings
	in.Stats = map[string]int64{}
	for k, v := range stats.Counters {
		in.Stats[k] = v
	}
	in.Stats["kernel.received"] = int64(sum.KernelReceived)
	in.Stats["kernel.dropped"] = int64(sum.KernelDrops)
	if err := st.FinishInput(context.Background(), in); err != nil && runErr == nil {
		runErr = err
	}
	sum.Duration = time.Since(started)
	if prog != nil {
		prog.finish(Progress{
			Elapsed: sum.Duration, Packets: sum.Packets, Bytes: sum.Bytes,
			KernelReceived: sum.KernelReceived, KernelDrops: sum.KernelDrops,
			Exchanges: sum.Exchanges, Connections: sum.Connections,
			Findings: sum.Findings, Analyses: sum.Analyses, AnalysisLast: sum.AnalysisLast,
			AnalysisPaused: sum.AnalysisPaused, Final: true,
		})
	}
	return sum, runErr
}

// progressPump hands snapshots to Config.Progress on a goroutine of its
// own. Only the capture goroutine sends.
type progressPump struct {
	ch   chan Progress
	done chan struct{}
}

func startProgress(fn func(Progress)) *progressPump {
	p := &progressPump{ch: make(chan Progress, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for pr := range p.ch {
			fn(pr)
		}
	}()
	return p
}

// send never waits: a snapshot the callback has not taken yet is replaced.
func (p *progressPump) send(pr Progress) {
	select {
	case p.ch <- pr:
		return
	default:
	}
	select {
	case <-p.ch:
	default:
	}
	p.ch <- pr // the buffer has room: the one other party only takes
}

// finish delivers the last snapshot and waits until the callback is done.
func (p *progressPump) finish(pr Progress) {
	p.send(pr)
	close(p.ch)
	<-p.done
}

// countingSink hands records to the store writer and counts exchanges for
// the analyzer goroutine.
type countingSink struct {
	w         *storage.Writer
	n         atomic.Int64
	transform func(*storage.Exchange)
}

func (s *countingSink) Exchange(e *storage.Exchange) {
	if s.transform != nil {
		s.transform(e)
	}
	s.w.Exchange(e)
	s.n.Add(1)
}

func (s *countingSink) Connection(c *storage.Connection) { s.w.Connection(c) }

// analyzer re-runs the analysis when new exchanges were stored.
type analyzer struct {
	cfg      Config
	w        *storage.Writer
	sink     *countingSink
	sum      *Summary
	analyzed int64
	lastRun  time.Duration
	// cancelled: the last run was stopped through its context
	cancelled bool
	failed    atomic.Bool // the writer failed: the capture loop stops
	// mu guards the sum's analysis fields while the loop runs: the capture
	// goroutine reads them for Progress.
	mu   sync.Mutex
	seen map[string]bool
	err  error
}

func newAnalyzer(cfg Config, w *storage.Writer, sink *countingSink, sum *Summary) *analyzer {
	if cfg.AnalyzeEvery <= 0 {
		cfg.AnalyzeEvery = time.Second
	}
	if cfg.AnalyzeBudget <= 0 {
		cfg.AnalyzeBudget = 2 * time.Second
	}
	return &analyzer{cfg: cfg, w: w, sink: sink, sum: sum, analyzed: -1, seen: map[string]bool{}}
}

// progress copies the analysis state into p.
func (a *analyzer) progress(p *Progress) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p.Findings, p.Analyses = a.sum.Findings, a.sum.Analyses
	p.AnalysisLast, p.AnalysisPaused = a.sum.AnalysisLast, a.sum.AnalysisPaused
}

// pending reports exchanges stored since the last completed run.
func (a *analyzer) pending() bool { return a.sink.n.Load() != a.analyzed }

// loop re-runs the analysis about every AnalyzeEvery. A full run grows
// with the database: the next waits four times as long as the last took,
// so analysis takes at most a fifth of a core from the capture, and once
// a run exceeds AnalyzeBudget only the writer is checked from then on.
func (a *analyzer) loop(ctx context.Context) {
	t := time.NewTimer(a.cfg.AnalyzeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a.sum.AnalysisPaused {
			// Still flush now and then: a failed writer must stop the capture.
			if err := a.w.Flush(); err != nil {
				a.err = err
				a.failed.Store(true)
				return
			}
			t.Reset(a.cfg.AnalyzeEvery)
			continue
		}
		a.run(ctx, false)
		if a.lastRun > a.cfg.AnalyzeBudget {
			a.mu.Lock()
			a.sum.AnalysisPaused = true
			a.mu.Unlock()
			if a.cfg.Log != nil {
				fmt.Fprintf(a.cfg.Log, "periodic analysis paused: a run over %d exchanges took %s; findings are updated at the end (or run 'corscope analyze')\n",
					a.analyzed, a.lastRun.Round(time.Millisecond))
			}
		}
		t.Reset(max(a.cfg.AnalyzeEvery, 4*a.lastRun))
	}
}

// run analyses everything stored when exchanges came since the last run
// (always when final). Exchanges counted before the flush are committed
// when the flush returns, so none is left out of a run that counted it.
func (a *analyzer) run(ctx context.Context, final bool) {
	n := a.sink.n.Load()
	if n == a.analyzed {
		return // the last run saw everything
	}
	a.cancelled = false
	if !final {
		if err := a.w.Flush(); err != nil {
			a.err = err
			a.failed.Store(true)
			return
		}
	}
	t0 := time.Now()
	res, err := a.cfg.Analyze(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.err = err
		} else {
			a.cancelled = true
		}
		return
	}
	d := time.Since(t0)
	a.lastRun = d
	a.analyzed = n
	findings := 0
	clear(a.sum.BySeverity) // read only once Run is done with the analyzer
	for _, f := range res.Findings {
		if f.Suppressed != "" {
			continue
		}
		findings++
		a.sum.BySeverity[f.Severity]++
		if !a.seen[f.Fingerprint] {
			a.seen[f.Fingerprint] = true
			if a.cfg.Log != nil {
				fmt.Fprintf(a.cfg.Log, "new finding: %s %s %s %s (Origin %s)\n", f.Severity, f.Rule,
					report.Terminal(f.Method, 16), report.Terminal(f.Endpoint, 200), report.Terminal(f.Origin, 120))
			}
		}
	}
	// Locked only here: a slow Log must not hold up the capture's snapshots.
	a.mu.Lock()
	a.sum.Analyses++
	a.sum.AnalysisLast = d
	a.sum.AnalysisMax = max(a.sum.AnalysisMax, d)
	a.sum.Findings = findings
	a.mu.Unlock()
}
