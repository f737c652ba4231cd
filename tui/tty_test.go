package tui

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
)

// fakeTTY is a terminal made of a key channel and an output buffer, so the
// real terminfo screen (the one users get) writes its bytes where the test
// can read every one of them.
type fakeTTY struct {
	in      chan []byte
	mu      sync.Mutex
	out     bytes.Buffer
	drained chan struct{}
	once    *sync.Once
}

func newFakeTTY() *fakeTTY { return &fakeTTY{in: make(chan []byte, 64)} }

func (f *fakeTTY) Start() error {
	f.mu.Lock()
	f.drained, f.once = make(chan struct{}), new(sync.Once)
	f.mu.Unlock()
	return nil
}
func (f *fakeTTY) Stop() error { return nil }
func (f *fakeTTY) Drain() error {
	f.mu.Lock()
	d, once := f.drained, f.once
	f.mu.Unlock()
	once.Do(func() { close(d) })
	return nil
}
func (f *fakeTTY) NotifyResize(func()) {}
func (f *fakeTTY) WindowSize() (tcell.WindowSize, error) {
	return tcell.WindowSize{Width: 200, Height: 50}, nil
}
func (f *fakeTTY) Read(p []byte) (int, error) {
	f.mu.Lock()
	d := f.drained
	f.mu.Unlock()
	select {
	case b := <-f.in:
		return copy(p, b), nil
	case <-d:
		return 0, nil
	}
}
func (f *fakeTTY) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.Write(p)
}
func (f *fakeTTY) Close() error { return nil }

func (f *fakeTTY) output() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.out.Bytes()...)
}

// waitOutput polls until the terminal received sub.
func (f *fakeTTY) waitOutput(t *testing.T, sub string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !bytes.Contains(f.output(), []byte(sub)) {
		if time.Now().After(deadline) {
			t.Fatalf("terminal never received %q", sub)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fakeTTY) typeKeys(s string) {
	f.in <- []byte(s)
	time.Sleep(60 * time.Millisecond)
}

// Terminal sequences tcell itself writes: CSI, the OSC 52 clipboard, and a
// few two-byte escapes (charset, keypad, cursor save/restore).
var (
	csiRe   = regexp.MustCompile(`^\x1b\[[0-?]*[ -/]*[@-~]`)
	osc52Re = regexp.MustCompile(`^\x1b\]52;[a-z]*;[A-Za-z0-9+/=]*(\x07|\x1b\\)`)
	shortRe = regexp.MustCompile(`^\x1b([()][0B]|[=>78])`)
)

func TestNoEscapeFromTheWireReachesTheTerminal(t *testing.T) {
	t.Setenv("TERM", "xterm-256color")
	tty := newFakeTTY()
	sc, err := tcell.NewTerminfoScreenFromTty(tty)
	if err != nil {
		t.Skipf("no terminfo screen: %v", err)
	}
	st := fixtureStore(t)
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), st, Options{Screen: sc}) }()

	tty.waitOutput(t, "findings (2)")
	tty.typeKeys("2")
	tty.waitOutput(t, "exchanges (5)")
	tty.typeKeys("g")
	tty.typeKeys("\r")
	tty.waitOutput(t, "X-Note")
	tty.typeKeys("\t")
	tty.waitOutput(t, "X-Debug")
	tty.typeKeys("\t")
	tty.typeKeys("\t")
	tty.waitOutput(t, "HTTP/1.1 200 OK")
	tty.typeKeys("x")
	tty.waitOutput(t, "curl -sS -i")
	tty.typeKeys("Q")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Q did not quit")
	}

	out := tty.output()
	// The hostile values were drawn, as text.
	for _, want := range []string{`[red]INJECTED[-] \x1b[2J [:::https://evil.example/]click`, `<U+202E>`,
		`\x1b]8;;https://evil.example\x07link`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("terminal output lacks the literal text %q", want)
		}
	}
	// Every ESC starts a sequence of tcell's own grammar; the fixture's
	// "ESC [2J" would be a CSI too, so check what precedes each clear.
	kinds := map[string]int{}
	for i := 0; i < len(out); i++ {
		c := out[i]
		if c == 0x1b {
			rest := out[i:]
			var m []byte
			switch {
			case csiRe.Match(rest):
				m = csiRe.Find(rest)
				kinds["CSI "+string(m[len(m)-1])]++
				if string(m) == "\x1b[2J" && !bytes.HasSuffix(out[:i], []byte("\x1b[H")) {
					t.Errorf("a screen clear at byte %d was not tcell's (ESC[H ESC[2J): %q", i, out[max(0, i-20):i+4])
				}
			case osc52Re.Match(rest):
				m = osc52Re.Find(rest)
				kinds["OSC 52"]++
			case shortRe.Match(rest):
				m = shortRe.Find(rest)
				kinds["ESC "+string(m[1:])]++
			default:
				t.Fatalf("escape at byte %d is not one tcell writes: %q", i, rest[:min(len(rest), 40)])
			}
			i += len(m) - 1
			continue
		}
		if c < 0x20 && c != '\r' && c != '\n' && c != '\b' {
			t.Fatalf("raw control byte %#x at %d: %q", c, i, out[max(0, i-20):min(len(out), i+20)])
		}
		if c == 0x7f {
			t.Fatalf("raw DEL at %d", i)
		}
	}
	for i := 0; i < len(out); {
		r, n := utf8.DecodeRune(out[i:])
		if (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0xfeff || (r >= 0x200b && r <= 0x200f) {
			t.Fatalf("raw invisible/bidi/C1 rune %U at byte %d", r, i)
		}
		i += n
	}
	if bytes.Contains(out, []byte("\x1b]8;")) {
		t.Error("a hyperlink (OSC 8) reached the terminal")
	}
	if kinds["OSC 52"] == 0 {
		t.Error("x did not copy via OSC 52")
	}
	t.Logf("%d bytes, sequences: %v", len(out), kinds)
	if strings.Count(string(out), "INJECTED") == 0 {
		t.Error("fixture never drawn")
	}
}
