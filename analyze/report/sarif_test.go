package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/corscope/corscope/analyze/catalog"
	"github.com/corscope/corscope/storage"
)

// validateSARIF checks data against the official SARIF 2.1.0 schema
// vendored in testdata (with format assertions on: uri, uri-reference).
func validateSARIF(t *testing.T, data []byte) {
	t.Helper()
	schemaPath := filepath.Join("testdata", "sarif-schema-2.1.0.json")
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("SARIF output is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("SARIF output fails the 2.1.0 schema: %v", err)
	}
}

func TestSARIFIsSchemaValid(t *testing.T) {
	validateSARIF(t, []byte(render(t, fixture(), "sarif", Options{})))
	validateSARIF(t, []byte(render(t, &Report{}, "sarif", Options{})))
}

// The validator must reject what the schema forbids, or the test above
// proves nothing.
func TestSARIFValidatorRejectsInvalidLogs(t *testing.T) {
	out := render(t, fixture(), "sarif", Options{})
	for name, mutate := range map[string]func(string) string{
		"bad level":        func(s string) string { return strings.Replace(s, `"level": "error"`, `"level": "fatal"`, 1) },
		"unknown property": func(s string) string { return strings.Replace(s, `"ruleId":`, `"ruleID": "x", "ruleId":`, 1) },
		"wrong version":    func(s string) string { return strings.Replace(s, `"version": "2.1.0"`, `"version": "2.0.0"`, 1) },
	} {
		bad := mutate(out)
		if bad == out {
			t.Fatalf("%s: mutation did not apply", name)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("s.json", doc); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile("s.json")
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("%s: invalid SARIF accepted", name)
		}
	}
}

// sarifLog is the part of SARIF the tests read back.
type sarifLog struct {
	Version string `json:"version"`
	Schema  string `json:"$schema"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Rules   []struct {
					ID               string                `json:"id"`
					Name             string                `json:"name"`
					ShortDescription struct{ Text string } `json:"shortDescription"`
					FullDescription  struct{ Text string } `json:"fullDescription"`
					Help             struct {
						Text     string `json:"text"`
						Markdown string `json:"markdown"`
					} `json:"help"`
					HelpURI    string         `json:"helpUri"`
					Properties map[string]any `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Artifacts []struct {
			Location struct {
				URI string `json:"uri"`
			} `json:"location"`
			Hashes map[string]string `json:"hashes"`
		} `json:"artifacts"`
		Invocations []struct {
			ToolExecutionNotifications []struct {
				Message struct{ Text string } `json:"message"`
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					Name               string `json:"name"`
					FullyQualifiedName string `json:"fullyQualifiedName"`
					Kind               string `json:"kind"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Properties          map[string]any    `json:"properties"`
		} `json:"results"`
		Properties map[string]any `json:"properties"`
	} `json:"runs"`
}

func TestSARIFContent(t *testing.T) {
	out := render(t, fixture(), "sarif", Options{})
	var log sarifLog
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-schema-2.1.0.json") || len(log.Runs) != 1 {
		t.Fatalf("header: %q %q %d runs", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	d := run.Tool.Driver
	if d.Name != "corscope" || d.Version != "0.3.0" {
		t.Errorf("driver %q %q", d.Name, d.Version)
	}
	all := catalog.All()
	if len(d.Rules) != len(all) {
		t.Fatalf("%d rules declared, catalogue has %d", len(d.Rules), len(all))
	}
	for i, r := range d.Rules {
		cr := all[i]
		if r.ID != cr.ID || r.Name == "" || r.Name == r.ID || r.ShortDescription.Text != cr.Title || r.FullDescription.Text != cr.Summary {
			t.Errorf("rule %d = %+v", i, r)
		}
		if !strings.Contains(r.Help.Markdown, "**How to fix.**") || !strings.Contains(r.Help.Text, cr.Fix) || r.HelpURI == "" {
			t.Errorf("rule %s help incomplete", r.ID)
		}
		if r.Properties["security-severity"] != securitySeverity[cr.BaseSeverity] {
			t.Errorf("rule %s security-severity = %v", r.ID, r.Properties["security-severity"])
		}
		tags := strings.Join(toStrings(r.Properties["tags"]), ",")
		if !strings.Contains(tags, "security") || (cr.CWE != 0 && !strings.Contains(tags, "external/cwe/cwe-")) {
			t.Errorf("rule %s tags = %s", r.ID, tags)
		}
	}
	if len(run.Artifacts) != 2 || run.Artifacts[0].Location.URI != "captures/app.har" || run.Artifacts[0].Hashes["sha-256"] != fp("c") {
		t.Errorf("artifacts = %+v", run.Artifacts)
	}
	if n := len(run.Invocations[0].ToolExecutionNotifications); n != 2 {
		t.Errorf("%d notifications, want the report warning and the input warning", n)
	}
	// The suppressed finding is left out; four results remain.
	if len(run.Results) != 4 || run.Properties["suppressedFindings"] != 1.0 {
		t.Fatalf("%d results, properties %v", len(run.Results), run.Properties)
	}
	res := run.Results[0]
	if res.RuleID != "cors-reflect-any-credentials" || d.Rules[res.RuleIndex].ID != res.RuleID || res.Level != "error" {
		t.Errorf("result 0: %s index %d level %s", res.RuleID, res.RuleIndex, res.Level)
	}
	loc := res.Locations[0]
	if loc.PhysicalLocation.ArtifactLocation.URI != "captures/app.har" {
		t.Errorf("artifact uri = %q", loc.PhysicalLocation.ArtifactLocation.URI)
	}
	ll := loc.LogicalLocations[0]
	if !strings.HasPrefix(ll.Name, "https://api.example.com/v1/user") || !strings.HasPrefix(ll.FullyQualifiedName, "GET https://api.example.com/v1/user") {
		t.Errorf("logical location = %+v", ll)
	}
	if res.PartialFingerprints[fingerprintKey] != fp("2") || res.PartialFingerprints["primaryLocationLineHash"] == "" {
		t.Errorf("partialFingerprints = %v", res.PartialFingerprints)
	}
	if strings.Contains(res.Message.Text, "\x1b") || strings.Contains(res.Message.Text, "\u202e") || strings.Contains(out, sessionValue) {
		t.Errorf("message not sanitised or secret leaked: %q", res.Message.Text)
	}
	if len(res.Properties["exchanges"].([]any)) != 10 {
		t.Errorf("result properties = %v", res.Properties)
	}
	levels := map[string]string{}
	for _, r := range run.Results {
		levels[r.RuleID] = r.Level
	}
	if levels["cors-null-trusted"] != "warning" || levels["cors-missing-vary-origin"] != "note" || levels["cors-wildcard"] != "note" {
		t.Errorf("levels = %v", levels)
	}
}

func TestArtifactURI(t *testing.T) {
	wd, _ := os.Getwd()
	for in, want := range map[string]string{
		"-":                              "stdin",
		"captures/a b.har":               "captures/a%20b.har",
		filepath.Join(wd, "x", "y.pcap"): "x/y.pcap",
		"c:weird.pcap":                   "./c:weird.pcap",
	} {
		if got := artifactURI(in); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSARIFUnknownRuleStaysValid(t *testing.T) {
	r := &Report{Findings: []storage.Finding{{Rule: "future-rule", Severity: "", Endpoint: "https://h/"}}}
	out := render(t, r, "sarif", Options{})
	validateSARIF(t, []byte(out))
	var log sarifLog
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	rules := log.Runs[0].Tool.Driver.Rules
	last := rules[len(rules)-1]
	if last.ID != "future-rule" || last.Properties["security-severity"] != "0.5" || log.Runs[0].Results[0].RuleIndex != len(rules)-1 {
		t.Errorf("unknown rule descriptor = %+v", last)
	}
}
