package catalog

import (
	"fmt"
	"strings"
)

// explainWidth is the wrap column of Explain's prose.
const explainWidth = 78

// Explain returns the long form printed by `corscope rules explain ID`:
// title, severity, CWE, condition, why it matters, how it is exploited,
// how to fix, and references, as plain text wrapped at 78 columns.
func (r Rule) Explain() string {
	var b strings.Builder
	b.WriteString(r.ID + "\n")
	wrap(&b, r.Title, "  ", explainWidth)
	meta := fmt.Sprintf("Group %s (%s). Base severity: %s.", r.Group, GroupName(r.Group), r.SeverityNote)
	if r.CWE != 0 {
		meta += fmt.Sprintf(" CWE-%d.", r.CWE)
	}
	wrap(&b, meta, "  ", explainWidth)
	for _, sec := range []struct{ head, body string }{
		{"Condition", r.Summary},
		{"Why it matters", r.Why},
		{"How it is exploited", r.Exploit},
		{"How to fix", r.Fix},
	} {
		b.WriteString("\n" + sec.head + "\n")
		wrap(&b, sec.body, "  ", explainWidth)
	}
	if len(r.References) > 0 {
		b.WriteString("\nReferences\n")
		for _, ref := range r.References {
			b.WriteString("  " + ref + "\n")
		}
	}
	return b.String()
}

// wrap writes text word-wrapped at width with indent before every line.
// A word longer than the line goes on a line of its own.
func wrap(b *strings.Builder, text, indent string, width int) {
	col := 0
	for _, w := range strings.Fields(text) {
		switch {
		case col == 0:
			b.WriteString(indent)
			col = len(indent)
		case col+1+len(w) > width:
			b.WriteString("\n" + indent)
			col = len(indent)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	if col > 0 {
		b.WriteByte('\n')
	}
}
