// Package catalog is corscope's rule catalogue: every rule's id, group, base
// severity, CWE and the long explanation that `corscope rules explain` prints.
package catalog

import "strings"

// Rule is one entry of the catalogue. Severity decisions beyond the base
// (credentials, private servers, context modifiers) belong to the analyzer;
// SeverityNote states them in words for people.
type Rule struct {
	ID           string
	Group        string // "A".."G"
	Title        string // one line, used as a finding's title
	BaseSeverity string // critical|high|medium|low|info: the first severity the spec names
	SeverityNote string // the spec's full base column, e.g. "high with ACAC true, else low"
	CWE          int    // 0 when the rule has none
	Summary      string // the condition, one sentence
	Why          string // what it means and why it matters
	Exploit      string // how an attacker uses it
	Fix          string // how to fix it; the first sentence stands alone as a remediation
	References   []string
}

// Group is one section of the catalogue.
type Group struct {
	ID   string
	Name string
}

var groups = []Group{
	{"A", "Origin trust"},
	{"B", "Syntax and dysfunction"},
	{"C", "Preflight and actual request pairing"},
	{"D", "Caching"},
	{"E", "Private Network Access"},
	{"F", "WebSocket"},
	{"G", "CSRF and fetch metadata"},
}

// Groups returns the catalogue's groups in order.
func Groups() []Group {
	out := make([]Group, len(groups))
	copy(out, groups)
	return out
}

// GroupName returns the name of group id ("A".."G"), or "" when unknown.
func GroupName(id string) string {
	for _, g := range groups {
		if g.ID == id {
			return g.Name
		}
	}
	return ""
}

var index = func() map[string]int {
	m := make(map[string]int, len(rules))
	for i, r := range rules {
		m[r.ID] = i
	}
	return m
}()

// All returns every rule in catalogue order (group A to G, spec order
// within a group). The slice is a copy; callers may keep or modify it.
func All() []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = r.clone()
	}
	return out
}

// Lookup returns the rule with the given id.
func Lookup(id string) (Rule, bool) {
	i, ok := index[id]
	if !ok {
		return Rule{}, false
	}
	return rules[i].clone(), true
}

// Remediation returns the first sentence of Fix: a one-line remediation
// for findings and short listings.
func (r Rule) Remediation() string {
	if i := strings.Index(r.Fix, ". "); i >= 0 {
		return r.Fix[:i+1]
	}
	return r.Fix
}

func (r Rule) clone() Rule {
	r.References = append([]string(nil), r.References...)
	return r
}
