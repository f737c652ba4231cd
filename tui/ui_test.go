package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/internal/fixture"
)

// line returns the screen line containing sub, or "".
func lineWith(screen, sub string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestFirstScreenShowsFindingsGroupedBySeverity(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	scr := h.waitFor("findings (2)", "▼ HIGH (1)", "▼ INFO (1)", "cors-reflect-any-credentials", "cors-wildcard")
	if !strings.Contains(lineWith(scr, "cors-reflect-any-credentials"), "api.example.com/v1/user") {
		t.Errorf("finding row lacks its endpoint:\n%s", scr)
	}
	if strings.Index(scr, "cors-reflect-any-credentials") > strings.Index(scr, "cors-wildcard") {
		t.Error("high finding is not listed before info")
	}
	st, _ := h.styleOf("▼ HIGH")
	if fg, _, _ := st.Decompose(); fg != tcell.ColorRed {
		t.Errorf("HIGH group colour = %v, want red", fg)
	}
	if !strings.Contains(scr, "? help") || !strings.Contains(scr, "enter open") {
		t.Errorf("hint bar missing:\n%s", scr)
	}
	if !strings.Contains(scr, "inputs 1 │ exchanges 5 │ findings 2") {
		t.Errorf("status line wrong:\n%s", lineWith(scr, "corscope"))
	}
	h.quit()
}

func TestEmptyStoreOpensOnExchanges(t *testing.T) {
	h := start(t, openStore(t), Options{})
	h.waitFor("exchanges (0)")
	h.quit()
}

func TestCommandBarCompletesAndListsExchangesWithPairingAndFindingMarks(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.waitFor("findings (2)")
	h.runes(":exch")
	h.key(tcell.KeyTab)
	h.waitFor(":exchanges")
	h.key(tcell.KeyEnter)
	scr := h.waitFor("exchanges (5)", "OPTIONS", "https://api.example.com/v1/user?id=7")
	pre := lineWith(scr, "OPTIONS")
	if !strings.Contains(pre, " P ") || !strings.Contains(pre, " H ") {
		t.Errorf("preflight row lacks P and H marks: %q", pre)
	}
	act := lineWith(scr, "v1/user?id=7")
	if !strings.Contains(act, "↳") || !strings.Contains(act, " H ") {
		t.Errorf("actual row lacks ↳ and H marks: %q", act)
	}
	if st, ok := h.styleOf("OPTIONS"); !ok {
		t.Fatal("no OPTIONS")
	} else if fg, _, _ := st.Decompose(); fg != tcell.ColorAqua {
		t.Errorf("preflight method colour %v, want aqua", fg)
	}
	h.runes(":hosts")
	h.key(tcell.KeyEnter)
	h.waitFor("hosts (2)", "Allowed origins")
	h.runes(":nope")
	h.key(tcell.KeyEnter)
	h.waitFor("unknown command: nope")
	h.quit()
}

func TestFirstExchangeDetailShowsHostileHeadersLiterally(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.waitFor("findings (2)")
	h.runes(":exchanges")
	h.key(tcell.KeyEnter)
	h.waitFor("exchanges (5)", "/v1/profile")
	h.runes("G")
	h.runes("g")
	h.key(tcell.KeyEnter)
	literal := `X-Note: [red]INJECTED[-] \x1b[2J [:::https://evil.example/]click`
	scr := h.waitFor("#1 GET https://api.example.com/v1/profile", "GET /v1/profile HTTP/1.1", "Origin: https://app.example.com", literal)
	if !strings.Contains(lineWith(scr, "Request"), "Response") {
		t.Error("tab bar missing")
	}
	plain, _ := h.styleOf("https://app.example.com")
	for _, part := range []string{"[red]INJECTED", "INJECTED[-]", `\x1b[2J`, "[:::https", "click"} {
		st, ok := h.styleOf(part)
		if !ok {
			t.Fatalf("%q not on screen", part)
		}
		if st != plain {
			t.Errorf("%q is styled %v, want the plain value style %v", part, st, plain)
		}
	}
	h.key(tcell.KeyTab)
	scr = h.waitFor("HTTP/1.1 200 OK", `X-Debug: [red]INJECTED[-] \x1b[2J [:::https://evil.example/]click`,
		"filename=report<U+202E>fdp.exe", `{"name":"[red]x[-]\x1b]8;;https://evil.example\x07link`)
	h.key(tcell.KeyTab)
	h.waitFor("SHARED", "CORS headers", "Pairing", "no preflight")
	h.runes("]")
	h.waitFor("X-Note: [red]INJECTED[-]", "HTTP/1.1 200 OK")
	h.runes("[")
	h.waitFor("CORS headers")
	h.key(tcell.KeyEscape)
	h.waitFor("exchanges (5)")
	h.quit()
}

func TestPairKeyJumpsBetweenPreflightAndActual(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.runes("2")
	h.waitFor("exchanges (5)", "OPTIONS")
	h.runes("gj")
	h.key(tcell.KeyEnter)
	h.waitFor("#2 OPTIONS https://api.example.com/v1/user")
	h.runes("p")
	h.waitFor("#3 PUT https://api.example.com/v1/user?id=7", "Cookie: sid=s3cr3t")
	h.runes("p")
	h.waitFor("#2 OPTIONS")
	h.key(tcell.KeyTab)
	h.key(tcell.KeyTab)
	h.waitFor("preflight for actual request(s) #3")
	// In the list, p moves the selection to the pair.
	h.key(tcell.KeyEscape)
	h.waitFor("exchanges (5)")
	h.runes("p")
	h.key(tcell.KeyEnter)
	h.waitFor("#3 PUT")
	h.quit()
}

func TestFindingDetailExplainsAndListsSupportingExchanges(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.waitFor("findings (2)")
	h.key(tcell.KeyEnter)
	scr := h.waitFor("HIGH", "Evidence", "Access-Control-Allow-Origin: https://evil.example",
		"Why it matters", "Remediation", "supporting exchanges: 2")
	if !strings.Contains(scr, "OPTIONS") || !strings.Contains(scr, "v1/user?id=7") {
		t.Errorf("supporting exchanges missing:\n%s", scr)
	}
	st, _ := h.styleOf("Access-Control-Allow-Origin: https://evil.example")
	if _, bg, _ := st.Decompose(); bg != tcell.ColorYellow {
		t.Errorf("evidence not highlighted: bg %v", bg)
	}
	h.key(tcell.KeyEnter)
	scr = h.waitFor("#2 OPTIONS")
	// Evidence lines are highlighted in the exchange detail too.
	h.key(tcell.KeyTab)
	h.waitFor("HTTP/1.1 204 No Content")
	if st, ok := h.styleOf("Access-Control-Allow-Credentials: true"); !ok {
		t.Fatal("ACAC line missing")
	} else if _, bg, _ := st.Decompose(); bg != tcell.ColorYellow {
		t.Errorf("evidence header not highlighted in detail: bg %v", bg)
	}
	h.key(tcell.KeyEscape)
	h.waitFor("supporting exchanges: 2")
	h.runes("q")
	h.waitFor("findings (2)")
	h.quit()
}

func TestHelpIsGeneratedFromTheKeyTablePerView(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.waitFor("findings (2)")
	h.runes("?")
	scr := h.waitFor("Keys: findings", "esc/q", "enter    open the selected row")
	if strings.Contains(scr, "quick filter") {
		t.Error("findings help lists the exchanges-only quick filter")
	}
	h.key(tcell.KeyEscape)
	h.waitGone("Keys: findings")
	h.runes("2?")
	h.waitFor("Keys: exchanges", "quick filter", "Filter expressions (f)", "~sev ARG")
	h.runes("?")
	h.waitGone("Keys: exchanges")
	h.quit()
}

func TestFilterExpressionValidatesLiveAndKeepsHistory(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.runes("2")
	h.waitFor("exchanges (5)")
	h.runes("f~x")
	h.waitFor("~x at 1: unknown operator")
	h.key(tcell.KeyBackspace2)
	h.key(tcell.KeyBackspace2)
	h.runes("~pf")
	h.waitGone("unknown operator")
	h.key(tcell.KeyEnter)
	scr := h.waitFor("exchanges (1) filter: ~pf", "OPTIONS")
	if strings.Contains(scr, "/health") {
		t.Errorf("~pf shows the wrong rows:\n%s", scr)
	}
	h.runes("f")
	h.key(tcell.KeyCtrlU)
	h.runes("~m PUT & ~cred & ~sev high")
	h.key(tcell.KeyEnter)
	h.waitFor("exchanges (1) filter: ~m PUT & ~cred & ~sev high", "v1/user?id=7")
	h.runes("f")
	h.key(tcell.KeyUp)
	h.key(tcell.KeyUp)
	h.key(tcell.KeyEnter)
	h.waitFor("exchanges (1) filter: ~pf")
	h.runes("f")
	h.key(tcell.KeyCtrlU)
	h.key(tcell.KeyEnter)
	h.waitFor("exchanges (5)")
	h.quit()
}

func TestQuickFilterIsAURLRegexAndBangInverts(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.runes("2")
	h.waitFor("exchanges (5)")
	h.runes("/prof[i]le")
	h.key(tcell.KeyEnter)
	scr := h.waitFor("exchanges (1)", "https://api.example.com/v1/profile")
	if strings.Contains(scr, "/v1/user") {
		t.Errorf("quick filter kept other rows:\n%s", scr)
	}
	h.runes("/")
	h.key(tcell.KeyCtrlU)
	h.runes("!api")
	h.key(tcell.KeyEnter)
	scr = h.waitFor("exchanges (1)", "static.example.com/app.js")
	h.runes("/")
	h.key(tcell.KeyCtrlU)
	h.runes("(")
	h.waitFor("bad regex")
	h.key(tcell.KeyEscape)
	h.quit()
}

func TestSortMarkAndCurlExport(t *testing.T) {
	h := start(t, fixtureStore(t), Options{})
	h.runes("2")
	h.waitFor("exchanges (5)", "time▲")
	h.runes("o")
	methods := func(scr string) string {
		var rows []string
		for _, l := range strings.Split(scr, "\n") {
			for _, m := range []string{" GET ", " OPTIONS ", " PUT "} {
				if strings.Contains(l, m) && strings.Contains(l, "https://") {
					rows = append(rows, m)
				}
			}
		}
		return strings.Join(rows, "")
	}
	h.waitUntil("rows sorted by method", func(scr string) bool {
		return strings.Contains(scr, "method▲") && methods(scr) == " GET  GET  GET  OPTIONS  PUT "
	})
	h.runes("O")
	h.waitUntil("rows sorted by method, reversed", func(scr string) bool {
		return strings.Contains(scr, "method▼") && methods(scr) == " PUT  OPTIONS  GET  GET  GET "
	})
	h.runes("g")
	h.runes("m")
	scr := h.waitFor("●")
	if !strings.Contains(lineWith(scr, "●"), "PUT") {
		t.Errorf("mark on the wrong row: %q", lineWith(scr, "●"))
	}
	// x on the actual request exports it with its preflight.
	h.runes("gx")
	scr = h.waitFor("# preflight #2", "# actual request #3", "curl -sS -i -X 'OPTIONS' 'https://api.example.com/v1/user'",
		"-H 'Cookie: sid=s3cr3t'", `--data-binary '{"email":"victim@example.com"}'`, "copied curl commands")
	h.key(tcell.KeyEscape)
	h.waitGone("# preflight #2")
	h.quit()
}

func TestBackgroundStatusIsBatchedAndFollowShowsNewRows(t *testing.T) {
	st := fixtureStore(t)
	var reports atomic.Int64
	release := make(chan struct{})
	bg := func(ctx context.Context, report func(Status)) error {
		<-release
		in := &storage.Input{Path: "live", Format: storage.FormatLive, SHA256: "live"}
		if err := st.BeginInput(ctx, in); err != nil {
			return err
		}
		w, err := st.NewWriter(in.ID, storage.WriterOptions{})
		if err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			w.Exchange(&storage.Exchange{EntryIndex: -1, Method: "GET", Scheme: "http", Host: "live.example", Port: 80,
				Path: fmt.Sprintf("/new/%d", i), Status: 200, Started: time.Date(2026, 3, 2, 0, 0, i, 0, time.UTC)})
		}
		if err := w.Close(); err != nil {
			return err
		}
		// Report far faster than the screen updates, until the UI quits.
		for n := 0; ; n++ {
			reports.Add(1)
			report(Status{Inputs: 2, Exchanges: 8, Findings: 2, PacketsPerSec: 1234, Drops: 7, Message: "capturing [red]eth0"})
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
	}
	h := start(t, st, Options{Background: bg})
	h.runes("2")
	h.waitFor("exchanges (5)")
	h.runes("F")
	h.waitFor("follow on")
	close(release)
	scr := h.waitFor("exchanges 8", "1234 pkt/s", "drops 7", "capturing [red]eth0", "exchanges (8)", "http://live.example/new/2")
	if !strings.Contains(lineWith(scr, "/new/2"), "/new/2") {
		t.Error("followed row missing")
	}
	if st, ok := h.styleOf("/new/2"); ok {
		if _, _, attr := st.Decompose(); attr&tcell.AttrReverse == 0 {
			if _, bg, _ := st.Decompose(); bg == tcell.ColorDefault {
				t.Error("follow mode did not select the newest row")
			}
		}
	}
	h.quit()
	if reports.Load() < 10 {
		t.Errorf("only %d reports: the test did not exercise batching", reports.Load())
	}
}

func TestMouseIsOptInAndSortsOnHeaderClick(t *testing.T) {
	h := start(t, fixtureStore(t), Options{Mouse: true})
	h.runes("2")
	// Column widths follow the loaded rows: wait for them before aiming.
	h.waitFor("exchanges (5)", "https://api.example.com/v1/profile")
	// A click can race the first draw of the header cells (their positions
	// come from the last draw): click again until the sort shows.
	for i := 0; i < 5 && !strings.Contains(h.text(), "status▲"); i++ {
		scr := h.text()
		y := strings.Count(scr[:strings.Index(scr, "time▲")], "\n")
		line := lineWith(scr, "time▲")
		x := len([]rune(line[:strings.Index(line, "status")]))
		h.screen.InjectMouse(x+1, y, tcell.Button1, tcell.ModNone)
		h.settle()
		h.screen.InjectMouse(x+1, y, tcell.ButtonNone, tcell.ModNone)
		time.Sleep(600 * time.Millisecond) // past tview's double-click interval
	}
	h.waitFor("status▲")
	h.quit()
}

func TestQuitWhileBackgroundKeepsReportingDoesNotHang(t *testing.T) {
	st := openStore(t)
	if err := fixture.Small(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		h := start(t, st, Options{Background: func(ctx context.Context, report func(Status)) error {
			for ctx.Err() == nil {
				report(Status{Message: "busy"})
			}
			return nil
		}})
		h.quit()
	}
}

func TestRunKeepsTheSizeOfAnInitialisedSimulationScreen(t *testing.T) {
	sc := tcell.NewSimulationScreen("UTF-8")
	if err := sc.Init(); err != nil {
		t.Fatal(err)
	}
	sc.SetSize(132, 40)
	// Wait for a drawn frame (the size alone is already right before Run
	// re-initialises the screen, and reading it during Init races).
	drawn := make(chan struct{})
	var once sync.Once
	afterDrawHook = func() { once.Do(func() { close(drawn) }) }
	defer func() { afterDrawHook = nil }()
	st := fixtureStore(t)
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), st, Options{Screen: sc}) }()
	<-drawn
	deadline := time.Now().Add(waitLimit)
	for {
		cells, w, h := sc.GetContents()
		var top strings.Builder
		l := sc.(sync.Locker) // GetContents hands out the live cells
		l.Lock()
		for x := 0; x < w && len(cells) >= w; x++ {
			top.WriteString(string(cells[x].Runes))
		}
		l.Unlock()
		if w == 132 && h == 40 && strings.Contains(top.String(), "corscope") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("screen is %dx%d, top line %q", w, h, top.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	sc.InjectKey(tcell.KeyRune, 'Q', tcell.ModNone)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("no quit")
	}
}
