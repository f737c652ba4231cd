// Package widget holds the small building blocks the views share: the
// status line, the key hint bar, the prompt and the tab bar.
package widget

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// Line is a one-line TextView that parses style tags (callers pass
// sanitized text only).
func Line(bg tcell.Color) *tview.TextView {
	tv := tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	tv.SetBackgroundColor(bg)
	return tv
}

// StatusText renders the status line.
func StatusText(view string, inputs, exchanges, findings int64, pps float64, drops int64, message string, follow bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[::b] corscope [::-] %s │ inputs %d │ exchanges %d │ findings %d", view, inputs, exchanges, findings)
	if pps > 0 {
		fmt.Fprintf(&b, " │ %.0f pkt/s", pps)
	}
	if drops > 0 {
		fmt.Fprintf(&b, " │ [red]drops %d[-]", drops)
	}
	if follow {
		b.WriteString(" │ [green]follow[-]")
	}
	if message != "" {
		b.WriteString(" │ " + message)
	}
	return b.String()
}

// HintText renders "label action" pairs with the labels highlighted.
func HintText(hint string) string {
	parts := strings.Split(hint, "  ")
	for i, p := range parts {
		label, action, ok := strings.Cut(p, " ")
		if !ok {
			continue
		}
		// Labels are our own key names; '[' must not open a tag.
		label = strings.ReplaceAll(label, "[", "[[:]")
		parts[i] = "[yellow::b]" + label + "[-::-] " + action
	}
	return " " + strings.Join(parts, "  ")
}

// Tabs renders a tab bar with the active tab highlighted.
func Tabs(names []string, active int) string {
	var b strings.Builder
	for i, n := range names {
		if i == active {
			fmt.Fprintf(&b, " [black:yellow:b] %s [-:-:-]", n)
		} else {
			fmt.Fprintf(&b, "  %s ", n)
		}
	}
	return b.String()
}
