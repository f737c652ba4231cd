//go:build linux

package live

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/corscope/corscope/internal/analysisrun"
	"github.com/corscope/corscope/storage"
)

func TestPacketsPerSecond(t *testing.T) {
	prev := Progress{Elapsed: time.Second, Packets: 100}
	if got := (Progress{Elapsed: 1500 * time.Millisecond, Packets: 700}).PacketsPerSecond(prev); got != 1200 {
		t.Errorf("600 packets in 500 ms: %v pkt/s, want 1200", got)
	}
	if got := prev.PacketsPerSecond(prev); got != 0 {
		t.Errorf("no time passed: %v pkt/s, want 0", got)
	}
	if got := (Progress{Elapsed: 2 * time.Second, Packets: 50}).PacketsPerSecond(prev); got != 0 {
		t.Errorf("counter went back: %v pkt/s, want 0", got)
	}
}

// TestProgressPumpNeverWaits: a slow callback sees the newest snapshot
// each time it is ready, the final one last, and the sender never waits.
func TestProgressPumpNeverWaits(t *testing.T) {
	var got []int64
	p := startProgress(func(pr Progress) {
		got = append(got, pr.Packets) // one call at a time: no lock needed
		time.Sleep(5 * time.Millisecond)
	})
	var sending time.Duration
	for i := int64(1); i <= 100; i++ {
		t0 := time.Now()
		p.send(Progress{Packets: i})
		sending += time.Since(t0)
		time.Sleep(time.Millisecond)
	}
	if sending > 50*time.Millisecond {
		t.Errorf("100 sends to a 5 ms callback took %s: send waits", sending)
	}
	p.finish(Progress{Packets: 101, Final: true})
	if len(got) < 5 || len(got) > 100 || got[len(got)-1] != 101 {
		t.Fatalf("callback saw %d snapshots ending %v; want a few, the final last", len(got), got[len(got)-1:])
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("snapshots out of order: %v", got)
		}
	}
}

// TestLiveProgressWhileRunningAddsUpToTheSummary captures on lo with a
// progress hook whose first call stalls: the capture goes on storing
// meanwhile; later snapshots only grow, and the final one equals the
// Summary, kernel counters included although they were read every half
// second (Linux resets them on each read).
func TestLiveProgressWhileRunningAddsUpToTheSummary(t *testing.T) {
	skipUnlessPermitted(t)
	srv := startFixtures(t)
	st := openStore(t, "progress.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var got []Progress
	stall := make(chan struct{})
	var unstall sync.Once
	release := func() { unstall.Do(func() { close(stall) }) }
	defer release() // a failed check must not leave Run stuck in the hook
	stalled := make(chan struct{})
	first := true
	ready := make(chan struct{})
	type result struct {
		sum *Summary
		err error
	}
	done := make(chan result, 1)
	cfg := Config{
		Source: SourceConfig{Interface: "lo", Filter: Filter{Ports: []uint16{uint16(srv.HTTPPort())}}},
		Store:  st,
		Analyze: func(ctx context.Context) (*storage.Analysis, error) {
			return analysisrun.Run(ctx, st, nil, "test")
		},
		Progress: func(p Progress) {
			if first {
				first = false
				close(stalled)
				<-stall
			}
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
		},
		Ready: func() { close(ready) },
	}
	go func() {
		s, err := Run(ctx, cfg)
		done <- result{s, err}
	}()
	<-ready
	select {
	case <-stalled:
	case <-time.After(5 * time.Second): // 500 ms, on a loaded machine
		t.Fatal("no progress call within 5 s")
	}
	// The hook is stuck: the capture must go on regardless.
	want := len(browse(t, srv))
	deadline := time.Now().Add(3 * time.Second)
	for len(stored(t, st)) < want {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d of %d exchanges while the progress hook was stuck", len(stored(t, st)), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	release()
	for range 2 {
		time.Sleep(600 * time.Millisecond) // a progress call falls between rounds
		want += len(browse(t, srv))
	}
	time.Sleep(600 * time.Millisecond)
	cancel()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	sum := res.sum

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d progress calls over %s; final %+v", len(got), sum.Duration, got[len(got)-1])
	if len(got) < 4 {
		t.Fatalf("%d progress calls over a capture of %s; want one about every 500 ms", len(got), sum.Duration)
	}
	last := got[len(got)-1]
	for i, p := range got {
		if p.Final != (i == len(got)-1) {
			t.Fatalf("call %d of %d has Final %v", i+1, len(got), p.Final)
		}
		if p.KernelReceived < uint64(p.Packets) {
			t.Errorf("call %d: kernel received %d < %d packets handed on", i+1, p.KernelReceived, p.Packets)
		}
		if i == 0 {
			continue
		}
		q := got[i-1]
		if p.Elapsed <= q.Elapsed || p.Packets < q.Packets || p.Bytes < q.Bytes || p.Exchanges < q.Exchanges ||
			p.Connections < q.Connections || p.KernelReceived < q.KernelReceived || p.KernelDrops < q.KernelDrops ||
			p.Analyses < q.Analyses {
			t.Errorf("call %d went back:\n prev %+v\n now  %+v", i+1, q, p)
		}
		if d := p.Elapsed - q.Elapsed; !p.Final && d < 500*time.Millisecond {
			t.Errorf("snapshots %d and %d only %s apart; want 500 ms", i, i+1, d)
		}
	}
	// Packets and exchanges showed up before the end.
	mid := got[len(got)-2]
	if mid.Packets == 0 || mid.Exchanges == 0 || mid.Connections == 0 {
		t.Errorf("the last snapshot before the end shows nothing captured: %+v", mid)
	}
	if sum.Exchanges != int64(want) {
		t.Errorf("summary: %d exchanges, want %d", sum.Exchanges, want)
	}
	if last.Packets != sum.Packets || last.Bytes != sum.Bytes || last.Exchanges != sum.Exchanges ||
		last.Connections != sum.Connections || last.KernelReceived != sum.KernelReceived ||
		last.KernelDrops != sum.KernelDrops || last.Findings != sum.Findings || last.Analyses != sum.Analyses ||
		last.AnalysisLast != sum.AnalysisLast || last.AnalysisPaused != sum.AnalysisPaused || last.Elapsed != sum.Duration {
		t.Errorf("final progress differs from the summary:\n progress %+v\n summary  %+v", last, *sum)
	}
	if sum.Bytes == 0 || sum.Findings == 0 || sum.Analyses == 0 {
		t.Errorf("summary: %d bytes, %d findings, %d analyses", sum.Bytes, sum.Findings, sum.Analyses)
	}
	// Read every half second, the kernel's counters still cover the whole
	// capture: each packet handed on was received by the socket.
	if sum.KernelReceived < uint64(sum.Packets) {
		t.Errorf("summary: kernel received %d < %d packets captured: periodic reads lost counts", sum.KernelReceived, sum.Packets)
	}
}

// BenchmarkProgressSend: what the capture goroutine pays per snapshot
// handed to a callback that keeps up.
func BenchmarkProgressSend(b *testing.B) {
	p := startProgress(func(Progress) {})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.send(Progress{Packets: int64(i)})
	}
	b.StopTimer()
	p.finish(Progress{Final: true})
}
