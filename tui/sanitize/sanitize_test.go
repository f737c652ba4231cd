package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
	"github.com/rivo/uniseg"
)

func TestVisibleShowsHostileTextLiterally(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"[red]INJECTED[-] \x1b[2J [:::https://evil.example/]click", `[red]INJECTED[-] \x1b[2J [:::https://evil.example/]click`},
		{`["r"]region[""]`, `["r"]region[""]`},
		{"a\tb\r\nc\x00\x7f", `a\tb\r\nc\x00\x7f`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"abc\u202egnp.exe", "abc<U+202E>gnp.exe"},
		{"\ufeffBOM\u200bzw\u2066iso\u2069", "<U+FEFF>BOM<U+200B>zw<U+2066>iso<U+2069>"},
		{"c1\u009bx", "c1<U+009B>x"},
		{"e\u0301", "e<U+0301>"},
		{"日本", "日本"},
	}
	for _, c := range cases {
		if got := Visible(c.in, 0); got != c.want {
			t.Errorf("Visible(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestVisibleCutsLongValuesWithAMarker(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"abc", 1, "…"},
		{"\x1b\x1b", 5, `\x1b…`},
		{"日本語", 4, "日…"},
		{strings.Repeat("x", 1<<20), 10, "xxxxxxxxx…"},
	}
	for _, c := range cases {
		if got := Visible(c.in, c.max); got != c.want {
			t.Errorf("Visible(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestBlockSanitizesEachLineAndCapsLines(t *testing.T) {
	got := Block("a[red]\r\nb\x1b\nc\nd", 2, 0)
	want := "a[[:]red]\nb\\x1b\n" + Ellipsis + " (more lines not shown)\n"
	if got != want {
		t.Fatalf("Block = %q, want %q", got, want)
	}
}

// render draws markup through a tview table cell and a TextView with style
// and region parsing on, and returns each widget's first line and whether
// every cell kept the default style (no colour, attribute or URL).
func render(t testing.TB, markup string, width int) (table, text string, plainStyle bool) {
	t.Helper()
	screen := tcell.NewSimulationScreen("UTF-8")
	if err := screen.Init(); err != nil {
		t.Fatal(err)
	}
	defer screen.Fini()
	screen.SetSize(width, 3)
	tbl := tview.NewTable().SetCell(0, 0, tview.NewTableCell(markup).SetMaxWidth(0).SetExpansion(1))
	tbl.SetRect(0, 0, width, 1)
	tv := tview.NewTextView().SetDynamicColors(true).SetRegions(true).SetWrap(false).SetText(markup)
	tv.SetRect(0, 1, width, 1)
	ref := tview.NewTableCell("x")
	refTbl := tview.NewTable().SetCell(0, 0, ref)
	refTbl.SetRect(0, 2, width, 1)
	tbl.Draw(screen)
	tv.Draw(screen)
	refTbl.Draw(screen)
	screen.Show()
	cells, w, _ := screen.GetContents()
	line := func(y int) string {
		var b strings.Builder
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			if len(c.Runes) == 0 {
				continue
			}
			b.WriteString(string(c.Runes))
		}
		return strings.TrimRight(b.String(), " ")
	}
	refStyle := cells[2*w].Style
	plainStyle = true
	for x := 0; x < w && x < uniseg.StringWidth(line(0)); x++ {
		if len(cells[x].Runes) > 0 && cells[x].Style != refStyle {
			plainStyle = false
		}
	}
	return line(0), line(1), plainStyle
}

func TestRenderedLineEqualsVisibleText(t *testing.T) {
	for _, in := range []string{
		"[red]INJECTED[-] \x1b[2J [:::https://evil.example/]click",
		"[a[]", "[:::a[b]", "[[red]]", `["r"]x[""]`, "[::b]bold[::-]", "[#ff0000]x", "[-:-:-]", "]]][[[",
		"[ foo[]", "[red[[]", "x[:]y", "[[:]", "a [::u] b",
		"[\u0940", "[[\u0940\u0940", "x\u0940[\u0301",
	} {
		vis := Visible(in, 0)
		table, text, plainStyle := render(t, Line(in, 0), 120)
		if table != vis || text != vis {
			t.Errorf("%q: table shows %q, text view %q, want %q", in, table, text, vis)
		}
		if !plainStyle {
			t.Errorf("%q: a cell's style changed", in)
		}
	}
}

// FuzzLine proves that whatever the input, the markup Line returns renders
// as exactly Visible's text, in the default style, with no control bytes.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"[red]x[-]", "[:::https://e/]c", "\x1b[2J", "[a[]", "a\u202eb", `["r"]`, "[::b]"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		max = max % 100
		if max < 0 {
			max = -max
		}
		vis := Visible(in, max)
		for _, r := range vis {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || hidden(r) {
				t.Fatalf("%q: visible text has rune %U", in, r)
			}
		}
		if !utf8.ValidString(vis) {
			t.Fatalf("%q: invalid UTF-8 out", in)
		}
		if max > 0 && len([]rune(vis)) > max {
			t.Fatalf("%q: %d runes > max %d", in, len([]rune(vis)), max)
		}
		// Only strings that fit one screen line can be compared cell by cell.
		if len(vis) > 150 {
			return
		}
		table, text, plainStyle := render(t, Line(in, max), 400)
		want := strings.TrimRight(vis, " ")
		if table != want || text != want {
			t.Fatalf("%q: table %q, text %q, want %q", in, table, text, want)
		}
		if !plainStyle {
			t.Fatalf("%q: style changed", in)
		}
	})
}
