package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

const devtoolsHAR = "../../testdata/har/chromium-devtools-https.har"

func TestAuditFailsOnHighFindingsOfTheRecordedFixture(t *testing.T) {
	out, errs, code := runCLI(t, "audit", "--format", "json", "--fail-on", "high", devtoolsHAR)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1; stderr %s", code, errs)
	}
	var rep struct {
		Tool   struct{ Name string } `json:"tool"`
		Inputs []struct {
			Path, Format, SHA256 string
			Exchanges            int
		} `json:"inputs"`
		Stats    map[string]int64 `json:"stats"`
		Findings []struct {
			Rule, Severity, Endpoint, Fingerprint string
			Exchanges                             []int64
			Evidence                              []string
			CWE                                   int
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if rep.Tool.Name != "corscope" || len(rep.Inputs) != 1 || rep.Inputs[0].Format != "har" || len(rep.Inputs[0].SHA256) != 64 {
		t.Fatalf("header: %+v %+v", rep.Tool, rep.Inputs)
	}
	for _, k := range []string{"exchanges", "preflights", "paired_preflights", "connections", "tls_decrypted", "tls_undecrypted"} {
		if _, ok := rep.Stats[k]; !ok {
			t.Errorf("stats lacks %q", k)
		}
	}
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "cors-reflect-any-credentials" && strings.HasSuffix(f.Endpoint, "/reflect") {
			found = len(f.Exchanges) > 0 && len(f.Evidence) > 0 && f.CWE == 942 && len(f.Fingerprint) == 64
		}
	}
	if !found {
		t.Fatal("no complete cors-reflect-any-credentials finding for /reflect")
	}
	// The same audit without --fail-on exits 0.
	if _, _, code := runCLI(t, "audit", "--format", "ndjson", devtoolsHAR); code != exitOK {
		t.Fatalf("exit %d without --fail-on", code)
	}
}

func TestExchangesNDJSONHasTheSpecFieldsExactly(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	if _, errs, code := runCLI(t, "ingest", "--db", db, devtoolsHAR); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errs)
	}
	out, _, code := runCLI(t, "exchanges", "--db", db, "--format", "ndjson")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	required := []string{"id", "input", "started", "client", "server", "tls", "proto", "method", "url", "status",
		"request_headers", "response_headers", "request_body_bytes", "response_body_bytes", "warnings"}
	optional := map[string]bool{"preflight": true, "actual": true}
	lines, withPreflight, withActual := 0, 0, 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		lines++
		for _, k := range required {
			if _, ok := rec[k]; !ok {
				t.Fatalf("line %d lacks %q", lines, k)
			}
		}
		var extra []string
		for k := range rec {
			if !optional[k] && !contains(required, k) {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			t.Fatalf("line %d has fields outside the spec: %v", lines, extra)
		}
		if _, ok := rec["preflight"]; ok {
			withPreflight++
		}
		if _, ok := rec["actual"]; ok {
			withActual++
		}
	}
	if lines == 0 || withPreflight == 0 || withActual == 0 {
		t.Fatalf("%d records, %d with preflight, %d with actual", lines, withPreflight, withActual)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExitCodesForBrokenInputs(t *testing.T) {
	dir := t.TempDir()
	full, err := os.ReadFile(devtoolsHAR)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.har")
	os.WriteFile(cut, full[:len(full)*2/3], 0o600)
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("GIF89a not a capture"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"HAR cut mid-entry", []string{"ingest", "--db", filepath.Join(dir, "a.db"), cut}, exitPartial, cut + ": entry "},
		{"garbage", []string{"ingest", "--db", filepath.Join(dir, "b.db"), garbage}, exitUsage, garbage + ": not a pcap, pcapng or HAR file"},
		{"unknown format", []string{"report", "--db", filepath.Join(dir, "c.db"), "--format", "xml"}, exitUsage, "unknown --format"},
		{"unknown flag", []string{"ingest", "--bogus"}, exitUsage, "unknown flag"},
		{"audit of a cut HAR still reports", []string{"audit", "--format", "json", cut}, exitPartial, "entry "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q", code, tc.code, errs)
			}
			if strings.Contains(errs, "goroutine ") {
				t.Fatal("stack trace on stderr")
			}
		})
	}
}

func TestExportHARRoundTripKeepsHeaders(t *testing.T) {
	dir := t.TempDir()
	db1, db2 := filepath.Join(dir, "1.db"), filepath.Join(dir, "2.db")
	exported := filepath.Join(dir, "out.har")
	if _, errs, code := runCLI(t, "ingest", "--db", db1, devtoolsHAR); code != 0 {
		t.Fatal(errs)
	}
	if _, errs, code := runCLI(t, "export", "har", "--db", db1, "-o", exported); code != 0 {
		t.Fatal(errs)
	}
	if st, err := os.Stat(exported); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("exported file mode: %v %v", st, err)
	}
	if _, errs, code := runCLI(t, "ingest", "--db", db2, exported); code != 0 {
		t.Fatal(errs)
	}
	a, _, _ := runCLI(t, "exchanges", "--db", db1, "--format", "json")
	b, _, _ := runCLI(t, "exchanges", "--db", db2, "--format", "json")
	type rec struct {
		Method, URL     string
		Status          int
		RequestHeaders  [][2]string `json:"request_headers"`
		ResponseHeaders [][2]string `json:"response_headers"`
		Preflight       int64
	}
	var ra, rb []rec
	if err := json.Unmarshal([]byte(a), &ra); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &rb); err != nil {
		t.Fatal(err)
	}
	if len(ra) != len(rb) || len(ra) == 0 {
		t.Fatalf("%d exchanges before, %d after", len(ra), len(rb))
	}
	for i := range ra {
		x, y := ra[i], rb[i]
		if x.Method != y.Method || x.URL != y.URL || x.Status != y.Status || (x.Preflight == 0) != (y.Preflight == 0) {
			t.Fatalf("exchange %d differs: %+v vs %+v", i, x, y)
		}
		if len(x.RequestHeaders) != len(y.RequestHeaders) || len(x.ResponseHeaders) != len(y.ResponseHeaders) {
			t.Fatalf("exchange %d header count differs", i)
		}
		for j := range x.ResponseHeaders {
			if x.ResponseHeaders[j] != y.ResponseHeaders[j] {
				t.Fatalf("exchange %d header %d: %q vs %q", i, j, x.ResponseHeaders[j], y.ResponseHeaders[j])
			}
		}
	}
}

func TestRulesExplainAndUnknownRule(t *testing.T) {
	out, _, code := runCLI(t, "rules", "explain", "cors-reflect-any-credentials")
	if code != 0 || !strings.Contains(out, "CWE-942") {
		t.Fatalf("explain: exit %d, %q", code, out)
	}
	if _, errs, code := runCLI(t, "rules", "explain", "no-such-rule"); code != exitUsage || !strings.Contains(errs, "no rule") {
		t.Fatalf("unknown rule: exit %d, %q", code, errs)
	}
}

func TestInternalErrorIsOneLineAndExit70(t *testing.T) {
	// A panicking command stands in for a bug anywhere below run().
	var out, errb bytes.Buffer
	panicTestHook = func() { panic("boom\nsecond line") }
	defer func() { panicTestHook = nil }()
	code := run(context.Background(), []string{"version"}, &out, &errb)
	msg := errb.String()
	if code != exitBug || strings.Count(msg, "\n") != 1 || strings.Contains(msg, "goroutine ") ||
		!strings.Contains(msg, "internal error") || !strings.Contains(msg, "corscope-crash-") {
		t.Fatalf("exit %d, stderr %q", code, msg)
	}
	path := strings.TrimSpace(msg[strings.Index(msg, "details in ")+len("details in "):])
	path = strings.TrimSuffix(path, ", please report them")
	data, err := os.ReadFile(path)
	os.Remove(path)
	if err != nil || !strings.Contains(string(data), "goroutine ") {
		t.Fatalf("crash file %s: %v", path, err)
	}
}

func TestErrorMessagesNeverCarryTerminalEscapes(t *testing.T) {
	dir := t.TempDir()
	// A file name and content made of escape sequences: whatever the
	// message quotes must reach the terminal inert.
	name := filepath.Join(dir, "evil\x1b[2J\x1b]8;;https://x/\x07.har")
	os.WriteFile(name, []byte("{\"log\":{\"entries\":[{\x1b[31m"), 0o600)
	_, errs, code := runCLI(t, "ingest", "--db", filepath.Join(dir, "e.db"), name)
	if code == 0 || strings.ContainsAny(errs, "\x1b\x07") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(errs, `\x1b`) {
		t.Fatalf("escape not shown inert: %q", errs)
	}
}
