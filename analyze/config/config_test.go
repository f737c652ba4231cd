package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

const example = `# corscope configuration
trusted_origins: ["^https://([a-z0-9-]+\\.)?corp\\.example$"]
suppressions:
  - rule: cors-wildcard
    host: https://cdn.example.com     # public CDN
    reason: "public CDN"
    expires: 2027-01-31
  - rule: cors-missing-vary-origin
    path: /static/**
    origin: foreign
    reason: static files, no cookies
    expires: 2026-06-30
baseline: corscope-baseline.json
`

func mustParse(t *testing.T, s string) *Config {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestParseExample(t *testing.T) {
	c := mustParse(t, example)
	if len(c.TrustedOrigins) != 1 || len(c.Suppressions) != 2 || c.Baseline != "corscope-baseline.json" {
		t.Fatalf("parsed %+v", c)
	}
	s := c.Suppressions[0]
	if s.Rule != "cors-wildcard" || s.Host != "https://cdn.example.com" || s.Reason != "public CDN" ||
		!s.Expires.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) || s.Line != 4 || s.Column != 5 {
		t.Errorf("suppression 0 = %+v", s)
	}
	for origin, want := range map[string]bool{
		"https://corp.example":                true,
		"https://app.corp.example":            true,
		"https://corp.example.evil.tld":       false, // anchored although the user anchored too
		"https://evilcorp.example":            false,
		"http://corp.example":                 false,
		"https://a.b.corp.example":            false,
		"https://app.corp.example\r\nX-Evil:": false,
	} {
		if got := c.Trusted(origin); got != want {
			t.Errorf("Trusted(%q) = %v, want %v", origin, got, want)
		}
	}
	var nilConfig *Config
	if nilConfig.Trusted("https://corp.example") {
		t.Error("nil config trusts")
	}
}

func TestTrustedPatternsAreAnchored(t *testing.T) {
	c := mustParse(t, `trusted_origins: ['https://app\.corp\.example']`)
	res := c.TrustedRegexps()
	if len(res) != 1 || res[0].MatchString("https://app.corp.example.evil") || !res[0].MatchString("https://app.corp.example") {
		t.Errorf("TrustedRegexps = %v", res)
	}
	if (*Config)(nil).TrustedRegexps() != nil {
		t.Error("nil config has patterns")
	}
	if c.Trusted("https://app.corp.example.attacker.net") || c.Trusted("xhttps://app.corp.example") {
		t.Error("unanchored pattern matched a longer origin")
	}
	if !c.Trusted("https://app.corp.example") {
		t.Error("exact origin not trusted")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown top-level key names line and column", "trusted_origins: []\nsupressions: []\n", []string{"corscope.yaml:2:1:", `unknown key "supressions"`}},
		{"unknown suppression key", "suppressions:\n  - rule: cors-wildcard\n    reason: x\n    expires: 2027-01-01\n    hots: a\n", []string{":5:5:", `unknown key "hots"`}},
		{"missing reason", "suppressions:\n  - rule: cors-wildcard\n    expires: 2027-01-01\n", []string{":2:5:", "reason is required"}},
		{"blank reason", "suppressions:\n  - rule: cors-wildcard\n    reason: '  '\n    expires: 2027-01-01\n", []string{"reason is required"}},
		{"missing expiry", "suppressions:\n  - rule: cors-wildcard\n    reason: x\n", []string{"expires (YYYY-MM-DD) is required"}},
		{"bad expiry", "suppressions:\n  - rule: cors-wildcard\n    reason: x\n    expires: next year\n", []string{":4:14:", "expires:", "not a date"}},
		{"missing rule", "suppressions:\n  - reason: x\n    expires: 2027-01-01\n", []string{"rule is required"}},
		{"unknown rule", "suppressions:\n  - rule: cors-wildcrad\n    reason: x\n    expires: 2027-01-01\n", []string{":2:11:", `unknown rule id "cors-wildcrad"`}},
		{"bad regex names the key", "trusted_origins:\n  - '^https://(corp\\.example$'\n", []string{":2:5:", "trusted_origins", "bad regular expression"}},
		{"empty pattern", "trusted_origins: ['']\n", []string{"trusted_origins: empty pattern"}},
		{"trusted_origins not a list", "trusted_origins: https://x\n", []string{"trusted_origins: expected a list"}},
		{"suppression not a mapping", "suppressions: [cors-wildcard]\n", []string{"must be a mapping"}},
		{"root not a mapping", "- a\n- b\n", []string{":1:1:", "must be a mapping"}},
		{"duplicate key", "baseline: a\nbaseline: b\n", []string{":2:1:", "duplicate key"}},
		{"nested value where a scalar belongs", "baseline: {a: b}\n", []string{"baseline: expected a single value"}},
		{"alias rejected", "x: &a [1]\n", []string{`unknown key "x"`}},
		{"alias value rejected", "suppressions:\n  - &s {rule: cors-wildcard, reason: x, expires: 2027-01-01}\n  - *s\n", []string{"aliases are not supported"}},
		{"merge key rejected", "suppressions:\n  - <<: {rule: cors-wildcard}\n    reason: x\n    expires: 2027-01-01\n", []string{"keys must be plain names"}},
		{"second document", "baseline: a\n---\nbaseline: b\n", []string{"second YAML document"}},
		{"syntax error", "suppressions: [\n", []string{"corscope.yaml:", "yaml:"}},
		{"empty baseline", "baseline: ''\n", []string{"baseline: empty file name"}},
		{"too long pattern", "trusted_origins: ['" + strings.Repeat("a", maxPatternLen+1) + "']\n", []string{"longer than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestParseEmptyAndOversized(t *testing.T) {
	for _, s := range []string{"", "# only a comment\n", "~\n", "---\n"} {
		c, err := Parse([]byte(s))
		if err != nil || len(c.Suppressions) != 0 || c.Baseline != "" {
			t.Errorf("Parse(%q) = %+v, %v", s, c, err)
		}
	}
	if _, err := Parse(bytes.Repeat([]byte("#"), MaxConfigSize+1)); err == nil {
		t.Error("oversized config accepted")
	}
}

func TestLoadResolvesBaselineNextToConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "corscope.yaml")
	if err := os.WriteFile(p, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.BaselinePath(), filepath.Join(dir, "corscope-baseline.json"); got != want {
		t.Errorf("BaselinePath = %q, want %q", got, want)
	}
	if err := os.WriteFile(p, []byte("suppressions:\n  - rule: cors-wildcard\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.HasPrefix(err.Error(), p+":2:5:") {
		t.Errorf("Load error %v does not start with the file name and position", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
}

func finding(rule, host, path, origin, class string) storage.Finding {
	return storage.Finding{Rule: rule, Host: host, Endpoint: host + path, PathTemplate: path, Origin: origin, OriginClass: class,
		Fingerprint: strings.Repeat("a", 64)}
}

func TestApply(t *testing.T) {
	c := mustParse(t, `suppressions:
  - rule: cors-wildcard
    host: https://cdn.example.com
    reason: public CDN
    expires: 2027-01-31
  - rule: cors-missing-vary-origin
    path: /static/**
    origin: foreign
    reason: static files
    expires: 2026-06-30
  - rule: cors-null-trusted
    reason: nobody uses this
    expires: 2030-01-01
  - rule: cors-reflect-any
    host: api.example.com
    reason: intranet only
    expires: 2030-01-01
`)
	fs := []storage.Finding{
		finding("cors-wildcard", "https://cdn.example.com", "/lib.js", "https://a.example", "foreign"),              // suppressed by 1
		finding("cors-wildcard", "https://cdn.example.com:8443", "/lib.js", "https://a.example", "foreign"),         // other host: kept
		finding("cors-wildcard", "https://www.example.com", "/", "https://a.example", "foreign"),                    // kept
		finding("cors-missing-vary-origin", "https://www.example.com", "/static/css/a.css", "https://x", "foreign"), // expired: kept
		finding("cors-missing-vary-origin", "https://www.example.com", "/api/a", "https://x", "foreign"),            // path differs: kept
		finding("cors-reflect-any", "http://api.example.com:8080", "/v1", "https://evil.example", "foreign"),        // bare host: suppressed
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	kept, suppressed, warnings := c.Split(fs, now)
	if len(kept) != 4 || len(suppressed) != 2 {
		t.Fatalf("kept %d, suppressed %d, want 4 and 2", len(kept), len(suppressed))
	}
	if kept[0].Host != "https://cdn.example.com:8443" || kept[2].PathTemplate != "/static/css/a.css" {
		t.Errorf("wrong findings kept or order changed: %+v", kept)
	}
	if suppressed[0].Suppressed != "public CDN" || suppressed[1].Suppressed != "intranet only" {
		t.Errorf("suppressed reasons: %q, %q", suppressed[0].Suppressed, suppressed[1].Suppressed)
	}
	if len(warnings) != 2 {
		t.Fatalf("warnings = %q", warnings)
	}
	if !strings.Contains(warnings[0], "corscope.yaml:6:5:") || !strings.Contains(warnings[0], "expired on 2026-06-30") ||
		!strings.Contains(warnings[0], "1 finding is reported again") {
		t.Errorf("expiry warning = %q", warnings[0])
	}
	if !strings.Contains(warnings[1], "corscope.yaml:11:5:") || !strings.Contains(warnings[1], "cors-null-trusted matched no finding") {
		t.Errorf("unused warning = %q", warnings[1])
	}
	k2, w2 := c.Apply(fs, now)
	if len(k2) != len(kept) || len(w2) != len(warnings) {
		t.Error("Apply differs from Split")
	}
	if fs[0].Suppressed != "" {
		t.Error("Split modified its input")
	}
}

func TestExpiryLastsThroughTheDay(t *testing.T) {
	c := mustParse(t, "suppressions:\n  - rule: cors-wildcard\n    reason: r\n    expires: 2027-01-31\n")
	s := &c.Suppressions[0]
	if s.Expired(time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC)) {
		t.Error("expired during its last day")
	}
	if !s.Expired(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("not expired the day after")
	}
}

func TestSuppressionMatching(t *testing.T) {
	tests := []struct {
		name, host, path, origin string
		f                        storage.Finding
		want                     bool
	}{
		{"any when only the rule is given", "", "", "", finding("cors-wildcard", "https://h", "/a", "https://o", "foreign"), true},
		{"rule must match", "", "", "", finding("cors-reflect-any", "https://h", "/a", "", ""), false},
		{"host glob one label", "https://*.example.com", "", "", finding("cors-wildcard", "https://cdn.example.com", "/", "", ""), true},
		{"host glob not across dots", "https://*.example.com", "", "", finding("cors-wildcard", "https://a.b.example.com", "/", "", ""), false},
		{"host case-insensitive", "HTTPS://CDN.example.com", "", "", finding("cors-wildcard", "https://cdn.example.com", "/", "", ""), true},
		{"bare ipv6 host", "[::1]", "", "", finding("cors-wildcard", "http://[::1]:8080", "/", "", ""), true},
		{"path star one segment", "", "/api/*", "", finding("cors-wildcard", "https://h", "/api/v1/x", "", ""), false},
		{"path double star", "", "/api/**", "", finding("cors-wildcard", "https://h", "/api/v1/x", "", ""), true},
		{"path from endpoint", "", "/x/?", "", storage.Finding{Rule: "cors-wildcard", Endpoint: "https://h/x/1"}, true},
		{"regex metacharacters are literal", "", "/a.b", "", finding("cors-wildcard", "https://h", "/axb", "", ""), false},
		{"origin glob", "", "", "https://*.partner.example", finding("cors-wildcard", "https://h", "/", "https://app.partner.example", "foreign"), true},
		{"origin glob mismatch", "", "", "https://*.partner.example", finding("cors-wildcard", "https://h", "/", "https://partner.example.evil", "foreign"), false},
		{"origin class", "", "", "null", finding("cors-wildcard", "https://h", "/", "null", "null"), true},
		{"origin class mismatch", "", "", "same-site", finding("cors-wildcard", "https://h", "/", "https://x", "foreign"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "suppressions:\n  - rule: cors-wildcard\n    reason: r\n    expires: 2027-01-31\n"
			if tt.host != "" {
				y += "    host: '" + tt.host + "'\n"
			}
			if tt.path != "" {
				y += "    path: '" + tt.path + "'\n"
			}
			if tt.origin != "" {
				y += "    origin: '" + tt.origin + "'\n"
			}
			c := mustParse(t, y)
			if got := c.Suppressions[0].Matches(&tt.f); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNilConfigKeepsEverything(t *testing.T) {
	var c *Config
	fs := []storage.Finding{finding("cors-wildcard", "https://h", "/", "", "")}
	kept, w := c.Apply(fs, time.Now())
	if len(kept) != 1 || w != nil {
		t.Errorf("nil config: %v %v", kept, w)
	}
	if c.BaselinePath() != "" {
		t.Error("nil config has a baseline")
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	fp := func(c string) string { return strings.Repeat(c, 64) }
	old := []storage.Finding{
		{Fingerprint: fp("1"), Rule: "cors-wildcard", Severity: "info", Endpoint: "https://h/a", Method: "GET", OriginClass: "foreign"},
		{Fingerprint: fp("2"), Rule: "cors-reflect-any", Severity: "low"},
		{Rule: "cors-wildcard"}, // no fingerprint: not written
	}
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, old); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteBaseline(&again, []storage.Finding{old[1], old[0]}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != again.String() {
		t.Error("baseline output depends on finding order")
	}
	p := filepath.Join(t.TempDir(), "b.json")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBaseline(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Fingerprints) != 2 || b.Fingerprints[fp("1")].Endpoint != "https://h/a" {
		t.Fatalf("loaded %+v", b.Fingerprints)
	}
	current := []storage.Finding{
		{Fingerprint: fp("2"), Rule: "cors-reflect-any"},
		{Fingerprint: fp("3"), Rule: "cors-null-trusted"},
		{Rule: "cors-wildcard"},
	}
	fresh := b.New(current)
	if len(fresh) != 2 || fresh[0].Fingerprint != fp("3") || fresh[1].Fingerprint != "" {
		t.Errorf("New = %+v", fresh)
	}
	var nb *Baseline
	if len(nb.New(current)) != 3 {
		t.Error("nil baseline filtered")
	}
}

func TestReadBaselineRejects(t *testing.T) {
	for name, s := range map[string]string{
		"syntax":          `{"version":1,"fingerprints":{`,
		"version":         `{"version":2,"tool":"corscope","fingerprints":{}}`,
		"unknown field":   `{"version":1,"tool":"corscope","fingerprints":{},"extra":1}`,
		"bad fingerprint": `{"version":1,"tool":"corscope","fingerprints":{"abc":{"rule":"x"}}}`,
		"upper-case hex":  `{"version":1,"tool":"corscope","fingerprints":{"` + strings.Repeat("A", 64) + `":{"rule":"x"}}}`,
	} {
		if _, err := ReadBaseline(strings.NewReader(s)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	b, err := ReadBaseline(strings.NewReader(`{"version":1,"tool":"corscope"}`))
	if err != nil || b.Fingerprints == nil {
		t.Errorf("empty baseline: %v %v", b, err)
	}
}

func TestExpiryAcceptsRFC3339AsWrittenDay(t *testing.T) {
	c := mustParse(t, "suppressions:\n  - rule: cors-wildcard\n    reason: r\n    expires: 2026-12-31T00:30:00+02:00\n")
	if got := c.Suppressions[0].Expires; !got.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Expires = %v, want the written day 2026-12-31", got)
	}
}

func TestBrowserSelectsThePreflightCacheToEmulate(t *testing.T) {
	c, err := Parse([]byte("browser: firefox\n"))
	if err != nil || c.Browser != "firefox" {
		t.Fatalf("browser = %+v, %v", c, err)
	}
	if _, err := Parse([]byte("browser: netscape\n")); err == nil || !strings.Contains(err.Error(), ":1:10: browser") {
		t.Fatalf("bad browser error = %v", err)
	}
}
