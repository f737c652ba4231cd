package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/corscope/corscope/analyze/catalog"
	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/data"
	"github.com/corscope/corscope/tui/keys"
	"github.com/corscope/corscope/tui/sanitize"
)

// severityColor is each severity's colour.
func severityColor(rank int) tcell.Color {
	switch rank {
	case 5:
		return tcell.ColorFuchsia
	case 4:
		return tcell.ColorRed
	case 3:
		return tcell.ColorOrange
	case 2:
		return tcell.ColorYellow
	}
	return tcell.ColorSilver
}

// findingsView lists findings grouped by severity, then rule.
type findingsView struct {
	*tview.Table
	a     *app
	list  []storage.Finding
	rowOf []int // table row → index in list; -1 for group headers
	count int64
}

func newFindingsView(a *app) (*findingsView, error) {
	v := &findingsView{Table: tview.NewTable(), a: a}
	v.SetSelectable(true, false).SetFixed(1, 0)
	v.SetBorder(true)
	v.SetSelectedFunc(func(row, _ int) { v.do(keys.Open) })
	if err := v.load(); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *findingsView) title() string     { return "findings" }
func (v *findingsView) scope() keys.Scope { return keys.Findings }
func (v *findingsView) refresh(st Status) {
	if st.Findings != v.count {
		if err := v.load(); err != nil {
			v.a.flash("findings: " + err.Error())
		}
	}
}

func (v *findingsView) load() error {
	list, err := v.a.st.Findings(v.a.ctx)
	if err != nil {
		return fmt.Errorf("load findings: %w", err)
	}
	v.list = list
	v.count = int64(len(list))
	v.a.status.Findings = v.count
	v.Clear()
	v.rowOf = v.rowOf[:0]
	for c, h := range []string{"severity", "rule", "endpoint", "origin class", "exchanges", "title"} {
		v.SetCell(0, c, tview.NewTableCell(h).SetSelectable(false).SetAttributes(tcell.AttrBold).SetTextColor(tcell.ColorYellow))
	}
	v.rowOf = append(v.rowOf, -1)
	lastSev := ""
	for i := range list {
		f := &list[i]
		rank := storage.SeverityRank(f.Severity)
		if f.Severity != lastSev {
			n := 0
			for j := i; j < len(list) && list[j].Severity == f.Severity; j++ {
				n++
			}
			row := len(v.rowOf)
			v.SetCell(row, 0, tview.NewTableCell(fmt.Sprintf("▼ %s (%d)", strings.ToUpper(sanitize.Line(f.Severity, 10)), n)).
				SetSelectable(false).SetTextColor(severityColor(rank)).SetAttributes(tcell.AttrBold))
			for c := 1; c < 6; c++ {
				v.SetCell(row, c, tview.NewTableCell("").SetSelectable(false))
			}
			v.rowOf = append(v.rowOf, -1)
			lastSev = f.Severity
		}
		row := len(v.rowOf)
		v.SetCell(row, 0, tview.NewTableCell("  "+sanitize.Line(f.Severity, 10)).SetTextColor(severityColor(rank)))
		v.SetCell(row, 1, tview.NewTableCell(sanitize.Line(f.Rule, 48)))
		v.SetCell(row, 2, tview.NewTableCell(sanitize.Line(f.Endpoint, 60)))
		v.SetCell(row, 3, tview.NewTableCell(sanitize.Line(f.OriginClass, 16)))
		v.SetCell(row, 4, tview.NewTableCell(strconv.Itoa(len(f.Exchanges))).SetAlign(tview.AlignRight))
		v.SetCell(row, 5, tview.NewTableCell(sanitize.Line(f.Title, 60)).SetExpansion(1))
		v.rowOf = append(v.rowOf, i)
	}
	v.SetTitle(fmt.Sprintf(" findings (%d) ", len(list)))
	if len(list) > 0 {
		v.Select(2, 0)
	}
	return nil
}

func (v *findingsView) selected() *storage.Finding {
	row, _ := v.GetSelection()
	if row < 0 || row >= len(v.rowOf) || v.rowOf[row] < 0 {
		return nil
	}
	return &v.list[v.rowOf[row]]
}

func (v *findingsView) do(act keys.Action) bool {
	switch act {
	case keys.Open:
		if f := v.selected(); f != nil {
			v.a.fdetail.open(f)
			v.a.show(v.a.fdetail, true)
		}
	case keys.Top:
		if len(v.rowOf) > 2 {
			v.Select(2, 0)
			v.ScrollToBeginning()
		}
	case keys.Bottom:
		v.Select(len(v.rowOf)-1, 0)
	case keys.Down, keys.Up:
		return tableStep(v.Table, act)
	default:
		return false
	}
	return true
}

// tableStep moves a table's selection by one selectable row.
func tableStep(t *tview.Table, act keys.Action) bool {
	k := tcell.KeyDown
	if act == keys.Up {
		k = tcell.KeyUp
	}
	t.InputHandler()(tcell.NewEventKey(k, 0, tcell.ModNone), func(tview.Primitive) {})
	return true
}

// findingDetailView shows one finding: explanation, remediation, evidence
// and the exchanges that prove it.
type findingDetailView struct {
	*tview.Flex
	a     *app
	text  *tview.TextView
	table *tview.Table
	f     *storage.Finding
	ids   []int64
}

// maxSupporting bounds the exchanges listed under a finding.
const maxSupporting = 1000

func newFindingDetailView(a *app) *findingDetailView {
	v := &findingDetailView{Flex: tview.NewFlex().SetDirection(tview.FlexRow), a: a}
	v.text = tview.NewTextView().SetDynamicColors(true).SetWrap(true).SetWordWrap(true)
	v.text.SetBorder(true)
	v.table = tview.NewTable().SetSelectable(true, false).SetFixed(1, 0)
	v.table.SetBorder(true).SetTitle(" supporting exchanges (enter opens) ")
	v.table.SetSelectedFunc(func(int, int) { v.do(keys.Open) })
	v.AddItem(v.text, 0, 3, false).AddItem(v.table, 0, 2, true)
	return v
}

func (v *findingDetailView) title() string     { return "finding" }
func (v *findingDetailView) scope() keys.Scope { return keys.FindingDetail }
func (v *findingDetailView) refresh(Status)    {}

func (v *findingDetailView) open(f *storage.Finding) {
	v.f = f
	rank := storage.SeverityRank(f.Severity)
	var b strings.Builder
	color := severityColor(rank).String()
	fmt.Fprintf(&b, "[%s::b]%s[-::-]  [::b]%s[::-]  %s\n", color, strings.ToUpper(sanitize.Line(f.Severity, 10)),
		sanitize.Line(f.Rule, 60), sanitize.Line(f.Title, 100))
	fmt.Fprintf(&b, "endpoint [::b]%s[::-]  method %s  origin %s (%s)",
		sanitize.Line(f.Endpoint, 100), sanitize.Line(f.Method, 10), sanitize.Line(f.Origin, 80), sanitize.Line(f.OriginClass, 20))
	if f.CWE != 0 {
		fmt.Fprintf(&b, "  CWE-%d", f.CWE)
	}
	b.WriteString("\n")
	if f.Suppressed != "" {
		fmt.Fprintf(&b, "[::d]suppressed: %s[::-]\n", sanitize.Line(f.Suppressed, 120))
	}
	if f.Detail != "" {
		fmt.Fprintf(&b, "\n%s\n", sanitize.Line(f.Detail, 400))
	}
	b.WriteString("\n[yellow::b]Evidence[-::-]\n")
	for _, e := range f.Evidence {
		fmt.Fprintf(&b, "  [black:yellow]%s[-:-]\n", sanitize.Line(e, 200))
	}
	if r, ok := catalog.Lookup(f.Rule); ok {
		section := func(name, text string) {
			if text != "" {
				fmt.Fprintf(&b, "\n[yellow::b]%s[-::-]\n%s\n", name, sanitize.Line(text, 0))
			}
		}
		section("What", r.Summary)
		section("Why it matters", r.Why)
		section("Exploit", r.Exploit)
		section("Remediation", r.Fix)
		if len(r.References) > 0 {
			b.WriteString("\n[yellow::b]References[-::-]\n")
			for _, ref := range r.References {
				fmt.Fprintf(&b, "  %s\n", sanitize.Line(ref, 200))
			}
		}
	} else if f.Remediation != "" {
		fmt.Fprintf(&b, "\n[yellow::b]Remediation[-::-]\n%s\n", sanitize.Line(f.Remediation, 0))
	}
	v.text.SetText(b.String()).ScrollToBeginning()
	v.text.SetTitle(" " + sanitize.Line(f.Rule, 60) + " ")

	v.ids = f.Exchanges
	if len(v.ids) > maxSupporting {
		v.ids = v.ids[:maxSupporting]
	}
	v.table.Clear()
	for c, h := range []string{"#", "method", "url", "status", "origin", "acao", "acac", "pair"} {
		v.table.SetCell(0, c, tview.NewTableCell(h).SetSelectable(false).SetTextColor(tcell.ColorYellow).SetAttributes(tcell.AttrBold))
	}
	rows, err := v.a.src.Rows(v.a.ctx, v.ids)
	if err != nil {
		v.a.flash("supporting exchanges: " + err.Error())
	}
	for i, r := range rows {
		for c, col := range []data.Column{data.ColID, data.ColMethod, data.ColURL, data.ColStatus, data.ColOrigin, data.ColACAO, data.ColACAC, data.ColPair} {
			cell := tview.NewTableCell(r.Cells[col])
			if col == data.ColURL {
				cell.SetExpansion(1)
			}
			v.table.SetCell(i+1, c, cell)
		}
	}
	title := fmt.Sprintf(" supporting exchanges: %d (enter opens) ", len(f.Exchanges))
	if len(f.Exchanges) > len(v.ids) {
		title = fmt.Sprintf(" supporting exchanges: first %d of %d (enter opens) ", len(v.ids), len(f.Exchanges))
	}
	v.table.SetTitle(title)
	v.table.Select(1, 0)
	v.a.tapp.SetFocus(v.table)
}

func (v *findingDetailView) do(act keys.Action) bool {
	switch act {
	case keys.Open:
		row, _ := v.table.GetSelection()
		if row >= 1 && row-1 < len(v.ids) {
			v.a.detail.open(v.ids[row-1])
			v.a.show(v.a.detail, true)
		}
	case keys.NextTab, keys.PrevTab:
		if v.text.HasFocus() {
			v.a.tapp.SetFocus(v.table)
		} else {
			v.a.tapp.SetFocus(v.text)
		}
	case keys.Top:
		if v.text.HasFocus() {
			v.text.ScrollToBeginning()
		} else if len(v.ids) > 0 {
			v.table.Select(1, 0)
		}
	case keys.Bottom:
		if v.text.HasFocus() {
			v.text.ScrollToEnd()
		} else if len(v.ids) > 0 {
			v.table.Select(len(v.ids), 0)
		}
	case keys.Copy:
		if v.f != nil {
			v.a.copyToClipboard(v.f.Rule+" "+v.f.Endpoint+"\n"+strings.Join(v.f.Evidence, "\n"), "finding")
		}
	case keys.Down, keys.Up:
		if v.text.HasFocus() {
			row, col := v.text.GetScrollOffset()
			if act == keys.Down {
				row++
			} else if row > 0 {
				row--
			}
			v.text.ScrollTo(row, col)
			return true
		}
		return tableStep(v.table, act)
	default:
		return false
	}
	return true
}

// Focus keeps focus on the active pane when the view is shown.
func (v *findingDetailView) Focus(delegate func(p tview.Primitive)) {
	if v.text.HasFocus() {
		delegate(v.text)
		return
	}
	delegate(v.table)
}
