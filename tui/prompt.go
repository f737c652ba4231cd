package tui

import (
	"sort"
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/corscope/corscope/internal/filter"
	"github.com/corscope/corscope/tui/sanitize"
)

type promptMode int

const (
	promptCommand promptMode = iota
	promptQuick
	promptFilter
)

// maxHistory bounds each prompt's history.
const maxHistory = 50

// history is one prompt's past entries, newest last.
type history struct {
	items []string
	pos   int // len(items) when not browsing
}

func (h *history) add(s string) {
	if s == "" || (len(h.items) > 0 && h.items[len(h.items)-1] == s) {
		h.pos = len(h.items)
		return
	}
	h.items = append(h.items, s)
	if len(h.items) > maxHistory {
		h.items = h.items[1:]
	}
	h.pos = len(h.items)
}

func (h *history) prev() (string, bool) {
	if h.pos == 0 {
		return "", false
	}
	h.pos--
	return h.items[h.pos], true
}

func (h *history) next() string {
	if h.pos < len(h.items) {
		h.pos++
	}
	if h.pos == len(h.items) {
		return ""
	}
	return h.items[h.pos]
}

// openPrompt shows the bottom input line in a mode.
func (a *app) openPrompt(mode promptMode) {
	p := a.prompt
	hist := a.histories[mode]
	hist.pos = len(hist.items)
	label := map[promptMode]string{promptCommand: ":", promptQuick: "/", promptFilter: "filter: "}[mode]
	initial := ""
	switch mode {
	case promptQuick:
		initial = a.exch.quick
	case promptFilter:
		initial = a.exch.expr
	}
	p.SetLabel(label).SetText(initial).SetFieldBackgroundColor(tcell.ColorDefault).
		SetLabelColor(tcell.ColorYellow).SetFieldTextColor(tcell.ColorWhite)
	validate := func(text string) {
		var err error
		switch mode {
		case promptFilter:
			_, err = filter.Parse(text)
		case promptQuick:
			_, err = filter.URLRegex(text)
		case promptCommand:
			if m := complete(text); len(m) > 0 && text != "" {
				a.hintBar.SetText(" [::d]" + sanitize.Line(strings.Join(m, "  "), 0) + "[::-]")
			} else {
				a.hintBar.SetText(" [::d]tab completes, enter runs, esc cancels[::-]")
			}
			return
		}
		if err != nil {
			p.SetLabelColor(tcell.ColorRed)
			a.hintBar.SetText(" [red]" + sanitize.Line(err.Error(), 0) + "[-]")
		} else {
			p.SetLabelColor(tcell.ColorGreen)
			a.hintBar.SetText(" [green]ok[-]  [::d]enter applies, up/down: history, esc cancels[::-]")
		}
	}
	p.SetChangedFunc(validate)
	validate(initial)
	p.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		switch ev.Key() {
		case tcell.KeyUp:
			if s, ok := hist.prev(); ok {
				p.SetText(s)
			}
			return nil
		case tcell.KeyDown:
			p.SetText(hist.next())
			return nil
		case tcell.KeyTab:
			if mode == promptCommand {
				if m := complete(p.GetText()); len(m) > 0 {
					p.SetText(commonPrefix(m))
				}
			}
			return nil
		}
		return ev
	})
	p.SetDoneFunc(func(key tcell.Key) {
		text := p.GetText()
		a.closePrompt()
		if key != tcell.KeyEnter {
			return
		}
		hist.add(text)
		switch mode {
		case promptCommand:
			a.command(text)
		case promptQuick:
			a.exch.setQuick(text)
		case promptFilter:
			a.exch.setExpr(text)
		}
	})
	a.bottom.SwitchToPage("prompt")
	a.tapp.SetFocus(p)
}

func (a *app) closePrompt() {
	a.bottom.SwitchToPage("message")
	a.redrawChrome()
	if a.current != nil {
		a.tapp.SetFocus(a.current)
	}
}

// complete returns the commands starting with prefix.
func complete(prefix string) []string {
	prefix = strings.TrimSpace(prefix)
	var out []string
	for _, c := range commands {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

func filterHelp() []string {
	return append(filter.OperatorHelp(),
		"!  &  |  ( )  not, and (also by juxtaposition), or, grouping",
		"word   bare words match a URL substring (case-insensitive)")
}
