package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rivo/tview"

	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/keys"
	"github.com/corscope/corscope/tui/sanitize"
	"github.com/corscope/corscope/tui/widget"
)

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// lineCut is sanitize.Line under a shorter name for titles.
func lineCut(s string, n int) string { return sanitize.Line(s, n) }

// Body display caps: bodies can be megabytes; the detail shows a window.
const (
	maxBodyLines = 400
	maxLineWidth = 4000
	maxHeaderVal = 2000
)

var detailTabs = []string{"Request", "Response", "CORS verdict", "Raw"}

// detailView shows one exchange in tabs.
type detailView struct {
	*tview.Flex
	a        *app
	tabs     *tview.TextView
	body     *tview.TextView
	tab      int
	ex       *storage.Exchange
	evidence map[string]bool // header lines that findings cite
	err      error
}

func newDetailView(a *app) *detailView {
	v := &detailView{Flex: tview.NewFlex().SetDirection(tview.FlexRow), a: a}
	v.tabs = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	v.body = tview.NewTextView().SetDynamicColors(true).SetWrap(true).SetWordWrap(false)
	v.body.SetBorder(true)
	v.AddItem(v.tabs, 1, 0, false).AddItem(v.body, 0, 1, true)
	return v
}

func (v *detailView) title() string     { return "detail" }
func (v *detailView) scope() keys.Scope { return keys.Detail }
func (v *detailView) refresh(Status)    {}

// open loads exchange id (with bodies) and shows the Request tab.
func (v *detailView) open(id int64) {
	v.ex, v.err = v.a.st.Exchange(v.a.ctx, id)
	v.evidence = map[string]bool{}
	if v.err == nil {
		if fids, err := v.a.st.FindingsOf(v.a.ctx, id); err == nil && len(fids) > 0 {
			want := map[int64]bool{}
			for _, f := range fids {
				want[f] = true
			}
			for _, f := range v.a.findings.list {
				if want[f.ID] {
					for _, e := range f.Evidence {
						v.evidence[strings.ToLower(e)] = true
					}
				}
			}
		}
	}
	v.tab = 0
	v.render()
}

func (v *detailView) render() {
	v.tabs.SetText(widget.Tabs(detailTabs, v.tab))
	if v.err != nil {
		v.body.SetTitle(" exchange ").SetTitleAlign(tview.AlignLeft)
		v.body.SetText("[red]" + sanitize.Line(v.err.Error(), 0) + "[-]")
		return
	}
	ex := v.ex
	v.body.SetTitle(fmt.Sprintf(" #%d %s %s ", ex.ID, sanitize.Line(ex.Method, 10), sanitize.Line(ex.URL(), 120)))
	var b strings.Builder
	switch v.tab {
	case 0:
		v.requestTab(&b)
	case 1:
		v.responseTab(&b)
	case 2:
		v.verdictTab(&b)
	case 3:
		v.rawTab(&b)
	}
	v.body.SetText(b.String()).ScrollToBeginning()
}

// corsHeader reports headers the CORS reader cares about (highlighted).
func corsHeader(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "access-control-") || n == "origin" || n == "vary" || n == "cookie" ||
		n == "set-cookie" || n == "authorization" || strings.HasPrefix(n, "sec-fetch-")
}

func (v *detailView) headers(b *strings.Builder, h storage.Headers) {
	for _, f := range h {
		name := sanitize.Line(f.Name, 200)
		val := sanitize.Line(f.Value, maxHeaderVal)
		switch {
		case v.evidence[strings.ToLower(f.Name+": "+f.Value)]:
			fmt.Fprintf(b, "[black:yellow]%s: %s[-:-]\n", name, val)
		case corsHeader(f.Name):
			fmt.Fprintf(b, "[aqua::b]%s[-::-]: %s\n", name, val)
		default:
			fmt.Fprintf(b, "[teal]%s[-]: %s\n", name, val)
		}
	}
}

func bodyText(b *strings.Builder, body []byte, size int64) {
	if len(body) == 0 {
		if size > 0 {
			fmt.Fprintf(b, "\n[::d](%d bytes, not stored)[::-]\n", size)
		}
		return
	}
	fmt.Fprintf(b, "\n[::d]body: %d bytes", size)
	if int64(len(body)) < size {
		fmt.Fprintf(b, ", %d stored", len(body))
	}
	b.WriteString("[::-]\n")
	b.WriteString(sanitize.Block(string(body), maxBodyLines, maxLineWidth))
}

func (v *detailView) requestTab(b *strings.Builder) {
	ex := v.ex
	path := ex.Path
	if ex.Query != "" {
		path += "?" + ex.Query
	}
	fmt.Fprintf(b, "[::b]%s %s %s[::-]\n", sanitize.Line(ex.Method, 20), sanitize.Line(path, maxHeaderVal), sanitize.Line(ex.Proto, 20))
	fmt.Fprintf(b, "[::d]%s → %s  started %s  input %d[::-]\n\n", orDash(sanitize.Line(ex.Client, 60)),
		orDash(sanitize.Line(ex.Server, 60)), ex.Started.UTC().Format("2006-01-02 15:04:05.000000"), ex.InputID)
	v.headers(b, ex.RequestHeaders)
	bodyText(b, ex.RequestBody, ex.RequestBodySize)
	v.warnings(b)
}

func (v *detailView) responseTab(b *strings.Builder) {
	ex := v.ex
	if ex.Status == 0 {
		b.WriteString("[::d](no response seen)[::-]\n")
		return
	}
	fmt.Fprintf(b, "[::b]%s %d %s[::-]\n\n", sanitize.Line(ex.Proto, 20), ex.Status, sanitize.Line(ex.StatusText, 100))
	v.headers(b, ex.ResponseHeaders)
	bodyText(b, ex.ResponseBody, ex.ResponseBodySize)
}

func (v *detailView) warnings(b *strings.Builder) {
	if len(v.ex.Warnings) == 0 {
		return
	}
	b.WriteString("\n[orange::b]Warnings[-::-]\n")
	for _, w := range v.ex.Warnings {
		fmt.Fprintf(b, "  %s\n", sanitize.Line(w, 400))
	}
}

func (v *detailView) verdictTab(b *strings.Builder) {
	ex := v.ex
	ctx := v.a.ctx
	verdict, err := v.a.st.Verdict(ctx, ex.ID)
	switch {
	case err != nil:
		fmt.Fprintf(b, "[red]%s[-]\n", sanitize.Line(err.Error(), 0))
	case verdict == nil:
		b.WriteString("[::d]no browser verdict stored (not a cross-origin request, or not analyzed yet)[::-]\n")
	case verdict.Shared:
		b.WriteString("[green::b]SHARED[-::-]  a browser would let the calling page read this response\n")
	default:
		fmt.Fprintf(b, "[red::b]NOT SHARED[-::-]  a browser would block the page from reading it: %s\n", sanitize.Line(verdict.Reason, 200))
	}
	b.WriteString("\n[yellow::b]CORS headers[-::-]\n")
	for _, h := range []struct {
		hs   storage.Headers
		name string
	}{{ex.RequestHeaders, "Origin"}, {ex.RequestHeaders, "Access-Control-Request-Method"},
		{ex.RequestHeaders, "Access-Control-Request-Headers"}, {ex.ResponseHeaders, "Access-Control-Allow-Origin"},
		{ex.ResponseHeaders, "Access-Control-Allow-Credentials"}, {ex.ResponseHeaders, "Access-Control-Allow-Methods"},
		{ex.ResponseHeaders, "Access-Control-Allow-Headers"}, {ex.ResponseHeaders, "Access-Control-Expose-Headers"},
		{ex.ResponseHeaders, "Access-Control-Max-Age"}, {ex.ResponseHeaders, "Vary"}} {
		vals := h.hs.Values(h.name)
		if len(vals) == 0 {
			continue
		}
		for _, val := range vals {
			fmt.Fprintf(b, "  [aqua]%s[-]: %s\n", h.name, sanitize.Line(val, maxHeaderVal))
		}
		if len(vals) > 1 {
			fmt.Fprintf(b, "  [orange]%d %s fields: browsers reject a repeated header[-]\n", len(vals), h.name)
		}
	}
	b.WriteString("\n[yellow::b]Pairing[-::-]\n")
	switch {
	case ex.IsPreflight():
		acts, _ := v.a.st.Actuals(ctx, ex.ID)
		if len(acts) == 0 {
			b.WriteString("  preflight with no actual request seen\n")
		} else {
			fmt.Fprintf(b, "  preflight for actual request(s) %s  (p jumps)\n", idList(acts))
		}
	case ex.PreflightID != 0:
		fmt.Fprintf(b, "  actual request authorised by preflight #%d  (p jumps)\n", ex.PreflightID)
	default:
		b.WriteString("  no preflight\n")
	}
	fids, _ := v.a.st.FindingsOf(ctx, ex.ID)
	if len(fids) > 0 {
		b.WriteString("\n[yellow::b]Findings[-::-]\n")
		want := map[int64]bool{}
		for _, id := range fids {
			want[id] = true
		}
		for _, f := range v.a.findings.list {
			if want[f.ID] {
				fmt.Fprintf(b, "  [%s]%s[-] %s  %s\n", severityColor(storage.SeverityRank(f.Severity)).String(),
					sanitize.Line(f.Severity, 10), sanitize.Line(f.Rule, 60), sanitize.Line(f.Title, 100))
			}
		}
	}
}

func idList(ids []int64) string {
	parts := make([]string, 0, len(ids))
	for i, id := range ids {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(ids)-20))
			break
		}
		parts = append(parts, "#"+strconv.FormatInt(id, 10))
	}
	return strings.Join(parts, " ")
}

func (v *detailView) rawTab(b *strings.Builder) {
	ex := v.ex
	path := ex.Path
	if path == "" {
		path = "/"
	}
	if ex.Query != "" {
		path += "?" + ex.Query
	}
	var raw strings.Builder
	fmt.Fprintf(&raw, "%s %s %s\n", ex.Method, path, ex.Proto)
	for _, h := range ex.RequestHeaders {
		fmt.Fprintf(&raw, "%s: %s\n", h.Name, h.Value)
	}
	raw.WriteString("\n")
	raw.Write(ex.RequestBody)
	if ex.Status != 0 {
		fmt.Fprintf(&raw, "\n\n%s %d %s\n", ex.Proto, ex.Status, ex.StatusText)
		for _, h := range ex.ResponseHeaders {
			fmt.Fprintf(&raw, "%s: %s\n", h.Name, h.Value)
		}
		raw.WriteString("\n")
		raw.Write(ex.ResponseBody)
	}
	b.WriteString(sanitize.Block(raw.String(), maxBodyLines*2, maxLineWidth))
}

func (v *detailView) do(act keys.Action) bool {
	switch act {
	case keys.NextTab:
		v.tab = (v.tab + 1) % len(detailTabs)
		v.render()
	case keys.PrevTab:
		v.tab = (v.tab + len(detailTabs) - 1) % len(detailTabs)
		v.render()
	case keys.Top:
		v.body.ScrollToBeginning()
	case keys.Bottom:
		v.body.ScrollToEnd()
	case keys.Down, keys.Up:
		row, col := v.body.GetScrollOffset()
		if act == keys.Down {
			row++
		} else if row > 0 {
			row--
		}
		v.body.ScrollTo(row, col)
	case keys.Pair:
		if v.ex == nil {
			return true
		}
		other, err := v.a.pairOf(v.ex.ID)
		if err != nil || other == 0 {
			v.a.flash("no paired preflight or actual request")
			return true
		}
		tab := v.tab
		v.open(other)
		v.tab = tab
		v.render()
	case keys.Copy:
		if v.ex != nil {
			v.a.copyToClipboard(v.ex.URL(), "URL")
		}
	case keys.Curl:
		if v.ex != nil {
			v.a.exportCurl(v.ex.ID)
		}
	default:
		return false
	}
	return true
}

// pairOf returns the preflight of an actual request or the first actual
// request of a preflight; 0 when there is none.
func (a *app) pairOf(id int64) (int64, error) {
	ex, err := a.st.Exchange(a.ctx, id)
	if err != nil {
		return 0, err
	}
	if ex.PreflightID != 0 {
		return ex.PreflightID, nil
	}
	acts, err := a.st.Actuals(a.ctx, id)
	if err != nil || len(acts) == 0 {
		return 0, err
	}
	return acts[0], nil
}
