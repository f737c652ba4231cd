// Package keys is the UI's one key table: dispatch, the ? help and the hint
// bar are all generated from Bindings, so they cannot drift apart.
package keys

import (
	"strings"

	"github.com/gdamore/tcell/v2"
)

// Scope names where a binding applies.
type Scope uint16

// Scopes. A binding's Scopes is a bit set of these.
const (
	Findings Scope = 1 << iota
	FindingDetail
	Exchanges
	Detail
	Hosts
	Global Scope = 1<<iota - 1
)

// ScopeName returns the view name used in help titles.
func ScopeName(s Scope) string {
	switch s {
	case Findings:
		return "findings"
	case FindingDetail:
		return "finding"
	case Exchanges:
		return "exchanges"
	case Detail:
		return "exchange detail"
	case Hosts:
		return "hosts"
	}
	return "all views"
}

// Action is what a key does; the application maps actions to code.
type Action string

// Actions.
const (
	Quit        Action = "quit"
	Back        Action = "back"
	Help        Action = "help"
	Command     Action = "command"
	QuickFilter Action = "quick-filter"
	Filter      Action = "filter"
	Top         Action = "top"
	Bottom      Action = "bottom"
	Down        Action = "down"
	Up          Action = "up"
	Open        Action = "open"
	Follow      Action = "follow"
	Mark        Action = "mark"
	Copy        Action = "copy"
	Curl        Action = "curl"
	Sort        Action = "sort"
	SortReverse Action = "reverse"
	Pair        Action = "pair"
	NextTab     Action = "next-tab"
	PrevTab     Action = "prev-tab"
	Mouse       Action = "mouse"
	ViewFinding Action = "view-findings"
	ViewExch    Action = "view-exchanges"
	ViewHosts   Action = "view-hosts"
)

// Binding is one key.
type Binding struct {
	Key    tcell.Key // tcell.KeyRune for printable keys
	Rune   rune
	Label  string // as shown in help, e.g. "esc/q"
	Action Action
	Scopes Scope
	Help   string
	Hint   bool // shown in the one-line hint bar
}

// Bindings is the key table. Order is help order. Aliases (several keys
// for one action) share a Label on their first entry; later ones have "".
var Bindings = []Binding{
	{tcell.KeyRune, '?', "?", Help, Global, "help for this view", true},
	{tcell.KeyRune, ':', ":", Command, Global, "command bar (:findings :exchanges :hosts :q), tab completes", true},
	{tcell.KeyRune, 'Q', "Q", Quit, Global, "quit", true},
	{tcell.KeyEscape, 0, "esc/q", Back, Global, "back to the previous view", true},
	{tcell.KeyRune, 'q', "", Back, Global, "", false},
	{tcell.KeyRune, '1', "1", ViewFinding, Global, "findings view", false},
	{tcell.KeyRune, '2', "2", ViewExch, Global, "exchanges view", false},
	{tcell.KeyRune, '3', "3", ViewHosts, Global, "hosts view", false},
	{tcell.KeyRune, '/', "/", QuickFilter, Exchanges, "quick filter: regex on the URL, leading ! inverts", true},
	{tcell.KeyRune, 'f', "f", Filter, Exchanges, "filter expression (~m ~u ~d ~c ~origin ~h ~hq ~hs ~cred ~pf ~sev ~rule ! & | ( )), up/down: history", true},
	{tcell.KeyRune, 'g', "g", Top, Findings | FindingDetail | Exchanges | Detail | Hosts, "first row / top", false},
	{tcell.KeyRune, 'G', "G", Bottom, Findings | FindingDetail | Exchanges | Detail | Hosts, "last row / bottom", false},
	{tcell.KeyRune, 'j', "j/k", Down, Findings | FindingDetail | Exchanges | Detail | Hosts, "down / up", false},
	{tcell.KeyRune, 'k', "", Up, Findings | FindingDetail | Exchanges | Detail | Hosts, "", false},
	{tcell.KeyEnter, 0, "enter", Open, Findings | FindingDetail | Exchanges | Hosts, "open the selected row", true},
	{tcell.KeyRune, 'F', "F", Follow, Exchanges, "follow new rows (live capture, background ingest)", true},
	{tcell.KeyRune, 'm', "m", Mark, Exchanges, "mark / unmark the exchange", true},
	{tcell.KeyRune, 'o', "o", Sort, Exchanges, "sort by the next column (time, method, url, status, origin, #)", true},
	{tcell.KeyRune, 'O', "O", SortReverse, Exchanges, "reverse the sort order", false},
	{tcell.KeyRune, 'y', "y", Copy, Exchanges | Detail | FindingDetail, "copy the URL (or the finding) to the clipboard via OSC 52", true},
	{tcell.KeyRune, 'x', "x", Curl, Exchanges | Detail, "export as curl commands (with the preflight), copied via OSC 52", true},
	{tcell.KeyRune, 'p', "p", Pair, Exchanges | Detail, "jump between a preflight and its actual request", true},
	{tcell.KeyTab, 0, "tab/]", NextTab, Detail | FindingDetail, "next tab / pane", true},
	{tcell.KeyRune, ']', "", NextTab, Detail | FindingDetail, "", false},
	{tcell.KeyBacktab, 0, "S-tab/[", PrevTab, Detail | FindingDetail, "previous tab / pane", false},
	{tcell.KeyRune, '[', "", PrevTab, Detail | FindingDetail, "", false},
	{tcell.KeyRune, 'M', "M", Mouse, Global, "toggle mouse support (off keeps terminal text selection)", false},
}

// Lookup returns the action bound to ev in scope, if any.
func Lookup(ev *tcell.EventKey, scope Scope) (Action, bool) {
	for _, b := range Bindings {
		if b.Scopes&scope == 0 {
			continue
		}
		if ev.Key() != b.Key {
			continue
		}
		if b.Key == tcell.KeyRune && ev.Rune() != b.Rune {
			continue
		}
		if b.Key == tcell.KeyRune && ev.Modifiers()&(tcell.ModAlt|tcell.ModCtrl) != 0 {
			continue
		}
		return b.Action, true
	}
	return "", false
}

// HelpLines returns "label  help" lines for scope: the view's own keys
// first, then the global ones.
func HelpLines(scope Scope) []string {
	var own, global []string
	for _, b := range Bindings {
		if b.Label == "" || b.Scopes&scope == 0 {
			continue
		}
		line := padRight(b.Label, 9) + b.Help
		if b.Scopes == Global {
			global = append(global, line)
		} else {
			own = append(own, line)
		}
	}
	return append(own, global...)
}

// Hint returns the hint bar text for scope: "label action" pairs.
func Hint(scope Scope) string {
	var parts []string
	for _, b := range Bindings {
		if !b.Hint || b.Scopes&scope == 0 {
			continue
		}
		parts = append(parts, b.Label+" "+string(b.Action))
	}
	return strings.Join(parts, "  ")
}

func padRight(s string, n int) string {
	if len(s) >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-len(s))
}
