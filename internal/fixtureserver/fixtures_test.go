package fixtureserver

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The recorded HARs in testdata/har must cover the endpoint table: when an
// endpoint is added to the server, the fixtures have to be recorded again.

type harFile struct {
	Log struct {
		Entries []harEntry `json:"entries"`
	} `json:"log"`
}

type harEntry struct {
	RequestID    string `json:"_requestId"`
	FromCache    string `json:"_fromCache"`
	ResourceType string `json:"_resourceType"`
	Initiator    *struct {
		Type      string `json:"type"`
		RequestID string `json:"requestId"`
	} `json:"_initiator"`
	Request struct {
		Method  string      `json:"method"`
		URL     string      `json:"url"`
		Headers []harHeader `json:"headers"`
	} `json:"request"`
	Response struct {
		Status  int         `json:"status"`
		Headers []harHeader `json:"headers"`
	} `json:"response"`
}

type harHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func headerOf(hs []harHeader, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func loadHAR(t *testing.T, name string) *harFile {
	t.Helper()
	p := findUp(t, filepath.Join("testdata", "har", name))
	if p == "" {
		t.Skipf("testdata/har/%s not found (record it with scripts/record/record.sh)", name)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var h harFile
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return &h
}

func hostPath(t *testing.T, raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("entry URL %q: %v", raw, err)
	}
	return u.Hostname(), u.Path
}

func TestRecordedHARsCoverEveryEndpoint(t *testing.T) {
	for _, tc := range []struct {
		file, scheme string
		preflights   bool
	}{
		{"chromium-cdp-https.har", "https", true},
		{"chromium-cdp-http.har", "http", true},
		{"chromium-devtools-https.har", "https", true},
		{"playwright-https.har", "https", false},
		{"playwright-http.har", "http", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			h := loadHAR(t, tc.file)
			type key struct{ host, path, method string }
			seen := map[key]bool{}
			preflightFor := map[key]bool{} // keyed by the ACRM method
			nullOrigin := false
			for _, e := range h.Log.Entries {
				host, path := hostPath(t, e.Request.URL)
				seen[key{host, path, e.Request.Method}] = true
				if e.Request.Method == "OPTIONS" {
					preflightFor[key{host, path, headerOf(e.Request.Headers, "Access-Control-Request-Method")}] = true
				}
				if path == "/null" && headerOf(e.Request.Headers, "Origin") == "null" {
					nullOrigin = true
				}
			}
			for _, ep := range Endpoints() {
				if ep.Scheme != "" && ep.Scheme != tc.scheme {
					continue
				}
				k := key{ep.Host, ep.Path, ep.Method}
				if !seen[k] {
					t.Errorf("no %s %s%s entry", ep.Method, ep.Host, ep.Path)
				}
				if ep.Preflight && tc.preflights && !preflightFor[k] {
					t.Errorf("no preflight for %s %s%s", ep.Method, ep.Host, ep.Path)
				}
			}
			if !nullOrigin {
				t.Error("no request with Origin: null to /null")
			}
		})
	}
}

func TestRecordedPreflightsLinkToTheirActualRequest(t *testing.T) {
	for _, file := range []string{"chromium-cdp-https.har", "chromium-cdp-http.har"} {
		t.Run(file, func(t *testing.T) {
			h := loadHAR(t, file)
			byID := map[string]*harEntry{}
			for i := range h.Log.Entries {
				byID[h.Log.Entries[i].RequestID] = &h.Log.Entries[i]
			}
			n := 0
			for _, e := range h.Log.Entries {
				if e.ResourceType != "preflight" {
					continue
				}
				n++
				if e.Initiator == nil || e.Initiator.Type != "preflight" {
					t.Errorf("%s: preflight entry without a preflight initiator", e.Request.URL)
					continue
				}
				actual := byID[e.Initiator.RequestID]
				if actual == nil {
					t.Errorf("%s: initiator request %q is not in the file", e.Request.URL, e.Initiator.RequestID)
					continue
				}
				if actual.Request.URL != e.Request.URL ||
					actual.Request.Method != headerOf(e.Request.Headers, "Access-Control-Request-Method") {
					t.Errorf("preflight %s (ACRM %s) links to %s %s", e.Request.URL,
						headerOf(e.Request.Headers, "Access-Control-Request-Method"), actual.Request.Method, actual.Request.URL)
				}
			}
			if n < 5 {
				t.Errorf("%d preflight entries, want at least 5", n)
			}
		})
	}
}

// TestRecordedHTTPSSessionCarriesCookiesCrossSite guards the profile setting
// that lets third-party cookies through: without it the credentialed rules
// have nothing to see.
func TestRecordedHTTPSSessionCarriesCookiesCrossSite(t *testing.T) {
	h := loadHAR(t, "chromium-cdp-https.har")
	want := map[string]bool{"/reflect": false, "/csrf/transfer": false, "/csrf/json": false, "/suffix-check": false, "/prefix-check": false}
	for _, e := range h.Log.Entries {
		_, path := hostPath(t, e.Request.URL)
		if _, ok := want[path]; ok && headerOf(e.Request.Headers, "Sec-Fetch-Site") == "cross-site" &&
			strings.Contains(headerOf(e.Request.Headers, "Cookie"), "session=") && e.Response.Status == 200 {
			want[path] = true
		}
	}
	for path, ok := range want {
		if !ok {
			t.Errorf("no cross-site request to %s carrying the session cookie answered 200", path)
		}
	}
}

// TestEvidenceClassesMatchTheRecordings checks the Evidence column against
// what each producer really wrote, so tests can rely on it to know which
// flaws a given recording can show.
func TestEvidenceClassesMatchTheRecordings(t *testing.T) {
	pw := loadHAR(t, "playwright-https.har")
	cdp := loadHAR(t, "chromium-cdp-https.har")
	find := func(h *harFile, host, path, method string) []harEntry {
		var out []harEntry
		for _, e := range h.Log.Entries {
			if eh, ep := hostPath(t, e.Request.URL); eh == host && ep == path && e.Request.Method == method {
				out = append(out, e)
			}
		}
		return out
	}
	for _, ep := range Endpoints() {
		for _, ev := range ep.Evidence {
			switch ev {
			case EvidencePreflight:
				if n := len(find(pw, ep.Host, ep.Path, "OPTIONS")); n != 0 {
					t.Errorf("%s%s: Playwright recorded %d preflights", ep.Host, ep.Path, n)
				}
				if len(find(cdp, ep.Host, ep.Path, "OPTIONS")) == 0 {
					t.Errorf("%s%s: the CDP HAR has no preflight", ep.Host, ep.Path)
				}
			case EvidenceBlockedResponse:
				for _, e := range find(pw, ep.Host, ep.Path, ep.Method) {
					if e.Response.Status != -1 || len(e.Response.Headers) != 0 {
						t.Errorf("%s%s: Playwright kept status %d and %d headers", ep.Host, ep.Path, e.Response.Status, len(e.Response.Headers))
					}
				}
				kept := false
				for _, e := range find(cdp, ep.Host, ep.Path, ep.Method) {
					kept = kept || (e.Response.Status > 0 && len(e.Response.Headers) > 0)
				}
				if !kept {
					t.Errorf("%s%s: the CDP HAR lost the blocked response", ep.Host, ep.Path)
				}
			case EvidenceWire:
				for _, h := range []*harFile{pw, cdp} {
					for _, e := range find(h, ep.Host, ep.Path, ep.Method) {
						if headerOf(e.Request.Headers, "Cookie") != "" {
							t.Errorf("%s%s: a HAR now shows the Cookie: Evidence %q is stale", ep.Host, ep.Path, ev)
						}
					}
				}
			default:
				t.Errorf("%s%s: unknown evidence class %q", ep.Host, ep.Path, ev)
			}
		}
	}
}

// TestRecordedHARMatchesAccessLog: in the CDP sessions every request the
// server answered is an entry of the HAR, and every entry with a status was
// answered by the server, except those the browser withheld (status 0) or
// served from its cache (_fromCache).
func TestRecordedHARMatchesAccessLog(t *testing.T) {
	for _, tc := range []struct{ har, served string }{
		{"chromium-cdp-https.har", "chromium-https.served.ndjson"},
		{"chromium-cdp-http.har", "chromium-http.served.ndjson"},
	} {
		t.Run(tc.har, func(t *testing.T) {
			h := loadHAR(t, tc.har)
			p := findUp(t, filepath.Join("testdata", "pcap", tc.served))
			if p == "" {
				t.Skipf("testdata/pcap/%s not found", tc.served)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var rec AccessRecord
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				count[rec.Method+" "+rec.Host+rec.Path+" "+rec.Origin]++
			}
			for _, e := range h.Log.Entries {
				if e.Response.Status <= 0 || e.FromCache != "" {
					continue
				}
				host, path := hostPath(t, e.Request.URL)
				count[e.Request.Method+" "+host+path+" "+headerOf(e.Request.Headers, "Origin")]--
			}
			for k, n := range count {
				if n > 0 {
					t.Errorf("served %d× but not in the HAR: %s", n, k)
				} else if n < 0 {
					t.Errorf("in the HAR %d× more than served: %s", -n, k)
				}
			}
		})
	}
}
