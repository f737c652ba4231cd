package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/corscope/corscope/storage"
)

// mdRowsPerSeverity caps each severity's table in a PR comment (GitHub
// limits a comment to 65536 characters); Verbose lists everything.
const mdRowsPerSeverity = 50

// mdSpecial are the bytes that Markdown, GFM autolinks or inline HTML give
// a meaning; they are written as HTML entities.
const mdSpecial = "\\`*_[]<>&|~#!()@:.{}+"

// mdCell renders a wire string as inert Markdown inside a table cell:
// control and invisible characters are escaped as for a terminal, then
// every byte Markdown, autolinking or HTML would interpret becomes an HTML
// entity so that no emphasis, link, tag or cell separator can be injected
// into a PR comment, and the value sits in <code> so it reads as data.
func mdCell(s string, max int) string {
	s = Terminal(s, max)
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString("<code>")
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(mdSpecial, c) >= 0 {
			b.WriteString("&#")
			b.WriteString(strconv.Itoa(int(c)))
			b.WriteByte(';')
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteString("</code>")
	return b.String()
}

// mdText escapes our own prose (titles, remediation) for a table cell.
func mdText(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

func writeMarkdown(w io.Writer, r *Report, opt Options) error {
	bw := bufio.NewWriter(w)
	max := maxValueShort
	if opt.Verbose {
		max = maxValueVerbose
	}
	counts := countBySeverity(r.Findings)
	fmt.Fprintf(bw, "## corscope report\n\n")
	var parts []string
	for _, s := range Severities {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("**%d %s**", counts[s], s))
		}
	}
	if len(parts) == 0 {
		fmt.Fprintf(bw, "No findings in %d exchanges.\n", r.stat("exchanges"))
	} else {
		fmt.Fprintf(bw, "%s in %d exchanges.\n", strings.Join(parts, ", "), r.stat("exchanges"))
	}
	all := sorted(r.Findings)
	for _, sev := range Severities {
		var group []*storage.Finding
		for _, f := range all {
			if f.Severity == sev {
				group = append(group, f)
			}
		}
		if len(group) == 0 {
			continue
		}
		fmt.Fprintf(bw, "\n### %s (%d)\n\n", strings.ToUpper(sev[:1])+sev[1:], len(group))
		fmt.Fprintf(bw, "| Rule | Endpoint | Origin | Evidence | Exchanges | Fix |\n|---|---|---|---|---|---|\n")
		shown := group
		if !opt.Verbose && len(shown) > mdRowsPerSeverity {
			shown = shown[:mdRowsPerSeverity]
		}
		for _, f := range shown {
			ev := evidence(f, opt.Verbose)
			cells := make([]string, len(ev))
			for i, e := range ev {
				cells[i] = mdCell(e, max)
			}
			origin := mdCell(f.Origin, max)
			if f.OriginClass != "" {
				origin += " (" + mdCell(f.OriginClass, 64) + ")"
			}
			rule := "`" + mdRuleID(f.Rule) + "`"
			if f.Suppressed != "" {
				rule += " (suppressed)"
			}
			fmt.Fprintf(bw, "| %s<br>%s | %s %s | %s | %s | %s | %s |\n",
				rule, mdText(f.Title), mdCell(f.Method, 32), mdCell(redactURL(f.Endpoint, opt.Verbose), max), origin,
				strings.Join(cells, "<br>"), mdText(exchangeList(f.Exchanges, opt.Verbose)), mdText(f.Remediation))
		}
		if len(shown) < len(group) {
			fmt.Fprintf(bw, "\n%d more %s findings are not listed; see the full report.\n", len(group)-len(shown), sev)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(bw, "\n### Warnings\n\n")
		for _, wmsg := range r.Warnings {
			fmt.Fprintf(bw, "- %s\n", mdCell(wmsg, max))
		}
	}
	return bw.Flush()
}

// mdRuleID keeps a rule id safe inside a code span: ids are our own, but a
// stored database could hold anything.
func mdRuleID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
