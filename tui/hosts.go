package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/keys"
	"github.com/corscope/corscope/tui/sanitize"
)

// hostsView lists each host's inferred policy, with the selected host's
// allowed origins and inconsistent endpoints below.
type hostsView struct {
	*tview.Flex
	a      *app
	table  *tview.Table
	detail *tview.TextView
	list   []storage.HostPolicy
	loaded time.Time
}

func newHostsView(a *app) (*hostsView, error) {
	v := &hostsView{Flex: tview.NewFlex().SetDirection(tview.FlexRow), a: a}
	v.table = tview.NewTable().SetSelectable(true, false).SetFixed(1, 0)
	v.table.SetBorder(true)
	v.detail = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.detail.SetBorder(true).SetTitle(" policy ")
	v.table.SetSelectionChangedFunc(func(row, _ int) { v.showDetail(row) })
	v.AddItem(v.table, 0, 1, true).AddItem(v.detail, 0, 1, false)
	if err := v.load(); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *hostsView) title() string     { return "hosts" }
func (v *hostsView) scope() keys.Scope { return keys.Hosts }
func (v *hostsView) refresh(st Status) {
	// Policies change with analysis runs, not with every ingested row.
	if time.Since(v.loaded) < refreshEvery {
		return
	}
	if err := v.load(); err != nil {
		v.a.flash("hosts: " + err.Error())
	}
}

func yesNo(b bool) string {
	if b {
		return "[red]yes[-]"
	}
	return "no"
}

func (v *hostsView) load() error {
	list, err := v.a.st.HostPolicies(v.a.ctx)
	if err != nil {
		return fmt.Errorf("load host policies: %w", err)
	}
	v.list = list
	v.loaded = time.Now()
	v.table.Clear()
	for c, h := range []string{"host", "exchanges", "wildcard", "reflects any", "credentials", "vary origin", "allowed origins", "inconsistent"} {
		v.table.SetCell(0, c, tview.NewTableCell(h).SetSelectable(false).SetTextColor(tcell.ColorYellow).SetAttributes(tcell.AttrBold))
	}
	for i, h := range list {
		row := i + 1
		v.table.SetCell(row, 0, tview.NewTableCell(sanitize.Line(h.Host, 60)))
		v.table.SetCell(row, 1, tview.NewTableCell(strconv.Itoa(h.Exchanges)).SetAlign(tview.AlignRight))
		v.table.SetCell(row, 2, tview.NewTableCell(yesNo(h.Wildcard)))
		v.table.SetCell(row, 3, tview.NewTableCell(yesNo(h.ReflectAny)))
		v.table.SetCell(row, 4, tview.NewTableCell(yesNo(h.Credentials)))
		v.table.SetCell(row, 5, tview.NewTableCell(sanitize.Line(h.VaryOrigin, 10)))
		v.table.SetCell(row, 6, tview.NewTableCell(sanitize.Line(classSummary(h.AllowedOrigins), 60)).SetExpansion(1))
		v.table.SetCell(row, 7, tview.NewTableCell(strconv.Itoa(len(h.Inconsistent))).SetAlign(tview.AlignRight))
	}
	v.table.SetTitle(fmt.Sprintf(" hosts (%d) ", len(list)))
	if len(list) > 0 {
		row, _ := v.table.GetSelection()
		if row < 1 || row > len(list) {
			v.table.Select(1, 0)
		}
		row, _ = v.table.GetSelection()
		v.showDetail(row)
	} else {
		v.detail.SetText("[::d]no host policies: run corscope analyze[::-]")
	}
	return nil
}

// classSummary counts allowed origins by class, e.g. "foreign 3, same-site 1".
func classSummary(os []storage.AllowedOrigin) string {
	counts := map[string]int{}
	for _, o := range os {
		counts[o.Class]++
	}
	classes := make([]string, 0, len(counts))
	for c := range counts {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	parts := make([]string, 0, len(classes))
	for _, c := range classes {
		parts = append(parts, fmt.Sprintf("%s %d", c, counts[c]))
	}
	return strings.Join(parts, ", ")
}

func (v *hostsView) showDetail(row int) {
	if row < 1 || row > len(v.list) {
		return
	}
	h := v.list[row-1]
	var b strings.Builder
	fmt.Fprintf(&b, "[::b]%s[::-]  %d exchanges  vary origin: %s\n\n[yellow::b]Allowed origins[-::-]\n",
		sanitize.Line(h.Host, 120), h.Exchanges, sanitize.Line(h.VaryOrigin, 10))
	if len(h.AllowedOrigins) == 0 {
		b.WriteString("  (none seen)\n")
	}
	for _, o := range h.AllowedOrigins {
		cred := ""
		if o.Credentials {
			cred = "  [red]with credentials[-]"
		}
		fmt.Fprintf(&b, "  %-12s %s  (%d)%s\n", sanitize.Line(o.Class, 12), sanitize.Line(o.Origin, 120), o.Exchanges, cred)
	}
	if len(h.Inconsistent) > 0 {
		b.WriteString("\n[orange::b]Endpoints with inconsistent policies[-::-]\n")
		for _, e := range h.Inconsistent {
			fmt.Fprintf(&b, "  %s\n", sanitize.Line(e, 160))
		}
	}
	v.detail.SetText(b.String()).ScrollToBeginning()
}

func (v *hostsView) do(act keys.Action) bool {
	switch act {
	case keys.Top:
		if len(v.list) > 0 {
			v.table.Select(1, 0)
		}
	case keys.Bottom:
		if len(v.list) > 0 {
			v.table.Select(len(v.list), 0)
		}
	case keys.Down, keys.Up:
		return tableStep(v.table, act)
	case keys.Open:
		row, _ := v.table.GetSelection()
		if row >= 1 && row <= len(v.list) {
			v.a.exch.setExpr("~d " + quoteArg(hostOnly(v.list[row-1].Host)))
			v.a.showRoot(v.a.exch)
		}
	default:
		return false
	}
	return true
}

// hostOnly strips scheme and port from a serialized origin.
func hostOnly(origin string) string {
	h := origin
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i >= 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndex(h, ":"); i >= 0 {
		h = h[:i]
	}
	return h
}

// quoteArg quotes a filter argument.
func quoteArg(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
