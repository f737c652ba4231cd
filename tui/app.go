// Package tui is corscope's terminal UI (tview on tcell): findings,
// exchanges, exchange detail and hosts over a store, at any scale.
package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/data"
	"github.com/corscope/corscope/tui/keys"
	"github.com/corscope/corscope/tui/sanitize"
	"github.com/corscope/corscope/tui/widget"
)

// Status is what background work (ingest, live capture) reports.
type Status struct {
	Inputs, Exchanges, Findings int64
	PacketsPerSec               float64
	Drops                       int64
	Message                     string
}

// Options configure Run.
type Options struct {
	// Screen is the terminal; nil opens the real one. Tests pass a
	// tcell.SimulationScreen; Run initialises it and keeps the size it
	// already had (SetSize after Init), else it is 80x25.
	Screen tcell.Screen
	// Mouse enables mouse support from the start (off keeps terminal text
	// selection working; M toggles it).
	Mouse bool
	// Background, when set, runs in its own goroutine for the life of the
	// UI (ingest, capture); report may be called at any rate: the UI picks
	// the latest status up every 100 ms. Its ctx ends when the UI quits.
	Background func(ctx context.Context, report func(Status)) error
}

// afterDrawHook, when set (benchmarks only), runs after every frame.
var afterDrawHook func()

// batchInterval is how often background status reaches the screen.
const batchInterval = 100 * time.Millisecond

// view is one screen of the UI.
type view interface {
	tview.Primitive
	scope() keys.Scope
	title() string
	// do runs a view action; false when the view has no use for it.
	do(a keys.Action) bool
	// refresh reloads data after background work changed the store.
	refresh(st Status)
}

type app struct {
	ctx    context.Context
	st     *storage.Store
	src    *data.Source
	tapp   *tview.Application
	screen tcell.Screen
	pages  *tview.Pages
	pump   *pump

	statusLine *tview.TextView
	message    *tview.TextView
	hintBar    *tview.TextView
	prompt     *tview.InputField
	bottom     *tview.Pages // message line or prompt

	findings *findingsView
	fdetail  *findingDetailView
	exch     *exchangesView
	detail   *detailView
	hosts    *hostsView

	current view
	stack   []view
	helpOn  bool
	overlay string // name of an open overlay page ("help", "text"), "" none
	mouse   bool

	histories map[promptMode]*history

	status     Status
	msg        string
	msgExpires time.Time
	bgErr      error
}

// Run shows the UI over st until the user quits or ctx ends.
func Run(ctx context.Context, st *storage.Store, opts Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := &app{ctx: ctx, st: st, src: data.NewSource(st), tapp: tview.NewApplication(), mouse: opts.Mouse}
	a.pump = newPump(a.tapp)
	a.pump.onStatus = a.onStatus
	a.histories = map[promptMode]*history{promptCommand: {}, promptQuick: {}, promptFilter: {}}
	if opts.Screen != nil {
		// tview's SetScreen (re)initialises the screen; a simulation screen
		// comes back 80x25, so keep the size the caller gave it.
		w, h := opts.Screen.Size()
		a.tapp.SetScreen(opts.Screen)
		if sim, ok := opts.Screen.(tcell.SimulationScreen); ok && w > 0 && h > 0 {
			sim.SetSize(w, h)
		}
	}
	// Without a screen given, tview opens the terminal in Run and reports
	// its errors; the draw hook hands us the screen for the clipboard.
	a.tapp.SetBeforeDrawFunc(func(sc tcell.Screen) bool { a.screen = sc; return false })
	a.tapp.EnableMouse(opts.Mouse)
	if err := a.build(); err != nil {
		return err
	}

	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	a.tapp.SetAfterDrawFunc(func(tcell.Screen) {
		once.Do(func() { close(started) })
		if afterDrawHook != nil {
			afterDrawHook()
		}
	})
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		a.pump.run(ctx, started)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.exch.window.Run(ctx)
	}()
	if opts.Background != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := opts.Background(ctx, a.pump.report)
			if err != nil && !errors.Is(err, context.Canceled) {
				a.pump.post(func() { a.bgErr = err; a.flash("background: " + err.Error()) })
			}
		}()
	}

	err := a.tapp.Run()
	cancel()
	// The pump is the only caller of QueueUpdateDraw and it stops the app
	// itself, so it is not blocked in one here, except when the event loop
	// ended on its own (a terminal error): do not wait forever then.
	select {
	case <-pumpDone:
	case <-time.After(time.Second):
	}
	wg.Wait()
	return err
}

func (a *app) build() error {
	a.statusLine = widget.Line(tcell.ColorDarkBlue)
	a.message = widget.Line(tcell.ColorDefault)
	a.hintBar = widget.Line(tcell.ColorDefault)
	a.prompt = tview.NewInputField()
	a.bottom = tview.NewPages().AddPage("message", a.message, true, true).AddPage("prompt", a.prompt, true, false)
	a.pages = tview.NewPages()

	var err error
	if a.findings, err = newFindingsView(a); err != nil {
		return err
	}
	a.fdetail = newFindingDetailView(a)
	a.exch = newExchangesView(a)
	a.detail = newDetailView(a)
	if a.hosts, err = newHostsView(a); err != nil {
		return err
	}
	for _, v := range []view{a.findings, a.fdetail, a.exch, a.detail, a.hosts} {
		a.pages.AddPage(v.title(), v, true, false)
	}
	root := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.statusLine, 1, 0, false).
		AddItem(a.pages, 0, 1, true).
		AddItem(a.bottom, 1, 0, false).
		AddItem(a.hintBar, 1, 0, false)
	a.tapp.SetRoot(root, true)
	a.tapp.SetInputCapture(a.onKey)

	a.status.Exchanges, _ = a.st.Count(a.ctx, "exchanges")
	a.status.Inputs, _ = a.st.Count(a.ctx, "inputs")
	if len(a.findings.list) > 0 {
		a.show(a.findings, false)
	} else {
		a.show(a.exch, false)
	}
	a.exch.reload()
	return nil
}

// show switches to v; push keeps the current view for "back".
func (a *app) show(v view, push bool) {
	if a.current == v {
		return
	}
	if push && a.current != nil {
		a.stack = append(a.stack, a.current)
	}
	a.current = v
	a.pages.SwitchToPage(v.title())
	a.tapp.SetFocus(v)
	a.redrawChrome()
}

// showRoot switches to a top-level view (findings, exchanges, hosts),
// forgetting the back stack.
func (a *app) showRoot(v view) {
	a.stack = a.stack[:0]
	a.show(v, false)
}

func (a *app) back() {
	if len(a.stack) == 0 {
		return
	}
	v := a.stack[len(a.stack)-1]
	a.stack = a.stack[:len(a.stack)-1]
	a.current = nil
	a.show(v, false)
}

func (a *app) redrawChrome() {
	name := "-"
	if a.current != nil {
		name = a.current.title()
	}
	msg := a.status.Message
	if a.msg != "" && time.Now().Before(a.msgExpires) {
		if msg != "" {
			msg += " │ "
		}
		msg += a.msg
	}
	a.statusLine.SetText(widget.StatusText(name, a.status.Inputs, a.status.Exchanges, a.status.Findings,
		a.status.PacketsPerSec, a.status.Drops, sanitize.Line(msg, 120), a.exch != nil && a.exch.follow))
	if a.current != nil {
		a.hintBar.SetText(widget.HintText(keys.Hint(a.current.scope())))
	}
}

// flash shows a message in the status line for a few seconds. msg is
// sanitized here (it may quote wire data).
func (a *app) flash(msg string) {
	a.msg = msg
	a.msgExpires = time.Now().Add(5 * time.Second)
	a.redrawChrome()
}

// onKey is the one dispatcher: prompt and overlays first, then the key
// table for the current view.
func (a *app) onKey(ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() == tcell.KeyCtrlC {
		a.pump.quit()
		return nil
	}
	if a.prompt.HasFocus() {
		return ev
	}
	if a.overlay != "" {
		switch {
		case ev.Key() == tcell.KeyEscape, ev.Rune() == 'q', ev.Rune() == '?' && a.overlay == "help":
			a.closeOverlay()
			return nil
		case ev.Rune() == 'Q':
			a.pump.quit()
			return nil
		}
		return ev
	}
	if a.current == nil {
		return ev
	}
	act, ok := keys.Lookup(ev, a.current.scope())
	if !ok {
		return ev
	}
	switch act {
	case keys.Quit:
		a.pump.quit()
	case keys.Back:
		a.back()
	case keys.Help:
		a.showHelp()
	case keys.Command:
		a.openPrompt(promptCommand)
	case keys.ViewFinding:
		a.showRoot(a.findings)
	case keys.ViewExch:
		a.showRoot(a.exch)
	case keys.ViewHosts:
		a.showRoot(a.hosts)
	case keys.Mouse:
		a.mouse = !a.mouse
		a.tapp.EnableMouse(a.mouse)
		a.flash(fmt.Sprintf("mouse %s", map[bool]string{true: "on", false: "off"}[a.mouse]))
	default:
		if !a.current.do(act) {
			return ev
		}
	}
	return nil
}

// command runs a command-bar command.
func (a *app) command(cmd string) {
	switch strings.TrimSpace(cmd) {
	case "findings", "f":
		a.showRoot(a.findings)
	case "exchanges", "e", "x":
		a.showRoot(a.exch)
	case "hosts", "h":
		a.showRoot(a.hosts)
	case "q", "quit", "q!":
		a.pump.quit()
	case "help":
		a.showHelp()
	case "mouse":
		a.mouse = !a.mouse
		a.tapp.EnableMouse(a.mouse)
	case "":
	default:
		a.flash("unknown command: " + cmd)
	}
}

// Commands for the command bar, in completion order.
var commands = []string{"exchanges", "findings", "help", "hosts", "mouse", "q", "quit"}

func (a *app) showHelp() {
	scope := a.current.scope()
	var b strings.Builder
	fmt.Fprintf(&b, "[yellow::b]Keys: %s[-::-]\n", keys.ScopeName(scope))
	for _, l := range keys.HelpLines(scope) {
		b.WriteString(sanitize.Line(l, 0))
		b.WriteByte('\n')
	}
	if scope == keys.Exchanges {
		b.WriteString("\n[yellow::b]Filter expressions (f)[-::-]\n")
		for _, l := range filterHelp() {
			b.WriteString(sanitize.Line(l, 0))
			b.WriteByte('\n')
		}
	}
	b.WriteString("\n[::d]esc, q or ? closes this help[::-]")
	a.showOverlay("help", " help ", b.String())
}

// showOverlay shows markup text in a centred box.
func (a *app) showOverlay(name, title, markup string) {
	tv := tview.NewTextView().SetDynamicColors(true).SetWrap(false).SetText(markup)
	tv.SetBorder(true).SetTitle(title)
	box := tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(nil, 1, 0, false).AddItem(tv, 0, 1, true).AddItem(nil, 1, 0, false), 0, 8, true).
		AddItem(nil, 0, 1, false)
	a.pages.AddPage("overlay", box, true, true)
	a.overlay = name
	a.tapp.SetFocus(tv)
}

func (a *app) closeOverlay() {
	a.pages.RemovePage("overlay")
	a.overlay = ""
	if a.current != nil {
		a.tapp.SetFocus(a.current)
	}
}

// onStatus runs on the UI goroutine with the latest background status.
func (a *app) onStatus(st Status) {
	old := a.status
	a.status = st
	if st.Exchanges != old.Exchanges || st.Findings != old.Findings {
		for _, v := range []view{a.findings, a.exch, a.hosts} {
			v.refresh(st)
		}
	}
	a.redrawChrome()
}

// copyToClipboard posts text to the terminal clipboard (OSC 52 through
// tcell, which base64-encodes it: nothing of it reaches the terminal raw).
func (a *app) copyToClipboard(text, what string) {
	if a.screen != nil {
		a.screen.SetClipboard([]byte(text))
	}
	a.flash("copied " + what + " (OSC 52)")
}
