package tui

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/internal/fixture"
)

// sizedSim is a simulation screen that keeps its size across the Init that
// tview's SetScreen performs.
type sizedSim struct {
	tcell.SimulationScreen
	w, h  int
	ready chan struct{} // closed once initialised
}

func (s *sizedSim) Init() error {
	if err := s.SimulationScreen.Init(); err != nil {
		return err
	}
	s.SetSize(s.w, s.h)
	close(s.ready)
	return nil
}

// contents copies the cells under the screen's lock: GetContents returns
// the live slice that Show keeps writing.
func (s *sizedSim) contents() ([]tcell.SimCell, int, int) {
	<-s.ready
	cells, w, h := s.GetContents()
	l := s.SimulationScreen.(sync.Locker)
	l.Lock()
	defer l.Unlock()
	out := make([]tcell.SimCell, len(cells))
	for i, c := range cells {
		out[i] = tcell.SimCell{Runes: append([]rune(nil), c.Runes...), Style: c.Style}
	}
	return out, w, h
}

// waitLimit bounds every wait for the screen (generous for -race runs).
const waitLimit = 15 * time.Second

type harness struct {
	t      testing.TB
	screen *sizedSim
	done   chan error
	cancel context.CancelFunc
}

func openStore(t testing.TB) *storage.Store {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "ui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func fixtureStore(t testing.TB) *storage.Store {
	st := openStore(t)
	if err := fixture.Small(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return st
}

func start(t testing.TB, st *storage.Store, opts Options) *harness {
	t.Helper()
	sc := &sizedSim{SimulationScreen: tcell.NewSimulationScreen("UTF-8"), w: 200, h: 50, ready: make(chan struct{})}
	opts.Screen = sc
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, screen: sc, done: make(chan error, 1), cancel: cancel}
	go func() { h.done <- Run(ctx, st, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	h.waitFor("corscope")
	return h
}

// text returns the screen as lines.
func (h *harness) text() string {
	cells, w, ht := h.screen.contents()
	if len(cells) < w*ht {
		return "" // not initialised yet
	}
	var b strings.Builder
	for y := 0; y < ht; y++ {
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			if len(c.Runes) == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(string(c.Runes))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// waitFor polls until the screen shows every one of subs.
func (h *harness) waitFor(subs ...string) string {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		txt := h.text()
		ok := true
		for _, s := range subs {
			if !strings.Contains(txt, s) {
				ok = false
				break
			}
		}
		if ok {
			return txt
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("screen never showed %q; it shows:\n%s", subs, txt)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone polls until the screen no longer shows sub.
func (h *harness) waitGone(sub string) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for strings.Contains(h.text(), sub) {
		if time.Now().After(deadline) {
			h.t.Fatalf("screen still shows %q:\n%s", sub, h.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) key(k tcell.Key) { h.screen.InjectKey(k, 0, tcell.ModNone); h.settle() }

func (h *harness) runes(s string) {
	for _, r := range s {
		h.screen.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
	h.settle()
}

// settle gives the event loop time to handle injected keys (the simulation
// screen's event queue is small).
func (h *harness) settle() { time.Sleep(30 * time.Millisecond) }

// styleOf returns the style of the first cell of the first occurrence of sub.
func (h *harness) styleOf(sub string) (tcell.Style, bool) {
	cells, w, ht := h.screen.contents()
	for y := 0; y < ht; y++ {
		var line []rune
		var xs []int
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			if len(c.Runes) == 0 {
				line = append(line, ' ')
			} else {
				line = append(line, c.Runes[0])
			}
			xs = append(xs, x)
		}
		if i := strings.Index(string(line), sub); i >= 0 {
			col := len([]rune(string(line)[:i]))
			return cells[y*w+xs[col]].Style, true
		}
	}
	return tcell.StyleDefault, false
}

// quit presses Q and expects Run to return nil.
func (h *harness) quit() {
	h.t.Helper()
	h.runes("Q")
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Fatalf("Run returned %v", err)
		}
		h.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		h.t.Fatal("Q did not quit")
	}
}

// waitUntil polls until ok accepts the screen.
func (h *harness) waitUntil(what string, ok func(screen string) bool) string {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		txt := h.text()
		if ok(txt) {
			return txt
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("screen never showed %s; it shows:\n%s", what, txt)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
