package tui

import (
	"fmt"
	"strings"

	"github.com/corscope/corscope/storage"
	"github.com/corscope/corscope/tui/sanitize"
)

// shellQuote quotes s for a POSIX shell: single quotes when s is printable,
// else bash's $'...' with \xNN escapes, so control bytes never reach a
// terminal or a shell raw.
func shellQuote(s string) string {
	printable := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			printable = false
			break
		}
	}
	if printable {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// skipInCurl are headers curl computes itself or that are HTTP/2 pseudo
// headers.
func skipInCurl(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, ":") || n == "content-length" || n == "host" || n == "connection" || n == "transfer-encoding"
}

// Curl renders ex as one curl command line.
func Curl(ex *storage.Exchange) string {
	var b strings.Builder
	b.WriteString("curl -sS -i")
	if ex.Method != "GET" {
		b.WriteString(" -X " + shellQuote(ex.Method))
	}
	if ex.Proto == storage.ProtoHTTP2 {
		b.WriteString(" --http2")
	}
	b.WriteString(" " + shellQuote(ex.URL()))
	for _, h := range ex.RequestHeaders {
		if skipInCurl(h.Name) {
			continue
		}
		b.WriteString(" \\\n  -H " + shellQuote(h.Name+": "+h.Value))
	}
	if host := ex.RequestHeaders.Value("Host"); host != "" && !strings.EqualFold(host, ex.Host) && !strings.HasPrefix(strings.ToLower(host), ex.Host+":") {
		b.WriteString(" \\\n  -H " + shellQuote("Host: "+host))
	}
	if len(ex.RequestBody) > 0 {
		b.WriteString(" \\\n  --data-binary " + shellQuote(string(ex.RequestBody)))
	}
	return b.String()
}

// exportCurl shows the exchange (and its preflight, or the actual request
// of a preflight) as curl commands and copies them via OSC 52.
func (a *app) exportCurl(id int64) {
	ex, err := a.st.Exchange(a.ctx, id)
	if err != nil {
		a.flash("export: " + err.Error())
		return
	}
	var pre, act *storage.Exchange
	if ex.IsPreflight() {
		pre = ex
		if other, err := a.pairOf(id); err == nil && other != 0 {
			act, _ = a.st.Exchange(a.ctx, other)
		}
	} else {
		act = ex
		if ex.PreflightID != 0 {
			pre, _ = a.st.Exchange(a.ctx, ex.PreflightID)
		}
	}
	var b strings.Builder
	if pre != nil {
		fmt.Fprintf(&b, "# preflight #%d\n%s\n\n", pre.ID, Curl(pre))
	}
	if act != nil {
		fmt.Fprintf(&b, "# actual request #%d\n%s\n", act.ID, Curl(act))
	}
	text := b.String()
	a.copyToClipboard(text, "curl commands")
	a.showOverlay("text", " curl (copied via OSC 52; esc closes) ", sanitize.Block(text, 0, 0))
}
