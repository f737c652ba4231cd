package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// secretsIn returns which of the secrets appear in the database's files.
func secretsIn(t *testing.T, db string, secrets []string) []string {
	t.Helper()
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(db + suffix)
		if err == nil {
			all = append(all, b...)
		}
	}
	if len(all) == 0 {
		t.Fatalf("no database at %s", db)
	}
	var found []string
	for _, s := range secrets {
		if bytes.Contains(all, []byte(s)) {
			found = append(found, s)
		}
	}
	return found
}

type findingKey struct {
	Rule, Severity, Endpoint, Method, Origin string
	Exchanges                                []int64
}

func auditFindings(t *testing.T, db string, extra ...string) []findingKey {
	t.Helper()
	args := append([]string{"audit", "--no-progress", "--db", db, "--format", "json"}, extra...)
	r := runBin(t, nil, append(args, "../../testdata/har/chromium-cdp-https.har")...)
	if r.code != 0 {
		t.Fatalf("audit %v: exit %d %s", extra, r.code, r.stderr)
	}
	var rep struct {
		Findings []findingKey `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	sort.Slice(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		return a.Rule+a.Endpoint+a.Method+a.Origin < b.Rule+b.Endpoint+b.Method+b.Origin
	})
	return rep.Findings
}

func TestRedactKeepsSecretsOutOfTheDatabaseAndFindingsTheSame(t *testing.T) {
	dir := t.TempDir()
	secrets := []string{"s3ss10n-fixture-alice", "fixture-token-0001", "csrf-fixture-0001"}
	plainDB, redactedDB := filepath.Join(dir, "plain.db"), filepath.Join(dir, "redacted.db")
	plain := auditFindings(t, plainDB)
	redacted := auditFindings(t, redactedDB, "--redact")
	if got := secretsIn(t, plainDB, secrets); len(got) != len(secrets) {
		t.Fatalf("the unredacted database holds only %v: the check cannot fail", got)
	}
	if got := secretsIn(t, redactedDB, secrets); len(got) > 0 {
		t.Fatalf("--redact left %v in the database", got)
	}
	if len(plain) == 0 || !reflect.DeepEqual(plain, redacted) {
		t.Fatalf("findings differ:\nplain    %+v\nredacted %+v", plain, redacted)
	}
	key, err := os.Stat(redactedDB + ".redact-key")
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Fatalf("redaction key file: %v %v", key, err)
	}
	// Cookie names and the Authorization scheme survive; equal secrets stay
	// equal (the session cookie sent and the one set hash alike).
	r := runBin(t, nil, "exchanges", "--db", redactedDB, "--format", "ndjson")
	if !strings.Contains(r.stdout, `"Bearer redacted:`) || !strings.Contains(r.stdout, `session=redacted:`) {
		t.Fatalf("redacted exchanges lack the kept names/schemes")
	}
	hashes := map[string]bool{}
	for _, part := range strings.Split(r.stdout, "session=redacted:")[1:] {
		hashes[part[:12]] = true
	}
	if len(hashes) != 1 {
		t.Fatalf("one session value gave %d different hashes", len(hashes))
	}
}

func TestRedactURLQueryAndBodiesEndToEnd(t *testing.T) {
	data, err := os.ReadFile("../../testdata/har/chromium-cdp-https.har")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	entries := doc["log"].(map[string]any)["entries"].([]any)
	req := entries[0].(map[string]any)["request"].(map[string]any)
	req["url"] = req["url"].(string) + "?page=1&access_token=QUERYSECRET123&api_key=APIKEYSECRET"
	req["postData"] = map[string]any{"mimeType": "application/x-www-form-urlencoded", "text": "user=bob&password=FORMSECRET"}
	resp := entries[1].(map[string]any)["response"].(map[string]any)
	resp["content"] = map[string]any{"size": 60, "mimeType": "application/json", "text": `{"access_token":"JSONSECRET","expires_in":3600}`}
	out, _ := json.Marshal(doc)
	in := filepath.Join(t.TempDir(), "tokens.har")
	os.WriteFile(in, out, 0o600)
	secrets := []string{"QUERYSECRET123", "APIKEYSECRET", "FORMSECRET", "JSONSECRET"}
	for _, redact := range []bool{false, true} {
		db := filepath.Join(t.TempDir(), "q.db")
		args := []string{"ingest", "--no-progress", "--db", db, in}
		if redact {
			args = append(args, "--redact")
		}
		if r := runBin(t, nil, args...); r.code != 0 {
			t.Fatalf("exit %d %s", r.code, r.stderr)
		}
		got := secretsIn(t, db, secrets)
		if redact && len(got) > 0 {
			t.Fatalf("--redact left %v", got)
		}
		if !redact && len(got) != len(secrets) {
			t.Fatalf("plain ingest stored only %v: the check cannot fail", got)
		}
		if redact {
			r := runBin(t, nil, "exchanges", "--db", db, "--format", "ndjson")
			if !strings.Contains(r.stdout, "page=1&access_token=redacted:") {
				t.Fatalf("query not redacted in place: %.300s", r.stdout)
			}
		}
	}
}
