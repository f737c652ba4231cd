package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/corscope/corscope/analyze/catalog"
	"github.com/corscope/corscope/storage"
)

const (
	sessionValue = "s3cr3tS3ssionValue0123456789abcd" // 32 chars
	bearerToken  = "eyJhbGciOiJIUzI1NiJ9.payload.signature"
	hostileOrig  = "https://evil.example\x1b]8;;https://phish.example\x07click\x1b]8;;\x07\u202egnp.exe"
)

func fp(c string) string { return strings.Repeat(c, 64) }

// fixture is a report with findings of several severities, hostile wire
// strings and secrets in evidence.
func fixture() *Report {
	return &Report{
		ToolVersion: "0.3.0",
		Inputs: []Input{
			{Path: "captures/app.har", Format: "har", SHA256: fp("c"), Exchanges: 120, Warnings: []string{"entry 7: response missing"}},
			{Path: "captures/more.pcap", Format: "pcap", SHA256: fp("d"), Exchanges: 3},
		},
		Stats: map[string]int64{"exchanges": 123, "preflights": 10, "paired_preflights": 9, "connections": 40},
		Hosts: []storage.HostPolicy{{
			Host:        "https://api.example.com",
			ReflectAny:  true,
			Credentials: true,
			VaryOrigin:  "never",
			Exchanges:   50,
			AllowedOrigins: []storage.AllowedOrigin{
				{Origin: "https://evil.example", Class: "foreign", Credentials: true, Exchanges: 3},
				{Origin: hostileOrig, Class: "bypass", Credentials: false, Exchanges: 1},
			},
			Inconsistent: []string{"/v1/user vs /v1/admin"},
		}},
		Findings: []storage.Finding{
			{
				Fingerprint: fp("1"), Rule: "cors-wildcard", Severity: "info", Title: "Access-Control-Allow-Origin is the wildcard *",
				Host: "https://cdn.example.com", Endpoint: "https://cdn.example.com/lib.js", Method: "GET", Origin: "https://a.example", OriginClass: "foreign",
				Exchanges: []int64{1}, Evidence: []string{"Access-Control-Allow-Origin: *"}, CWE: 942, Remediation: "Keep it public.",
			},
			{
				Fingerprint: fp("2"), Rule: "cors-reflect-any-credentials", Severity: "high", Title: "Any origin is reflected with credentials",
				Host: "https://api.example.com", Endpoint: "https://api.example.com/v1/user?access_token=" + bearerToken, Method: "GET",
				Origin: hostileOrig, OriginClass: "bypass",
				Exchanges: []int64{17, 18, 19, 20, 21, 22, 23, 24, 25, 26},
				Evidence: []string{
					"Origin: " + hostileOrig,
					"Access-Control-Allow-Origin: " + hostileOrig,
					"Access-Control-Allow-Credentials: true",
					"Cookie: session=" + sessionValue + "; theme=dark",
					"Authorization: Bearer " + bearerToken,
				},
				CWE: 942, Remediation: "Use an allow-list.", Detail: "+1: session cookie is SameSite=None",
			},
			{
				Fingerprint: fp("3"), Rule: "cors-missing-vary-origin", Severity: "low", Title: "Dynamic ACAO without Vary: Origin",
				Host: "https://api.example.com", Endpoint: "https://api.example.com/v1/{id}", Method: "GET", Origin: "https://b.example", OriginClass: "foreign",
				Exchanges: []int64{30, 31}, Evidence: []string{"Access-Control-Allow-Origin: https://b.example", "Vary: Accept-Encoding"}, CWE: 524,
				Remediation: "Add Vary: Origin.",
			},
			{
				Fingerprint: fp("4"), Rule: "cors-null-trusted", Severity: "medium", Title: "The null origin | is trusted",
				Host: "https://api.example.com", Endpoint: "https://api.example.com/v1/x", Method: "POST", Origin: "null", OriginClass: "null",
				Exchanges: []int64{40}, Evidence: []string{"Access-Control-Allow-Origin: null"}, CWE: 942, Remediation: "Never allow null.",
			},
			{
				Fingerprint: fp("5"), Rule: "cors-wildcard", Severity: "critical", Title: "suppressed one",
				Endpoint: "https://x.example/", Exchanges: []int64{50}, Suppressed: "accepted risk",
			},
		},
		Warnings: []string{"corscope.yaml:4:5: suppression of cors-wildcard expired on 2026-01-01; 1 finding is reported again"},
	}
}

func render(t *testing.T, r *Report, format string, opt Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, r, format, opt); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return buf.String()
}

func TestJSONFollowsTheContract(t *testing.T) {
	out := render(t, fixture(), "json", Options{})
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	tool := doc["tool"].(map[string]any)
	if tool["name"] != "corscope" || tool["version"] != "0.3.0" {
		t.Errorf("tool = %v", tool)
	}
	inputs := doc["inputs"].([]any)
	in0 := inputs[0].(map[string]any)
	if in0["path"] != "captures/app.har" || in0["format"] != "har" || in0["sha256"] != fp("c") || in0["exchanges"] != 120.0 ||
		len(in0["warnings"].([]any)) != 1 {
		t.Errorf("inputs[0] = %v", in0)
	}
	if w, ok := inputs[1].(map[string]any)["warnings"].([]any); !ok || len(w) != 0 {
		t.Errorf("inputs[1].warnings must be an empty array, got %v", inputs[1].(map[string]any)["warnings"])
	}
	stats := doc["stats"].(map[string]any)
	for _, k := range StatKeys {
		if _, ok := stats[k]; !ok {
			t.Errorf("stats lacks %q", k)
		}
	}
	if stats["exchanges"] != 123.0 || stats["tls_decrypted"] != 0.0 {
		t.Errorf("stats = %v", stats)
	}
	host := doc["hosts"].([]any)[0].(map[string]any)
	if host["origin"] != "https://api.example.com" {
		t.Errorf("host origin = %v", host["origin"])
	}
	ao := host["allowed_origins"].([]any)[0].(map[string]any)
	if ao["origin"] != "https://evil.example" || ao["class"] != "foreign" || ao["credentials"] != true {
		t.Errorf("allowed origin = %v", ao)
	}
	fs := doc["findings"].([]any)
	if len(fs) != 5 {
		t.Fatalf("%d findings", len(fs))
	}
	// Most severe first.
	var sevs []string
	for _, f := range fs {
		sevs = append(sevs, f.(map[string]any)["severity"].(string))
	}
	if strings.Join(sevs, ",") != "critical,high,medium,low,info" {
		t.Errorf("order = %v", sevs)
	}
	f := fs[1].(map[string]any)
	for _, k := range []string{"fingerprint", "rule", "severity", "title", "endpoint", "method", "origin", "exchanges", "evidence", "cwe", "remediation"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q", k)
		}
	}
	if f["rule"] != "cors-reflect-any-credentials" || f["cwe"] != 942.0 || f["origin"] != hostileOrig || len(f["exchanges"].([]any)) != 10 {
		t.Errorf("finding = %v", f)
	}
	ev := strings.Join(toStrings(f["evidence"]), "\n")
	if strings.Contains(ev, sessionValue) || strings.Contains(ev, bearerToken) {
		t.Errorf("secrets not shortened by default: %s", ev)
	}
	if !strings.Contains(ev, "Cookie: session=s3…(32 chars); theme=…(4 chars)") || !strings.Contains(ev, "Authorization: Bearer ey…(38 chars)") {
		t.Errorf("evidence = %s", ev)
	}
	if strings.Contains(f["endpoint"].(string), bearerToken) {
		t.Errorf("token in endpoint query not shortened: %v", f["endpoint"])
	}
	if fs[0].(map[string]any)["suppressed"] != "accepted risk" {
		t.Error("suppression reason missing")
	}

	verbose := render(t, fixture(), "json", Options{Verbose: true})
	if !strings.Contains(verbose, sessionValue) || !strings.Contains(verbose, bearerToken) {
		t.Error("Verbose must keep secrets in full")
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestJSONOfEmptyReportHasArrays(t *testing.T) {
	out := render(t, &Report{}, "json", Options{})
	for _, want := range []string{`"inputs": []`, `"hosts": []`, `"findings": []`, `"warnings": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("empty report lacks %s:\n%s", want, out)
		}
	}
}

func TestNDJSONOneFindingPerLine(t *testing.T) {
	out := render(t, fixture(), "ndjson", Options{})
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5", len(lines))
	}
	for i, l := range lines {
		var f map[string]any
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if f["fingerprint"] == nil || f["rule"] == nil {
			t.Errorf("line %d lacks fields: %v", i, f)
		}
	}
	if render(t, &Report{}, "ndjson", Options{}) != "" {
		t.Error("no findings must print nothing")
	}
}

// escapes returns every ESC sequence in s.
func escapes(s string) []string {
	var out []string
	for i := strings.IndexByte(s, 0x1b); i >= 0; i = strings.IndexByte(s, 0x1b) {
		end := i + 1
		for end < len(s) && end-i < 8 && s[end] != 'm' {
			end++
		}
		out = append(out, s[i:min(end+1, len(s))])
		s = s[end:]
	}
	return out
}

func TestTextIsInertForTerminals(t *testing.T) {
	for _, color := range []bool{false, true} {
		out := render(t, fixture(), "text", Options{Color: color})
		for _, e := range escapes(out) {
			if !color {
				t.Fatalf("ESC byte without colour: %q", e)
			}
			if !strings.HasPrefix(e, "\x1b[") || !strings.HasSuffix(e, "m") {
				t.Fatalf("non-SGR escape reached the output: %q", e)
			}
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 && c != '\n' && c != 0x1b || c == 0x7f {
				t.Fatalf("control byte %#x in text output", c)
			}
		}
		if strings.Contains(out, "\u202e") || strings.Contains(out, "\x07") {
			t.Error("bidi override or BEL reached the output")
		}
		if !strings.Contains(out, `\x1b]8;;https://phish.example\x07click`) || !strings.Contains(out, "<U+202E>gnp.exe") {
			t.Errorf("hostile origin not shown escaped:\n%s", out)
		}
	}
}

func TestTextLayout(t *testing.T) {
	out := render(t, fixture(), "text", Options{})
	order := []string{"CRITICAL (1)", "HIGH (1)", "MEDIUM (1)", "LOW (1)", "INFO (1)", "HOSTS", "WARNINGS", "Summary:"}
	last := -1
	for _, h := range order {
		i := strings.Index(out, h)
		if i < 0 || i < last {
			t.Fatalf("heading %q missing or out of order:\n%s", h, out)
		}
		last = i
	}
	for _, want := range []string{
		"corscope 0.3.0: 123 exchanges, 10 preflights (9 paired), 40 connections",
		"captures/app.har  har  120 exchanges",
		"warning: entry 7: response missing",
		"cors-reflect-any-credentials  GET https://api.example.com/v1/user?access_token=ey…(38 chars)",
		"Cookie: session=s3…(32 chars); theme=…(4 chars)",
		"10 exchanges: 17, 18, 19, 20, 21, 22, 23, 24, … 2 more",
		"fix: Use an allow-list.",
		"+1: session cookie is SameSite=None",
		"https://api.example.com  reflects any origin, credentials, Vary: Origin never, 50 exchanges",
		"foreign      https://evil.example  credentials",
		"inconsistent policy: /v1/user vs /v1/admin",
		"suppressed: accepted risk",
		"Summary: 1 high, 1 medium, 1 low, 1 info", // the suppressed critical does not count
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, sessionValue) {
		t.Error("cookie value printed in full without Verbose")
	}
	v := render(t, fixture(), "text", Options{Verbose: true})
	if !strings.Contains(v, sessionValue) || !strings.Contains(v, "17, 18, 19, 20, 21, 22, 23, 24, 25, 26") {
		t.Error("Verbose must print secrets and every exchange id")
	}
	if !strings.Contains(render(t, &Report{}, "text", Options{}), "No findings.") {
		t.Error("empty report does not say so")
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	if strings.Contains(render(t, fixture(), "text", Options{}), "\x1b[") {
		t.Error("colour without Options.Color")
	}
	if !strings.Contains(render(t, fixture(), "text", Options{Color: true}), ansiBold+ansiRed+"HIGH (1)"+ansiReset) {
		t.Error("high heading not coloured")
	}
}

func TestMarkdownTables(t *testing.T) {
	out := render(t, fixture(), "markdown", Options{})
	for _, want := range []string{"## corscope report", "### Critical (1)", "### High (1)", "### Medium (1)", "### Low (1)", "### Info (1)", "### Warnings",
		"**1 high**", "`cors-reflect-any-credentials`", "`cors-wildcard` (suppressed)", `The null origin \| is trusted`} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Rule") {
			continue
		}
		// Seven unescaped pipes make six cells: nothing from the wire adds one.
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if n != 7 {
			t.Errorf("row has %d cell separators: %s", n, line)
		}
		if strings.ContainsAny(line, "\x1b\x07\u202e") || strings.Contains(line, "](") || strings.Contains(line, "<script") {
			t.Errorf("row carries raw hostile text: %q", line)
		}
	}
	if strings.Contains(out, sessionValue) {
		t.Error("cookie value in markdown without Verbose")
	}
	hostile := &Report{Findings: []storage.Finding{{Rule: "cors-wildcard", Severity: "info", Endpoint: "https://h/", Origin: "https://x.example/<script>alert(1)</script>|[a](http://phish)`*"}}}
	md := render(t, hostile, "markdown", Options{})
	if strings.Contains(md, "<script>") || strings.Contains(md, "[a](") || strings.Contains(md, "`*") {
		t.Errorf("markdown injection survived: %s", md)
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, fixture(), "xml", Options{}); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("err = %v", err)
	}
}

func TestMaxSeverityAndFailOn(t *testing.T) {
	fs := fixture().Findings // has a suppressed critical and a high
	if got := MaxSeverity(fs); got != "high" {
		t.Errorf("MaxSeverity = %q, want high (suppressed critical ignored)", got)
	}
	if MaxSeverity(nil) != "" {
		t.Error("MaxSeverity(nil) not empty")
	}
	tests := []struct {
		threshold string
		want      bool
	}{
		{"critical", false}, {"high", true}, {"HIGH", true}, {"medium", true}, {"low", true}, {"info", true}, {"never", false}, {"", false},
	}
	for _, tt := range tests {
		got, err := FailOn(fs, tt.threshold)
		if err != nil || got != tt.want {
			t.Errorf("FailOn(%q) = %v, %v; want %v", tt.threshold, got, err, tt.want)
		}
	}
	if fail, err := FailOn(nil, "info"); fail || err != nil {
		t.Errorf("no findings: %v %v", fail, err)
	}
	if _, err := FailOn(fs, "severe"); err == nil {
		t.Error("unknown threshold accepted")
	}
	lowOnly := []storage.Finding{{Severity: "low"}}
	if fail, _ := FailOn(lowOnly, "high"); fail {
		t.Error("low finding fails --fail-on high")
	}
}

func TestEveryCatalogRuleRendersInSARIF(t *testing.T) {
	var fs []storage.Finding
	for i, r := range catalog.All() {
		fs = append(fs, storage.Finding{Rule: r.ID, Severity: r.BaseSeverity, Title: r.Title, Endpoint: "https://h.example/p", Fingerprint: fp(string("0123456789abcdef"[i%16]))})
	}
	out := render(t, &Report{Findings: fs, Inputs: []Input{{Path: "a.har"}}}, "sarif", Options{})
	validateSARIF(t, []byte(out))
}

func TestTextCapsHostOrigins(t *testing.T) {
	r := fixture()
	h := &r.Hosts[0]
	for i := 0; i < 40; i++ {
		h.AllowedOrigins = append(h.AllowedOrigins, storage.AllowedOrigin{Origin: fmt.Sprintf("https://probe%d.example", i), Class: "foreign"})
	}
	out := render(t, r, "text", Options{})
	if strings.Count(out, "https://probe") != maxOriginsShort-2 || !strings.Contains(out, "… 30 more allowed origins") {
		t.Errorf("host origins not capped:\n%s", out)
	}
	if strings.Count(render(t, r, "text", Options{Verbose: true}), "https://probe") != 40 {
		t.Error("verbose does not list every origin")
	}
}

func TestTextCapsEvidence(t *testing.T) {
	r := &Report{Findings: []storage.Finding{{Rule: "cors-wildcard", Severity: "info"}}}
	for i := 0; i < 20; i++ {
		r.Findings[0].Evidence = append(r.Findings[0].Evidence, fmt.Sprintf("X-Line: %d", i))
	}
	out := render(t, r, "text", Options{})
	if strings.Count(out, "X-Line:") != maxOriginsShort || !strings.Contains(out, "… 8 more evidence lines") {
		t.Errorf("evidence not capped:\n%s", out)
	}
}
