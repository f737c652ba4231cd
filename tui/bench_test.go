package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/corscope/corscope/internal/filter"
	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/data"
	"github.com/corscope/corscope/tui/internal/fixture"
)

const benchRows = 1_000_000

// bigStore opens a database of benchRows exchanges, built once and cached
// under os.TempDir() (building it takes a while on a small machine).
func bigStore(b *testing.B) *storage.Store {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("corscope-tui-bench-%d-v1.db", benchRows))
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".building"
		os.Remove(tmp)
		st, err := storage.Open(tmp)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := fixture.Bulk(context.Background(), st, benchRows); err != nil {
			b.Fatal(err)
		}
		st.Close()
		for _, suffix := range []string{"-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %s in %v", path, time.Since(start))
	}
	st, err := storage.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// frames counts draws through the after-draw hook.
type frames struct{ ch chan struct{} }

func hookFrames(b *testing.B) *frames {
	f := &frames{ch: make(chan struct{}, 1024)}
	afterDrawHook = func() {
		select {
		case f.ch <- struct{}{}:
		default:
		}
	}
	b.Cleanup(func() { afterDrawHook = nil })
	return f
}

func (f *frames) drain() {
	for {
		select {
		case <-f.ch:
		default:
			return
		}
	}
}

// filled reports whether the visible exchange rows are loaded: no row is
// still a placeholder (a lone "…" in the URL column).
func filled(screen string) bool {
	if !strings.Contains(screen, "https://svc") {
		return false
	}
	for _, l := range strings.Split(screen, "\n") {
		if strings.Trim(l, " ║│") == "…" {
			return false
		}
	}
	return true
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkOpenExchanges1M measures the time from Run to the first screen
// of exchange rows over a million-row database.
func BenchmarkOpenExchanges1M(b *testing.B) {
	st := bigStore(b)
	b.ReportAllocs()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		h := start(b, st, Options{})
		h.waitUntil("first rows", filled)
		total += time.Since(t0)
		h.quit()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "open-ms")
}

// BenchmarkFrameJump1M measures the frame after G, g and page down (event
// handling plus drawing) and the time until the rows are filled in.
func BenchmarkFrameJump1M(b *testing.B) {
	st := bigStore(b)
	f := hookFrames(b)
	h := start(b, st, Options{})
	h.waitUntil("first rows", filled)
	var worst, sum, fillSum time.Duration
	n := 0
	step := func(k tcell.Key, r rune) {
		f.drain()
		t0 := time.Now()
		h.screen.InjectKey(k, r, tcell.ModNone)
		select {
		case <-f.ch:
		case <-time.After(waitLimit):
			b.Fatal("no frame after a key")
		}
		dt := time.Since(t0)
		sum += dt
		worst = max(worst, dt)
		n++
		h.waitUntil("rows filled", filled)
		fillSum += time.Since(t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(tcell.KeyRune, 'G')
		step(tcell.KeyPgUp, 0)
		step(tcell.KeyRune, 'g')
		step(tcell.KeyPgDn, 0)
		step(tcell.KeyPgDn, 0)
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(sum.Microseconds())/float64(n)/1000, "frame-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-frame-ms")
	b.ReportMetric(float64(fillSum.Microseconds())/float64(n)/1000, "fill-ms")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(rssMB(), "rss-MB")
	h.quit()
}

// BenchmarkRegexFilter1M measures a URL regex filter (checked in Go) over
// the million-row database: the slowest filter the UI runs.
func BenchmarkRegexFilter1M(b *testing.B) {
	st := bigStore(b)
	src := data.NewSource(st)
	f, err := filter.Parse(`~u "svc1[0-9]\\.example\\.com/api/v1/items/[0-9]*7$"`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ids, err := src.IDs(context.Background(), f, data.Sort{Column: data.ColTime}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(ids) != 20000 {
			b.Fatalf("%d rows", len(ids))
		}
	}
}
