// Package report renders an analysis result for people (text, markdown)
// and for machines and CI (json, ndjson, SARIF 2.1.0), and decides --fail-on.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/corscope/corscope/storage"
)

// Input is one ingested file as the report lists it.
type Input struct {
	Path      string
	Format    string
	SHA256    string
	Exchanges int64
	Warnings  []string
}

// Report is everything a renderer needs. Renderers never modify it.
type Report struct {
	ToolVersion string
	Inputs      []Input
	Stats       map[string]int64
	Hosts       []storage.HostPolicy
	Findings    []storage.Finding
	Warnings    []string // e.g. expired or unused suppressions
}

// Options tune human-facing output.
type Options struct {
	// Color enables ANSI colours in text output; the CLI decides it from
	// isatty and NO_COLOR.
	Color bool
	// Verbose prints secrets in evidence in full and lists every exchange
	// id; by default cookie values, credentials and token-like parameters
	// are shortened, in every format.
	Verbose bool
}

// Formats lists the accepted --format values.
var Formats = []string{"text", "json", "ndjson", "sarif", "markdown"}

// StatKeys are the stats every JSON report carries, zero when unknown.
var StatKeys = []string{"exchanges", "preflights", "paired_preflights", "connections", "tls_decrypted", "tls_undecrypted"}

// Severities from most to least severe.
var Severities = []string{storage.SeverityCritical, storage.SeverityHigh, storage.SeverityMedium, storage.SeverityLow, storage.SeverityInfo}

// Write renders r in format to w.
func Write(w io.Writer, r *Report, format string, opt Options) error {
	if r == nil {
		r = &Report{}
	}
	switch format {
	case "text", "":
		return writeText(w, r, opt)
	case "json":
		return writeJSON(w, r, opt)
	case "ndjson":
		return writeNDJSON(w, r, opt)
	case "sarif":
		return writeSARIF(w, r, opt)
	case "markdown", "md":
		return writeMarkdown(w, r, opt)
	}
	return fmt.Errorf("unknown report format %q (want %s)", format, strings.Join(Formats, ", "))
}

// MaxSeverity returns the most severe severity among the findings that are
// not suppressed, or "" when there is none.
func MaxSeverity(fs []storage.Finding) string {
	best, rank := "", 0
	for i := range fs {
		if fs[i].Suppressed != "" {
			continue
		}
		if r := storage.SeverityRank(fs[i].Severity); r > rank {
			best, rank = fs[i].Severity, r
		}
	}
	return best
}

// FailOn reports whether any unsuppressed finding is at or above threshold
// (critical|high|medium|low|info, or never). An unknown threshold is an
// error, which the CLI turns into exit code 2.
func FailOn(fs []storage.Finding, threshold string) (bool, error) {
	t := strings.ToLower(strings.TrimSpace(threshold))
	if t == "never" || t == "" {
		return false, nil
	}
	tr := storage.SeverityRank(t)
	if tr == 0 {
		return false, fmt.Errorf("--fail-on %q: want critical, high, medium, low, info or never", threshold)
	}
	return storage.SeverityRank(MaxSeverity(fs)) >= tr, nil
}

// sorted returns the findings ordered for reading: severity (most severe
// first), then rule, endpoint, method and origin. The input is not touched.
func sorted(fs []storage.Finding) []*storage.Finding {
	out := make([]*storage.Finding, len(fs))
	for i := range fs {
		out[i] = &fs[i]
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := storage.SeverityRank(a.Severity), storage.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Endpoint != b.Endpoint {
			return a.Endpoint < b.Endpoint
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Origin < b.Origin
	})
	return out
}

// evidence returns the finding's evidence lines, secrets shortened unless
// verbose.
func evidence(f *storage.Finding, verbose bool) []string {
	out := make([]string, len(f.Evidence))
	for i, e := range f.Evidence {
		if verbose {
			out[i] = e
		} else {
			out[i] = RedactEvidence(e)
		}
	}
	return out
}

// redactURL shortens token-like query parameters of a URL unless verbose.
func redactURL(u string, verbose bool) string {
	if verbose {
		return u
	}
	return redactQuery(u)
}

// countBySeverity counts unsuppressed findings per severity.
func countBySeverity(fs []storage.Finding) map[string]int {
	m := make(map[string]int, len(Severities))
	for i := range fs {
		if fs[i].Suppressed == "" {
			m[fs[i].Severity]++
		}
	}
	return m
}

// stat returns a stats counter, 0 when absent.
func (r *Report) stat(key string) int64 { return r.Stats[key] }
