package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/corscope/corscope/internal/filter"
	"github.com/corscope/corscope/tui/data"
	"github.com/corscope/corscope/tui/keys"
)

// refreshEvery throttles id-list reloads while background work adds rows.
const refreshEvery = time.Second

// exchangesView is the virtual exchanges table over the window cache.
type exchangesView struct {
	*tview.Table
	a       *app
	window  *data.Window
	content *exchangeContent

	quick, expr string // the quick filter and the filter expression
	filter      *filter.Expr
	order       data.Sort
	follow      bool
	marked      map[int64]bool

	loading     context.CancelFunc
	loadGen     int
	lastReload  time.Time
	lastCost    time.Duration // how long the last id list took
	reloadLater bool
}

func newExchangesView(a *app) *exchangesView {
	v := &exchangesView{Table: tview.NewTable(), a: a, marked: map[int64]bool{},
		order: data.Sort{Column: data.ColTime}}
	v.window = data.NewWindow(a.src, a.pump.post)
	v.content = &exchangeContent{v: v}
	v.SetContent(v.content)
	v.SetSelectable(true, false).SetFixed(1, 0)
	v.SetBorder(true)
	v.SetSelectedFunc(func(int, int) { v.do(keys.Open) })
	v.SetSelectionChangedFunc(func(row, _ int) {
		if row >= 1 {
			v.window.Prefetch(row - 1)
		}
	})
	v.SetMouseCapture(func(action tview.MouseAction, ev *tcell.EventMouse) (tview.MouseAction, *tcell.EventMouse) {
		if action == tview.MouseLeftClick {
			x, y := ev.Position()
			bx, by, _, _ := v.GetInnerRect()
			if y == by {
				v.sortByClick(x - bx)
				return tview.MouseConsumed, nil
			}
		}
		return action, ev
	})
	v.updateTitle()
	return v
}

func (v *exchangesView) title() string     { return "exchanges" }
func (v *exchangesView) scope() keys.Scope { return keys.Exchanges }

// refresh reloads the id list when background work added exchanges, at
// most once per refreshEvery, and never spending more than a fifth of the
// time on it (a million-row list takes a few hundred ms to read).
func (v *exchangesView) refresh(Status) {
	every := max(refreshEvery, 5*v.lastCost)
	if time.Since(v.lastReload) >= every {
		v.reload()
		return
	}
	if !v.reloadLater {
		v.reloadLater = true
		time.AfterFunc(every-time.Since(v.lastReload), func() {
			v.a.pump.post(func() {
				v.reloadLater = false
				v.reload()
			})
		})
	}
}

// reload recomputes the id list in the background (cancelling a previous
// one) and installs it through the pump.
func (v *exchangesView) reload() {
	if v.loading != nil {
		v.loading()
	}
	ctx, cancel := context.WithCancel(v.a.ctx)
	v.loading = cancel
	v.loadGen++
	gen := v.loadGen
	v.lastReload = time.Now()
	f, order := v.filter, v.order
	if f != nil && !f.Exact() {
		v.a.flash("filtering…")
	}
	go func() {
		t0 := time.Now()
		last := t0
		progress := func(checked int) {
			if time.Since(last) >= 200*time.Millisecond {
				last = time.Now()
				v.a.pump.post(func() {
					if gen == v.loadGen {
						v.a.flash(fmt.Sprintf("filtering… %d rows checked", checked))
					}
				})
			}
		}
		ids, err := v.a.src.IDs(ctx, f, order, progress)
		if ctx.Err() != nil {
			return
		}
		cost := time.Since(t0)
		v.a.pump.post(func() {
			if gen != v.loadGen {
				return
			}
			v.loading = nil
			v.lastCost = cost
			if err != nil {
				v.a.flash("exchanges: " + err.Error())
				return
			}
			v.install(ids)
		})
	}()
}

// install swaps in a new id list, keeping the selected exchange selected
// (or the last row in follow mode).
func (v *exchangesView) install(ids []int64) {
	row, _ := v.GetSelection()
	selID := v.window.ID(row - 1)
	v.window.SetIDs(ids)
	switch {
	case v.follow && len(ids) > 0:
		v.Select(len(ids), 0)
	case row <= 1:
		// At the top (or nothing selected yet): stay there while rows
		// arrive, rather than chase the first row down the list.
		v.Select(1, 0)
		v.SetOffset(0, 0)
	case selID != 0:
		if i := v.window.Index(selID); i >= 0 {
			v.Select(i+1, 0)
		} else {
			v.Select(1, 0)
		}
	default:
		v.Select(1, 0)
	}
	row, _ = v.GetSelection()
	v.window.Prefetch(max(row-1, 0))
	v.updateTitle()
	v.a.redrawChrome()
}

func (v *exchangesView) updateTitle() {
	t := fmt.Sprintf(" exchanges (%d) ", v.window.Len())
	if v.filter != nil {
		t = fmt.Sprintf(" exchanges (%d) filter: %s ", v.window.Len(), lineCut(v.filter.String(), 80))
	}
	v.SetTitle(t)
}

func (v *exchangesView) setQuick(text string) {
	v.quick = text
	v.applyFilters()
}

func (v *exchangesView) setExpr(text string) {
	v.expr = text
	v.applyFilters()
}

func (v *exchangesView) applyFilters() {
	q, err := filter.URLRegex(v.quick)
	if err != nil {
		v.a.flash("quick filter: " + err.Error())
		return
	}
	var e *filter.Expr
	if v.expr != "" {
		if e, err = filter.Parse(v.expr); err != nil {
			v.a.flash("filter: " + err.Error())
			return
		}
	}
	v.filter = filter.And(e, q)
	v.updateTitle()
	v.reload()
}

func (v *exchangesView) selectedID() int64 {
	row, _ := v.GetSelection()
	return v.window.ID(row - 1)
}

func (v *exchangesView) sortByClick(x int) {
	// Column positions come from the header cells as last drawn.
	for c := data.Column(0); c < data.NumColumns; c++ {
		cell := v.content.header[c]
		if cell == nil {
			continue
		}
		cx, _, w := cell.GetLastPosition()
		bx, _, _, _ := v.GetInnerRect()
		if x+bx >= cx && x+bx < cx+w && data.Sortable(c) {
			v.setSort(c)
			return
		}
	}
}

// setSort sorts by c, or reverses when already sorted by c (header click).
func (v *exchangesView) setSort(c data.Column) {
	if v.order.Column == c {
		v.order.Desc = !v.order.Desc
	} else {
		v.order = data.Sort{Column: c}
	}
	v.sorted()
}

func (v *exchangesView) sorted() {
	c := v.order.Column
	v.a.flash(fmt.Sprintf("sorted by %s %s", data.ColumnTitles[c], map[bool]string{false: "▲", true: "▼"}[v.order.Desc]))
	v.reload()
}

// sortCycle is the order `o` walks through.
var sortCycle = []data.Column{data.ColTime, data.ColMethod, data.ColURL, data.ColStatus, data.ColOrigin, data.ColID}

func (v *exchangesView) do(act keys.Action) bool {
	n := v.window.Len()
	switch act {
	case keys.Open:
		if id := v.selectedID(); id != 0 {
			v.a.detail.open(id)
			v.a.show(v.a.detail, true)
		}
	case keys.Top:
		if n > 0 {
			v.Select(1, 0)
			v.SetOffset(0, 0)
		}
	case keys.Bottom:
		if n > 0 {
			v.Select(n, 0)
		}
	case keys.Down, keys.Up:
		return tableStep(v.Table, act)
	case keys.QuickFilter:
		v.a.openPrompt(promptQuick)
	case keys.Filter:
		v.a.openPrompt(promptFilter)
	case keys.Follow:
		v.follow = !v.follow
		if v.follow && n > 0 {
			v.Select(n, 0)
		}
		v.a.flash(map[bool]string{true: "follow on", false: "follow off"}[v.follow])
	case keys.Mark:
		if id := v.selectedID(); id != 0 {
			if v.marked[id] {
				delete(v.marked, id)
			} else {
				v.marked[id] = true
			}
			tableStep(v.Table, keys.Down)
		}
	case keys.Sort:
		next := sortCycle[0]
		for i, c := range sortCycle {
			if c == v.order.Column {
				next = sortCycle[(i+1)%len(sortCycle)]
				break
			}
		}
		v.order = data.Sort{Column: next}
		v.sorted()
	case keys.SortReverse:
		v.order.Desc = !v.order.Desc
		v.sorted()
	case keys.Copy:
		if id := v.selectedID(); id != 0 {
			if ex, err := v.a.st.Exchange(v.a.ctx, id); err == nil {
				v.a.copyToClipboard(ex.URL(), "URL")
			}
		}
	case keys.Curl:
		if id := v.selectedID(); id != 0 {
			v.a.exportCurl(id)
		}
	case keys.Pair:
		if id := v.selectedID(); id != 0 {
			v.jumpToPair(id)
		}
	default:
		return false
	}
	return true
}

// jumpToPair selects the paired preflight/actual in the list, or opens it
// when the filter hides it.
func (v *exchangesView) jumpToPair(id int64) {
	other, err := v.a.pairOf(id)
	if err != nil || other == 0 {
		v.a.flash("no paired preflight or actual request")
		return
	}
	if i := v.window.Index(other); i >= 0 {
		v.Select(i+1, 0)
		return
	}
	v.a.detail.open(other)
	v.a.show(v.a.detail, true)
}

// exchangeContent serves the table from the window cache: GetCell never
// queries; a row whose block is still loading shows a selectable
// placeholder so selection never scans for a selectable row.
type exchangeContent struct {
	tview.TableContentReadOnly
	v      *exchangesView
	header [data.NumColumns]*tview.TableCell
	// Placeholders are as wide as the widest cell seen in their column, so
	// columns do not jump while a block loads.
	widest [data.NumColumns]uint8
	blank  [data.NumColumns]string
}

func (c *exchangeContent) GetRowCount() int    { return c.v.window.Len() + 1 }
func (c *exchangeContent) GetColumnCount() int { return int(data.NumColumns) }

func (c *exchangeContent) GetCell(row, column int) *tview.TableCell {
	if column < 0 || column >= int(data.NumColumns) {
		return nil
	}
	col := data.Column(column)
	if row == 0 {
		if c.header[col] == nil {
			c.header[col] = tview.NewTableCell("").SetSelectable(false).SetTextColor(tcell.ColorYellow).SetAttributes(tcell.AttrBold)
		}
		title := data.ColumnTitles[col]
		if col == c.v.order.Column {
			title += map[bool]string{false: "▲", true: "▼"}[c.v.order.Desc]
		}
		return c.header[col].SetText(title)
	}
	r, ok := c.v.window.Row(row - 1)
	if !ok {
		if col == data.ColURL {
			return tview.NewTableCell("…").SetTextColor(tcell.ColorGray).SetExpansion(1)
		}
		return tview.NewTableCell(c.blank[col])
	}
	if w := r.Widths[col]; w > c.widest[col] {
		c.widest[col] = w
		c.blank[col] = strings.Repeat(" ", int(w))
	}
	cell := tview.NewTableCell(r.Cells[col])
	switch col {
	case data.ColURL:
		cell.SetExpansion(1)
	case data.ColID, data.ColStatus:
		cell.SetAlign(tview.AlignRight)
	case data.ColMethod:
		if r.Preflight {
			cell.SetTextColor(tcell.ColorAqua)
		}
	case data.ColPair:
		cell.SetTextColor(tcell.ColorAqua).SetAlign(tview.AlignCenter)
	case data.ColFinding:
		cell.SetTextColor(severityColor(r.Severity)).SetAttributes(tcell.AttrBold).SetAlign(tview.AlignCenter)
	case data.ColMark:
		if c.v.marked[r.ID] {
			cell.SetText("●").SetTextColor(tcell.ColorGreen).SetAlign(tview.AlignCenter)
		}
	}
	if c.v.marked[r.ID] {
		cell.SetAttributes(cell.Attributes | tcell.AttrBold)
	}
	return cell
}
