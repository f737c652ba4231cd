package h2

import (
	"fmt"
	"strings"
	"testing"

	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
)

const capCause = "bytes skipped at a cap"

func countWarning(x *storage.Exchange, w string) int {
	n := 0
	for _, s := range x.Warnings {
		if s == w {
			n++
		}
	}
	return n
}

// A LimitGap inside a DATA frame flags that stream only; one that takes a
// header block flags the open streams and the block it left undecodable.
func TestLimitGapFlagsTheStreamsItDamages(t *testing.T) {
	t.Run("inside DATA", func(t *testing.T) {
		w := newWire().start()
		w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/one")
		w.headers(s2c, 1, false, ":status", "200")
		w.data(s2c, 1, true, make([]byte, 3000))
		w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/two")
		w.headers(s2c, 3, true, ":status", "204")
		var got []*storage.Exchange
		p := NewParser(Options{}, testMeta, func(e *storage.Exchange) { got = append(got, e) })
		for i, s := range w.steps {
			if i == 4 {
				p.Feed(s.dir, http1.Segment{Data: s.data[:1000], Time: t0})
				p.LimitGap(s.dir, 1000, t0, capCause)
				p.Feed(s.dir, http1.Segment{Data: s.data[2000:], Time: t0})
				continue
			}
			p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0})
		}
		p.Close(t0)
		m := byStream(got)
		if countWarning(m[1], capCause) != 1 || !hasWarning(m[1], http1.WarnRespBodyGap) || countWarning(m[3], capCause) != 0 {
			t.Fatalf("stream 1 %q, stream 3 %q", m[1].Warnings, m[3].Warnings)
		}
	})
	t.Run("across a header block", func(t *testing.T) {
		w := newWire().start()
		w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/one", "x-t", "v")
		w.headers(s2c, 1, true, ":status", "200")
		w.headers(c2s, 3, false, ":method", "POST", ":scheme", "http", ":authority", "a.example", ":path", "/two", "x-t", "v")
		w.headers(c2s, 5, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/three", "x-new", "w")
		w.data(c2s, 3, true, []byte("body"))
		w.headers(c2s, 7, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/four", "x-new", "w")
		w.headers(s2c, 3, true, ":status", "201")
		w.headers(s2c, 5, true, ":status", "202")
		w.headers(s2c, 7, true, ":status", "203")
		var got []*storage.Exchange
		p := NewParser(Options{}, testMeta, func(e *storage.Exchange) { got = append(got, e) })
		for i, s := range w.steps {
			if i == 5 { // stream 5's request headers (which add x-new to the table)
				p.LimitGap(s.dir, len(s.data), t0, capCause)
				continue
			}
			p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0})
		}
		p.Close(t0)
		m := byStream(got)
		if countWarning(m[1], capCause) != 0 {
			t.Errorf("stream 1 completed before the gap: %q", m[1].Warnings)
		}
		// Stream 3's request body was in flight: frames lost.
		if countWarning(m[3], capCause) != 1 || !hasWarning(m[3], WarnFramesLost) {
			t.Errorf("stream 3: %q", m[3].Warnings)
		}
		// Stream 5's request went with the gap: its answer still comes out.
		if x := m[5]; x == nil || x.Status != 202 || !hasWarning(x, http1.WarnRequestMissing) || countWarning(x, capCause) != 1 {
			t.Errorf("stream 5: %+v", x)
		}
		// Stream 7's block refers to the x-new entry the gap took.
		if x := m[7]; x == nil || countWarning(x, capCause) != 1 || !hasWarning(x, WarnHPACKUnknownGap) {
			t.Errorf("stream 7: %+v", x)
		}
	})
}

func TestHeaderFieldOverTheStringCapIsNamed(t *testing.T) {
	w := newWire().start()
	w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/ok")
	w.headers(s2c, 1, true, ":status", "200")
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/big", "cookie", strings.Repeat("c", 5000))
	w.headers(s2c, 3, true, ":status", "200")
	w.headers(c2s, 5, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/after")
	w.headers(s2c, 5, true, ":status", "200")
	p, got := run(Options{MaxHeaderBytes: 4096}, w.steps)
	m := byStream(got)
	capWarn := fmt.Sprintf(WarnFieldCapFmt, 4096)
	if countWarning(m[3], capWarn) != 1 {
		t.Errorf("stream 3: %q", m[3].Warnings)
	}
	if len(m[1].Warnings) != 0 {
		t.Errorf("stream 1: %q", m[1].Warnings)
	}
	if p.Stats().HeaderBlocksOverCap != 1 {
		t.Errorf("stats %+v", p.Stats())
	}
	// Stream 5 reuses entries of a context the failure left unknown.
	if x := m[5]; x == nil || countWarning(x, WarnCapEarlierPrefix+capWarn) != 1 {
		t.Errorf("stream 5: %q", x.Warnings)
	}
}

func TestHeaderTableOverTheCapIsNamed(t *testing.T) {
	w := newWire()
	w.out[c2s].WriteString(Preface)
	w.fr[c2s].WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 1 << 20})
	w.take(c2s)
	w.fr[s2c].WriteSettings()
	w.take(s2c)
	w.headers(c2s, 1, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/t")
	w.headers(s2c, 1, true, ":status", "200")
	w.enc[s2c].SetMaxDynamicTableSizeLimit(1 << 20)
	w.enc[s2c].SetMaxDynamicTableSize(1 << 20) // the next block starts with a size update
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/t")
	w.headers(s2c, 3, true, ":status", "200")
	p, got := run(Options{MaxTableSize: 64 << 10}, w.steps)
	m := byStream(got)
	capWarn := fmt.Sprintf(WarnTableCapFmt, 64<<10)
	if len(m[1].Warnings) != 0 || countWarning(m[3], capWarn) != 1 || p.Stats().HeaderBlocksOverCap != 1 {
		t.Fatalf("stream 1 %q, stream 3 %q, stats %+v", m[1].Warnings, m[3].Warnings, p.Stats())
	}
	// The default cap allows what browsers announce (64 KiB) but not 1 MiB.
	_, got = run(Options{MaxTableSize: 2 << 20}, w.steps)
	for _, x := range got {
		if len(x.Warnings) != 0 {
			t.Fatalf("under the cap: stream %d %q", x.StreamID, x.Warnings)
		}
	}
}

func TestHeaderCountCapSaysHowManyWereSkipped(t *testing.T) {
	w := newWire().start()
	kv := getWithHeaders("/x", 50)
	w.headers(c2s, 1, true, kv...)
	w.headers(s2c, 1, true, ":status", "200")
	w.headers(c2s, 3, true, ":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/y")
	w.headers(s2c, 3, true, ":status", "200")
	_, got := run(Options{MaxHeaders: 10}, w.steps)
	m := byStream(got)
	if countWarning(m[1], "header fields over the cap of 10 skipped: 44") != 1 || len(m[3].Warnings) != 0 {
		t.Fatalf("stream 1 %q, stream 3 %q", m[1].Warnings, m[3].Warnings)
	}
}

func TestSeenWindowTellsLostRequestsFromFinishedStreams(t *testing.T) {
	p := NewParser(Options{}, testMeta, func(*storage.Exchange) {})
	p.advanceClient(1)
	p.markSeen(1)
	p.advanceClient(3)
	p.markSeen(3)
	if !p.seenOrForgotten(1) || !p.seenOrForgotten(3) {
		t.Fatal("seen streams forgotten")
	}
	p.advanceClient(5001) // 5..4999 skipped: unseen as far as remembered
	p.markSeen(5001)
	for id, want := range map[uint32]bool{1: true, 3: true, 2951: true, 2955: false, 4999: false, 5001: true} {
		if got := p.seenOrForgotten(id); got != want {
			t.Errorf("stream %d: seen or forgotten %v, want %v", id, got, want)
		}
	}
	p.markSeen(4999)
	if !p.seenOrForgotten(4999) || p.seenOrForgotten(4997) {
		t.Error("marking one id touched another")
	}
}
