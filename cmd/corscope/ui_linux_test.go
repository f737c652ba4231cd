//go:build linux

package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/corscope/corscope/capture/live"
	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui"
)

// simScreen is a simulation screen of a set size that says when the UI
// has initialised it (tview's SetScreen does, resizing it to 80x25).
type simScreen struct {
	tcell.SimulationScreen
	w, h  int
	ready chan struct{}
	once  sync.Once
}

func (s *simScreen) Init() error {
	if err := s.SimulationScreen.Init(); err != nil {
		return err
	}
	s.SetSize(s.w, s.h)
	s.once.Do(func() { close(s.ready) })
	return nil
}

// text returns the screen's cells as lines, copied under its lock (Show
// keeps writing them).
func (s *simScreen) text() string {
	select {
	case <-s.ready:
	case <-time.After(100 * time.Millisecond):
		return "" // not initialised yet
	}
	cells, w, h := s.GetContents() // takes the lock itself, returns the live cells
	l := s.SimulationScreen.(sync.Locker)
	l.Lock()
	defer l.Unlock()
	var b strings.Builder
	for y := 0; y < h && (y+1)*w <= len(cells); y++ {
		for _, c := range cells[y*w : (y+1)*w] {
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

// TestUIFollowCaptureShowsPacketRate runs 'ui -i lo' as the command does
// (tui.Run with followCapture in the background), on a simulated screen,
// while a client talks HTTP over lo: the status line shows the packet rate
// and the drops, and the captured exchanges are counted.
func TestUIFollowCaptureShowsPacketRate(t *testing.T) {
	if s, err := live.Open(live.SourceConfig{Interface: "lo"}); err != nil {
		if strings.Contains(err.Error(), "not permitted") {
			t.Skipf("live capture on lo not permitted here (%v): run as root or with CAP_NET_RAW", err)
		}
		t.Fatalf("open lo: %v", err)
	} else {
		s.Close()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	st, err := storage.Open(filepath.Join(t.TempDir(), "ui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	sc := &simScreen{SimulationScreen: tcell.NewSimulationScreen("UTF-8"), w: 200, h: 30, ready: make(chan struct{})}
	lc := live.Config{
		Source: live.SourceConfig{Interface: "lo", Filter: live.Filter{Ports: []uint16{uint16(port)}}},
		Store:  st,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- tui.Run(ctx, st, tui.Options{Screen: sc, Background: func(ctx context.Context, report func(tui.Status)) error {
			return followCapture(ctx, st, lc, "lo", report)
		}})
	}()

	// Steady traffic until the status line shows it.
	stopTraffic := make(chan struct{})
	var traffic sync.WaitGroup
	traffic.Add(1)
	go func() {
		defer traffic.Done()
		client := &http.Client{Timeout: 2 * time.Second}
		for {
			select {
			case <-stopTraffic:
				return
			case <-time.After(10 * time.Millisecond):
			}
			req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
			req.Header.Set("Origin", "https://evil.example")
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	rate := regexp.MustCompile(`│ ([1-9][0-9]*) pkt/s │ capturing on lo: ([1-9][0-9]*) pkt/s, 0 dropped`)
	counted := regexp.MustCompile(`│ exchanges [1-9][0-9]* │`)
	var scr string
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr = sc.text()
		if m := rate.FindStringSubmatch(scr); m != nil && m[1] == m[2] && counted.MatchString(scr) {
			break
		}
		if time.Now().After(deadline) {
			close(stopTraffic)
			t.Fatalf("no packet rate in the status line within 15 s; screen:\n%s", scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, line := range strings.Split(scr, "\n") {
		if strings.Contains(line, "capturing on lo") {
			t.Logf("status line: %s", strings.TrimSpace(line))
		}
	}
	close(stopTraffic)
	traffic.Wait()
	cancel()
	select {
	case err := <-done:
		if err != nil && err != context.Canceled {
			t.Fatalf("ui: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ui did not return after its context ended")
	}
}
