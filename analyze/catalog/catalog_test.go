package catalog

import (
	"bufio"
	"github.com/corscope/corscope/internal/shared"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
)

// specRule is one row of a table in spec/rules.md.
type specRule struct {
	id, group, base string
	cwe             int
}

func findSpec(t *testing.T) string {
	t.Helper()
	return shared.Path(t, "spec", "rules.md")
}

// parseSpec reads the rule tables of groups A-G: a "## X." heading starts a
// group, and each table row after the header is one rule.
func parseSpec(t *testing.T, path string) []specRule {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []specRule
	group := ""
	hasCWE := false
	columns := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			group = ""
			h := strings.TrimPrefix(line, "## ")
			if len(h) >= 2 && h[1] == '.' && h[0] >= 'A' && h[0] <= 'G' {
				group = h[:1]
			}
			continue
		}
		if group == "" || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cells[0] == "id" {
			hasCWE = len(cells) >= 4 && cells[len(cells)-1] == "CWE"
			columns = len(cells)
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		r := specRule{id: cells[0], group: group, base: strings.Fields(cells[1])[0]}
		// A row with fewer cells than its header has no CWE cell.
		if hasCWE && len(cells) == columns {
			if c := cells[len(cells)-1]; c != "—" && c != "" {
				n, err := strconv.Atoi(c)
				if err != nil {
					t.Fatalf("spec row %q: CWE %q: %v", r.id, c, err)
				}
				r.cwe = n
			}
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEverySpecRuleIsCatalogued(t *testing.T) {
	spec := parseSpec(t, findSpec(t))
	if len(spec) < 40 {
		t.Fatalf("parsed only %d rules from the spec; parser out of date?", len(spec))
	}
	all := All()
	if len(all) != len(spec) {
		t.Errorf("catalogue has %d rules, spec %d", len(all), len(spec))
	}
	for i, s := range spec {
		r, ok := Lookup(s.id)
		if !ok {
			t.Errorf("spec rule %s missing from the catalogue", s.id)
			continue
		}
		if r.Group != s.group {
			t.Errorf("%s: group %s, spec %s", s.id, r.Group, s.group)
		}
		if r.BaseSeverity != s.base {
			t.Errorf("%s: base severity %s, spec %s", s.id, r.BaseSeverity, s.base)
		}
		if r.CWE != s.cwe {
			t.Errorf("%s: CWE %d, spec %d", s.id, r.CWE, s.cwe)
		}
		if i < len(all) && all[i].ID != s.id {
			t.Errorf("catalogue position %d is %s, spec order has %s", i, all[i].ID, s.id)
		}
	}
}

func TestRuleFieldsAreComplete(t *testing.T) {
	valid := map[string]bool{"critical": true, "high": true, "medium": true, "low": true, "info": true}
	seen := map[string]bool{}
	lastGroup := ""
	for _, r := range All() {
		if seen[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
		if GroupName(r.Group) == "" {
			t.Errorf("%s: unknown group %q", r.ID, r.Group)
		}
		if r.Group < lastGroup {
			t.Errorf("%s: group %s after group %s", r.ID, r.Group, lastGroup)
		}
		lastGroup = r.Group
		if !valid[r.BaseSeverity] {
			t.Errorf("%s: base severity %q", r.ID, r.BaseSeverity)
		}
		if !strings.HasPrefix(r.SeverityNote, r.BaseSeverity) {
			t.Errorf("%s: severity note %q does not start with the base %q", r.ID, r.SeverityNote, r.BaseSeverity)
		}
		for name, v := range map[string]string{"Title": r.Title, "Summary": r.Summary, "Why": r.Why, "Exploit": r.Exploit, "Fix": r.Fix} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %s empty", r.ID, name)
			}
			if v != strings.TrimSpace(v) || strings.Contains(v, "  ") {
				t.Errorf("%s: %s has stray whitespace: %q", r.ID, name, v)
			}
		}
		if strings.HasSuffix(r.Title, ".") {
			t.Errorf("%s: title ends with a period", r.ID)
		}
		rem := r.Remediation()
		if len(rem) < 20 || !strings.HasSuffix(rem, ".") {
			t.Errorf("%s: remediation %q is not a sentence", r.ID, rem)
		}
		if len(r.References) == 0 {
			t.Errorf("%s: no references", r.ID)
		}
		for _, ref := range r.References {
			u, err := url.Parse(ref)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				t.Errorf("%s: reference %q is not an https URL", r.ID, ref)
			}
		}
		if r.CWE != 0 {
			want := "https://cwe.mitre.org/data/definitions/" + strconv.Itoa(r.CWE) + ".html"
			found := false
			for _, ref := range r.References {
				found = found || ref == want
			}
			if !found {
				t.Errorf("%s: CWE-%d without its reference %s", r.ID, r.CWE, want)
			}
		}
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	r, ok := Lookup("cors-wildcard")
	if !ok {
		t.Fatal("cors-wildcard not found")
	}
	r.References[0] = "changed"
	again, _ := Lookup("cors-wildcard")
	if again.References[0] == "changed" {
		t.Error("Lookup exposes the catalogue's backing array")
	}
	if _, ok := Lookup("no-such-rule"); ok {
		t.Error("Lookup found an unknown id")
	}
	if GroupName("Z") != "" || len(Groups()) != 7 {
		t.Error("groups wrong")
	}
}

func TestRemediationIsFirstSentence(t *testing.T) {
	r := Rule{Fix: "Do this. Then that."}
	if got := r.Remediation(); got != "Do this." {
		t.Errorf("Remediation() = %q", got)
	}
	r.Fix = "Only one."
	if got := r.Remediation(); got != "Only one." {
		t.Errorf("Remediation() = %q", got)
	}
}

func TestExplain(t *testing.T) {
	r, _ := Lookup("cors-null-trusted")
	out := r.Explain()
	for _, want := range []string{
		"cors-null-trusted\n  The null origin is trusted\n",
		"  Group A (Origin trust). Base severity: high with ACAC true, else low.\n  CWE-942.\n",
		"\nCondition\n  The response carries",
		"\nHow to fix\n  Never allow the null origin",
		"\nReferences\n  https://portswigger.net/",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Explain lacks %q:\n%s", want, out)
		}
	}
	for _, rule := range All() {
		for _, line := range strings.Split(rule.Explain(), "\n") {
			if len(line) > explainWidth && !strings.HasPrefix(line, "  https://") && strings.Contains(strings.TrimSpace(line), " ") {
				t.Errorf("%s: line of %d columns: %q", rule.ID, len(line), line)
			}
		}
	}
}
