package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/corscope/corscope/storage"
)

// ANSI styles; used only when Options.Color is set.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiYellow  = "\x1b[33m"
	ansiCyan    = "\x1b[36m"
	ansiMagenta = "\x1b[35m"
	ansiGreen   = "\x1b[32m"
)

var severityStyle = map[string]string{
	storage.SeverityCritical: ansiBold + ansiMagenta,
	storage.SeverityHigh:     ansiBold + ansiRed,
	storage.SeverityMedium:   ansiYellow,
	storage.SeverityLow:      ansiCyan,
	storage.SeverityInfo:     ansiDim,
}

// maxIDsShort is how many exchange ids a finding lists in compact output.
const maxIDsShort = 8

// maxOriginsShort is how many allowed origins (and inconsistent endpoints)
// a host lists in compact output: a reflect-any host may have echoed
// thousands of probe origins.
const maxOriginsShort = 12

// textWriter writes text output. Every string that came from the wire goes
// through wire(); only our own constants are written raw.
type textWriter struct {
	w   *bufio.Writer
	opt Options
}

func (t *textWriter) style(st, s string) string {
	if !t.opt.Color || st == "" {
		return s
	}
	return st + s + ansiReset
}

// wire sanitises a wire-supplied string for the terminal.
func (t *textWriter) wire(s string) string {
	if t.opt.Verbose {
		return Terminal(s, maxValueVerbose)
	}
	return Terminal(s, maxValueShort)
}

func (t *textWriter) printf(format string, args ...any) { fmt.Fprintf(t.w, format, args...) }

func writeText(w io.Writer, r *Report, opt Options) error {
	t := &textWriter{w: bufio.NewWriter(w), opt: opt}
	t.header(r)
	t.findings(r)
	t.hosts(r)
	t.warnings(r)
	t.summary(r)
	return t.w.Flush()
}

func (t *textWriter) header(r *Report) {
	version := r.ToolVersion
	if version == "" {
		version = "(dev)"
	}
	t.printf("%s %s: %d exchanges, %d preflights (%d paired), %d connections",
		t.style(ansiBold, "corscope"), t.wire(version), r.stat("exchanges"), r.stat("preflights"),
		r.stat("paired_preflights"), r.stat("connections"))
	if d, u := r.stat("tls_decrypted"), r.stat("tls_undecrypted"); d+u > 0 {
		t.printf(", TLS %d decrypted / %d not", d, u)
	}
	t.printf("\n")
	for _, in := range r.Inputs {
		t.printf("  %s  %s  %d exchanges\n", t.wire(in.Path), t.wire(in.Format), in.Exchanges)
		for _, w := range in.Warnings {
			t.printf("    %s %s\n", t.style(ansiYellow, "warning:"), t.wire(w))
		}
	}
}

func (t *textWriter) findings(r *Report) {
	if len(r.Findings) == 0 {
		t.printf("\n%s\n", t.style(ansiGreen, "No findings."))
		return
	}
	current := "\x00"
	for _, f := range sorted(r.Findings) {
		if f.Severity != current {
			current = f.Severity
			n := 0
			for i := range r.Findings {
				if r.Findings[i].Severity == current {
					n++
				}
			}
			label := strings.ToUpper(current)
			if label == "" {
				label = "UNRATED"
			}
			t.printf("\n%s\n", t.style(severityStyle[current], label+" ("+strconv.Itoa(n)+")"))
		}
		t.finding(f)
	}
}

func (t *textWriter) finding(f *storage.Finding) {
	sev := t.style(severityStyle[f.Severity], fmt.Sprintf("%-8s", f.Severity))
	method := f.Method
	if method == "" {
		method = "-"
	}
	t.printf("  %s %s  %s %s\n", sev, t.style(ansiBold, t.wire(f.Rule)), t.wire(method), t.wire(redactURL(f.Endpoint, t.opt.Verbose)))
	t.printf("           %s\n", t.wire(f.Title))
	if f.Origin != "" || f.OriginClass != "" {
		cls := ""
		if f.OriginClass != "" {
			cls = " (" + t.wire(f.OriginClass) + ")"
		}
		t.printf("           origin %s%s\n", t.wire(f.Origin), cls)
	}
	ev := evidence(f, t.opt.Verbose)
	shown := ev
	if !t.opt.Verbose && len(shown) > maxOriginsShort {
		shown = shown[:maxOriginsShort]
	}
	for _, e := range shown {
		t.printf("           %s %s\n", t.style(ansiDim, "|"), t.wire(e))
	}
	if n := len(ev) - len(shown); n > 0 {
		t.printf("           %s\n", t.style(ansiDim, fmt.Sprintf("… %d more evidence lines", n)))
	}
	if f.Detail != "" {
		t.printf("           %s\n", t.wire(f.Detail))
	}
	if f.Remediation != "" {
		t.printf("           fix: %s\n", t.wire(f.Remediation))
	}
	t.printf("           %s\n", t.style(ansiDim, exchangeList(f.Exchanges, t.opt.Verbose)))
	if f.Suppressed != "" {
		t.printf("           suppressed: %s\n", t.wire(f.Suppressed))
	}
}

// exchangeList names a finding's exchanges, at most maxIDsShort unless
// verbose.
func exchangeList(ids []int64, verbose bool) string {
	if len(ids) == 0 {
		return "no exchange ids"
	}
	var b strings.Builder
	if len(ids) == 1 {
		b.WriteString("exchange ")
	} else {
		b.WriteString(strconv.Itoa(len(ids)))
		b.WriteString(" exchanges: ")
	}
	n := len(ids)
	if !verbose && n > maxIDsShort {
		n = maxIDsShort
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(ids[i], 10))
	}
	if n < len(ids) {
		fmt.Fprintf(&b, ", … %d more", len(ids)-n)
	}
	return b.String()
}

func (t *textWriter) hosts(r *Report) {
	if len(r.Hosts) == 0 {
		return
	}
	t.printf("\n%s\n", t.style(ansiBold, "HOSTS"))
	for _, h := range r.Hosts {
		var traits []string
		if h.ReflectAny {
			traits = append(traits, t.style(ansiRed, "reflects any origin"))
		}
		if h.Wildcard {
			traits = append(traits, "wildcard *")
		}
		if h.Credentials {
			traits = append(traits, "credentials")
		}
		if h.VaryOrigin != "" {
			traits = append(traits, "Vary: Origin "+t.wire(h.VaryOrigin))
		}
		traits = append(traits, strconv.Itoa(h.Exchanges)+" exchanges")
		t.printf("  %s  %s\n", t.style(ansiBold, t.wire(h.Host)), strings.Join(traits, ", "))
		origins := h.AllowedOrigins
		if !t.opt.Verbose && len(origins) > maxOriginsShort {
			origins = origins[:maxOriginsShort]
		}
		for _, a := range origins {
			cred := ""
			if a.Credentials {
				cred = "  credentials"
			}
			t.printf("    %-12s %s%s\n", t.wire(a.Class), t.wire(a.Origin), cred)
		}
		if n := len(h.AllowedOrigins) - len(origins); n > 0 {
			t.printf("    %s\n", t.style(ansiDim, fmt.Sprintf("… %d more allowed origins (--verbose lists all)", n)))
		}
		incons := h.Inconsistent
		if !t.opt.Verbose && len(incons) > maxOriginsShort {
			incons = incons[:maxOriginsShort]
		}
		for _, e := range incons {
			t.printf("    %s %s\n", t.style(ansiYellow, "inconsistent policy:"), t.wire(e))
		}
		if n := len(h.Inconsistent) - len(incons); n > 0 {
			t.printf("    %s\n", t.style(ansiDim, fmt.Sprintf("… %d more inconsistent endpoints", n)))
		}
	}
}

func (t *textWriter) warnings(r *Report) {
	if len(r.Warnings) == 0 {
		return
	}
	t.printf("\n%s\n", t.style(ansiBold, "WARNINGS"))
	for _, w := range r.Warnings {
		t.printf("  %s\n", t.wire(w))
	}
}

func (t *textWriter) summary(r *Report) {
	counts := countBySeverity(r.Findings)
	var parts []string
	for _, s := range Severities {
		if counts[s] > 0 {
			parts = append(parts, t.style(severityStyle[s], strconv.Itoa(counts[s])+" "+s))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "0 findings")
	}
	t.printf("\n%s %s\n", t.style(ansiBold, "Summary:"), strings.Join(parts, ", "))
}
