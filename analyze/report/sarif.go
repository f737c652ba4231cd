package report

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/corscope/corscope/analyze/catalog"
	"github.com/corscope/corscope/storage"
)

// informationURI is the tool's home page in SARIF output.
const informationURI = "https://github.com/corscope/corscope"

// fingerprintKey names our own fingerprint in partialFingerprints; the
// version suffix lets the scheme change without merging old alerts.
const fingerprintKey = "corscopeFindingHash/v1"

// securitySeverity maps severities to GitHub code scanning's numeric scale
// (over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low).
var securitySeverity = map[string]string{
	storage.SeverityCritical: "9.5",
	storage.SeverityHigh:     "8.0",
	storage.SeverityMedium:   "5.5",
	storage.SeverityLow:      "3.0",
	storage.SeverityInfo:     "0.5",
}

// secSev returns the security-severity of sev; unknown severities rank as
// info so the property is always a number, as code scanning requires.
func secSev(sev string) string {
	if s, ok := securitySeverity[sev]; ok {
		return s
	}
	return securitySeverity[storage.SeverityInfo]
}

// sarifLevel maps severities to SARIF result levels.
func sarifLevel(sev string) string {
	switch sev {
	case storage.SeverityCritical, storage.SeverityHigh:
		return "error"
	case storage.SeverityMedium:
		return "warning"
	}
	return "note"
}

// ruleName turns "cors-reflect-any" into "CorsReflectAny" (SARIF names are
// identifiers for people and must not equal the id).
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

func ruleHelp(r catalog.Rule) (text, md string) {
	var t, m strings.Builder
	fmt.Fprintf(&t, "%s\n\nWhy it matters: %s\n\nHow it is exploited: %s\n\nHow to fix: %s\n", r.Summary, r.Why, r.Exploit, r.Fix)
	fmt.Fprintf(&m, "**Condition.** %s\n\n**Why it matters.** %s\n\n**How it is exploited.** %s\n\n**How to fix.** %s\n\nBase severity: %s.",
		r.Summary, r.Why, r.Exploit, r.Fix, r.SeverityNote)
	if r.CWE != 0 {
		fmt.Fprintf(&m, " CWE-%d.", r.CWE)
	}
	m.WriteString("\n\n**References**\n\n")
	t.WriteString("\nReferences:\n")
	for _, ref := range r.References {
		fmt.Fprintf(&m, "- <%s>\n", ref)
		fmt.Fprintf(&t, "- %s\n", ref)
	}
	return t.String(), m.String()
}

func ruleDescriptor(r catalog.Rule) *sarif.ReportingDescriptor {
	text, md := ruleHelp(r)
	d := sarif.NewRule(r.ID).
		WithName(ruleName(r.ID)).
		WithShortDescription(sarif.NewMultiformatMessageString(r.Title)).
		WithFullDescription(sarif.NewMultiformatMessageString(r.Summary)).
		WithHelp(sarif.NewMultiformatMessageString(text).WithMarkdown(md)).
		WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(r.BaseSeverity)))
	if len(r.References) > 0 {
		d.WithHelpURI(r.References[0])
	}
	tags := []string{"security", "cors"}
	if r.CWE != 0 {
		tags = append(tags, "external/cwe/cwe-"+strconv.Itoa(r.CWE))
	}
	d.WithProperties(sarif.Properties{
		"security-severity": secSev(r.BaseSeverity),
		"tags":              tags,
		"precision":         "high",
		"problem.severity":  problemSeverity(r.BaseSeverity),
	})
	return d
}

// problemSeverity is the CodeQL-style severity GitHub shows for rules
// without security-severity; kept consistent with the level.
func problemSeverity(sev string) string {
	switch sarifLevel(sev) {
	case "error":
		return "error"
	case "warning":
		return "warning"
	}
	return "recommendation"
}

// artifactURI makes an input path a relative URI reference where it can:
// code scanning resolves locations against the repository root, which is
// normally the working directory of the CI step.
func artifactURI(p string) string {
	if p == "" || p == "-" {
		return "stdin"
	}
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = rel
			}
		}
	}
	u := url.URL{Path: filepath.ToSlash(p)}
	return u.String()
}

func resultMessage(f *storage.Finding, verbose bool) string {
	var b strings.Builder
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	b.WriteString(Terminal(title, maxValueShort))
	b.WriteString(": ")
	if f.Method != "" {
		b.WriteString(Terminal(f.Method, 32))
		b.WriteByte(' ')
	}
	b.WriteString(Terminal(redactURL(f.Endpoint, verbose), maxValueShort))
	if f.Origin != "" {
		b.WriteString(", origin ")
		b.WriteString(Terminal(f.Origin, maxValueShort))
		if f.OriginClass != "" {
			b.WriteString(" (" + Terminal(f.OriginClass, 32) + ")")
		}
	}
	b.WriteString(". ")
	b.WriteString(exchangeList(f.Exchanges, verbose))
	b.WriteString(".")
	if ev := evidence(f, verbose); len(ev) > 0 {
		b.WriteString(" Evidence: ")
		for i, e := range ev {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(Terminal(e, maxValueShort))
		}
		b.WriteString(".")
	}
	if f.Detail != "" {
		b.WriteString(" ")
		b.WriteString(Terminal(f.Detail, maxValueShort))
	}
	return b.String()
}

func writeSARIF(w io.Writer, r *Report, opt Options) error {
	rep, err := sarif.New(sarif.Version210)
	if err != nil {
		return err
	}
	driver := sarif.NewDriver("corscope").WithInformationURI(informationURI)
	if r.ToolVersion != "" {
		driver.WithVersion(r.ToolVersion).WithSemanticVersion(strings.TrimPrefix(r.ToolVersion, "v"))
	}
	run := sarif.NewRun(*sarif.NewTool(driver))

	// Every catalogued rule is declared, in catalogue order, so rule
	// indexes and ids are the same in every report.
	ruleIndex := map[string]int{}
	for _, cr := range catalog.All() {
		ruleIndex[cr.ID] = len(driver.Rules)
		driver.AddRule(ruleDescriptor(cr))
	}

	for _, in := range r.Inputs {
		a := run.AddArtifact()
		a.WithLocation(sarif.NewSimpleArtifactLocation(artifactURI(in.Path)))
		a.Length = -1
		a.Roles = []string{"analysisTarget"}
		if in.SHA256 != "" {
			a.Hashes = map[string]string{"sha-256": in.SHA256}
		}
	}

	inv := run.AddInvocation(true)
	for _, msg := range r.Warnings {
		n := sarif.NewNotification()
		n.Level = "warning"
		n.Message = sarif.NewTextMessage(Terminal(msg, maxValueVerbose))
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	for _, in := range r.Inputs {
		for _, msg := range in.Warnings {
			n := sarif.NewNotification()
			n.Level = "warning"
			n.Message = sarif.NewTextMessage(Terminal(in.Path+": "+msg, maxValueVerbose))
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
		}
	}

	// Findings do not record which input they came from; the first input
	// stands for the capture as a whole.
	uri := "corscope.db"
	if len(r.Inputs) > 0 {
		uri = artifactURI(r.Inputs[0].Path)
	}
	suppressed := 0
	for _, f := range sorted(r.Findings) {
		// go-sarif's suppression object serialises "status" and nulls that
		// the 2.1.0 schema rejects, so suppressed findings are left out of
		// the results (code scanning should not open alerts for them) and
		// counted in the run's properties.
		if f.Suppressed != "" {
			suppressed++
			continue
		}
		idx, ok := ruleIndex[f.Rule]
		if !ok { // a rule unknown to the catalogue still gets a valid descriptor
			idx = len(driver.Rules)
			ruleIndex[f.Rule] = idx
			title := f.Title
			if title == "" {
				title = f.Rule
			}
			driver.AddRule(sarif.NewRule(f.Rule).WithName(ruleName(f.Rule)).
				WithShortDescription(sarif.NewMultiformatMessageString(title)).
				WithProperties(sarif.Properties{"security-severity": secSev(f.Severity), "tags": []string{"security", "cors"}}))
		}
		res := sarif.NewRuleResult(f.Rule).
			WithRuleIndex(idx).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(resultMessage(f, opt.Verbose)))
		endpoint := redactURL(f.Endpoint, opt.Verbose)
		loc := sarif.NewLocationWithPhysicalLocation(
			sarif.NewPhysicalLocation().
				WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri)).
				WithRegion(sarif.NewRegion().WithStartLine(1)))
		ll := sarif.NewLogicalLocation().WithName(endpoint).WithKind("resource")
		if f.Method != "" {
			ll.WithFullyQualifiedName(f.Method + " " + endpoint)
		} else {
			ll.WithFullyQualifiedName(endpoint)
		}
		loc.WithLogicalLocations([]*sarif.LogicalLocation{ll})
		res.WithLocations([]*sarif.Location{loc})
		if f.Fingerprint != "" {
			res.WithPartialFingerPrints(map[string]interface{}{
				fingerprintKey: f.Fingerprint,
				// Supplied so upload tools do not hash "lines" of a binary capture.
				"primaryLocationLineHash": f.Fingerprint + ":1",
			})
		}
		props := sarif.Properties{
			"exchanges": nonNilIDs(f.Exchanges),
			"evidence":  evidence(f, opt.Verbose),
			"severity":  f.Severity,
		}
		if f.Origin != "" {
			props["origin"] = f.Origin
		}
		if f.OriginClass != "" {
			props["origin_class"] = f.OriginClass
		}
		props["security-severity"] = secSev(f.Severity)
		res.PropertyBag.Properties = props
		run.AddResult(res)
	}
	if suppressed > 0 {
		run.PropertyBag.Properties = sarif.Properties{"suppressedFindings": suppressed}
	}
	rep.AddRun(run)
	return rep.PrettyWrite(w)
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
