// Package live captures packets from Linux interfaces with AF_PACKET (pure
// Go, TPACKET_V3 ring, kernel BPF filter) and feeds the capture pipeline.
package live

import (
	"context"
	"io"
	"time"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/storage"
)

// SourceConfig says what to capture.
type SourceConfig struct {
	Interface string // a name, or "any"
	Promisc   bool
	Filter    Filter // DropOutgoingOn is filled in for loopback interfaces
}

// Info describes one captured frame.
type Info struct {
	Time    time.Time
	Length  int // length on the wire; more than len(data) when cut
	IfIndex int
}

// Config drives Run.
type Config struct {
	Source  SourceConfig
	Store   *storage.Store
	Capture capture.Options
	// NoBodies stores body sizes only.
	NoBodies bool
	// Transform, when set, changes each exchange before it is stored
	// (redaction); it runs on the capture goroutine.
	Transform func(*storage.Exchange)
	// Write, when set, keeps the raw packets in pcapng files rotated at
	// RotateBytes (0: never) keeping the newest RotateKeep (≤ 0: all).
	Write string
	// Keylogs are the key log files behind Capture.Keys: their new lines
	// go into the written files as Decryption Secrets Blocks.
	Keylogs     []string
	RotateBytes int64
	RotateKeep  int
	// Analyze re-runs the analyzer over the whole database and saves the
	// result; Run calls it about every AnalyzeEvery while new exchanges
	// arrive, and once more at the end. Nil: no analysis.
	Analyze      func(ctx context.Context) (*storage.Analysis, error)
	AnalyzeEvery time.Duration // default 1s
	// AnalyzeBudget pauses the periodic analysis once a run took longer
	// (default 2s): a full run grows with the database and saving it holds
	// the write lock the exchange writer needs. The final run still happens.
	AnalyzeBudget time.Duration
	// FinalContext bounds the final analysis (a second Ctrl-C can cancel
	// it on a large database); nil: it runs to the end.
	FinalContext context.Context
	// Log receives status lines (new findings as they appear); nil: none.
	Log io.Writer
	// Ready, when set, is called once packets are being captured.
	Ready func()
	// Progress, when set, receives a snapshot about every ProgressEvery
	// (default 500 ms) and once more when Run ends, with Final set and the
	// Summary's totals. It runs on a goroutine of its own, one call at a
	// time, and never holds up the capture: a snapshot it has not taken
	// yet is replaced by the next. Run returns after the final call.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is a running capture's state. Counters only grow.
type Progress struct {
	Elapsed        time.Duration // since Run started
	Packets        int64         // handed to the pipeline
	Bytes          int64         // captured bytes of those packets
	KernelReceived uint64        // passed the kernel filter (drops included)
	KernelDrops    uint64        // dropped by the kernel because the ring was full
	Exchanges      int64         // handed to the database writer
	Connections    int64         // TCP connections seen
	Open           int           // connections being reassembled now
	Findings       int           // after the last analysis, suppressed ones left out
	Analyses       int           // completed analysis runs
	AnalysisLast   time.Duration
	AnalysisPaused bool // periodic analysis stopped: the database outgrew AnalyzeBudget
	Final          bool // the last call: the totals equal the Summary's
}

// PacketsPerSecond is the packet rate from an earlier snapshot to p; 0
// when no time passed between them.
func (p Progress) PacketsPerSecond(prev Progress) float64 {
	dt := (p.Elapsed - prev.Elapsed).Seconds()
	if dt <= 0 || p.Packets < prev.Packets {
		return 0
	}
	return float64(p.Packets-prev.Packets) / dt
}

// Summary is what a capture did.
type Summary struct {
	Interface      string
	InputID        int64
	Packets        int64 // handed to the pipeline
	KernelReceived uint64
	KernelDrops    uint64 // dropped by the kernel (ring full): PACKET_STATISTICS
	Bytes          int64  // captured bytes of the packets
	Exchanges      int64
	Connections    int64
	Findings       int
	BySeverity     map[string]int
	Analyses       int
	AnalysisMax    time.Duration // longest analysis run
	AnalysisLast   time.Duration
	AnalysisPaused bool // periodic analysis stopped: the database outgrew AnalyzeBudget
	FinalSkipped   bool // the final analysis was cancelled through FinalContext
	Warnings       []string
	Files          []string // pcapng files kept
	Duration       time.Duration
}
