package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

const app = "https://app.example.com"

func preflight(at time.Duration, method, headers string, resp ...string) xb {
	req := []string{"Origin: " + app, "Access-Control-Request-Method: " + method}
	if headers != "" {
		req = append(req, "Access-Control-Request-Headers: "+headers)
	}
	return xb{method: "OPTIONS", url: api, at: at, status: 204, req: req, resp: resp}
}

func actual(at time.Duration, method string, req []string, resp ...string) xb {
	return xb{method: method, url: api, at: at, req: append([]string{"Origin: " + app}, req...), resp: resp}
}

var okPF = []string{"Access-Control-Allow-Origin: " + app, "Access-Control-Allow-Methods: PUT, DELETE", "Access-Control-Allow-Headers: X-Token", "Vary: Origin"}
var okActual = []string{"Access-Control-Allow-Origin: " + app, "Vary: Origin"}

var pairingRuleCases = []ruleCase{
	{
		name: "preflight passed but the actual response has no ACAO",
		exs:  []xb{preflight(time.Millisecond, "PUT", "x-token", okPF...), actual(5*time.Millisecond, "PUT", []string{"X-Token: 1"}, "Vary: Origin")},
		want: map[string]string{"cors-preflight-ok-actual-unshared": "info", "cors-policy-split": "low", "cors-nonsimple-without-preflight": ""},
	},
	{
		name: "rejected preflight yet the actual was sent",
		exs: []xb{
			with(preflight(time.Millisecond, "PUT", "", "Vary: Origin"), func(b *xb) { b.status = 403 }),
			actual(5*time.Millisecond, "PUT", nil, okActual...),
		},
		want: map[string]string{"cors-preflight-failed-actual-sent": "info", "cors-preflight-bad-status": "info"},
	},
	{
		name: "credentialed actual after a preflight without ACAC",
		exs:  []xb{preflight(time.Millisecond, "PUT", "", okPF...), actual(5*time.Millisecond, "PUT", []string{"Cookie: sid=1"}, append(okActual, "Access-Control-Allow-Credentials: true")...)},
		want: map[string]string{"cors-preflight-credentials-mismatch": "info", "cors-preflight-failed-actual-sent": "info"},
	},
	{
		name: "authorization requested, only * allowed",
		exs:  []xb{preflight(time.Millisecond, "GET", "authorization", "Access-Control-Allow-Origin: *", "Access-Control-Allow-Headers: *")},
		want: map[string]string{"cors-authorization-wildcard": "info"},
	},
	{
		name: "PUT without any preflight",
		exs:  []xb{actual(time.Millisecond, "PUT", []string{"Content-Type: application/json"}, okActual...)},
		want: map[string]string{"cors-nonsimple-without-preflight": "info"},
	},
	{
		name: "preflight echoes the request verbatim with reflect-any credentials",
		exs: []xb{
			{method: "OPTIONS", url: api, status: 204, req: []string{"Origin: https://evil.test", "Access-Control-Request-Method: PUT", "Access-Control-Request-Headers: x-a"},
				resp: []string{"Access-Control-Allow-Origin: https://evil.test", "Access-Control-Allow-Credentials: true", "Access-Control-Allow-Methods: PUT", "Access-Control-Allow-Headers: x-a"}},
			{method: "OPTIONS", url: api, status: 204, req: []string{"Origin: https://evil2.test", "Access-Control-Request-Method: PATCH", "Access-Control-Request-Headers: x-b"},
				resp: []string{"Access-Control-Allow-Origin: https://evil2.test", "Access-Control-Allow-Credentials: true", "Access-Control-Allow-Methods: PATCH", "Access-Control-Allow-Headers: x-b"}},
		},
		want: map[string]string{"cors-preflight-reflects-request": "medium", "cors-reflect-any-credentials": "high"},
	},
	{
		name: "max-age above the Chromium cap",
		exs:  []xb{preflight(time.Millisecond, "PUT", "", append(okPF, "Access-Control-Max-Age: 86400")...)},
		want: map[string]string{"cors-max-age-excessive": "info"},
	},
}

func TestPairingRules(t *testing.T) {
	for _, c := range pairingRuleCases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, c.cfg, c.exs...)
			for rule, want := range c.want {
				if got := worst(res, rule); got != want {
					t.Errorf("%s: got %q, want %q\nfindings:\n%s", rule, got, want, dump(res))
				}
			}
		})
	}
}

func pairs(res *Result) string {
	var s []string
	for _, p := range res.Pairings {
		s = append(s, idsString([]int64{p.PreflightID, p.ActualID})+":"+p.Kind)
	}
	return strings.Join(s, " ")
}

func TestPairingDirectCachedAndNone(t *testing.T) {
	pf := append(okPF, "Access-Control-Max-Age: 60")
	res := run(t, Config{},
		preflight(0, "PUT", "x-token", pf...),                                                            // 1
		actual(3*time.Millisecond, "PUT", []string{"X-Token: a"}, okActual...),                           // 2 direct
		actual(20*time.Second, "DELETE", []string{"X-Token: a"}, okActual...),                            // 3 cached (DELETE allowed)
		actual(30*time.Second, "PUT", []string{"X-Other: 1"}, okActual...),                               // 4 header not covered: none
		actual(61*time.Second, "PUT", nil, okActual...),                                                  // 5 expired: none
		with(actual(40*time.Second, "PUT", nil, okActual...), func(b *xb) { b.client = "192.0.2.99:1" }), // 6 other client
	)
	if got, want := pairs(res), "1,2:direct 1,3:cached"; got != want {
		t.Errorf("pairings %q, want %q", got, want)
	}
	if res.Stats["preflights"] != 1 || res.Stats["paired_preflights"] != 1 || res.Stats["needs_preflight_unpaired"] != 3 {
		t.Errorf("stats %v", res.Stats)
	}
}

func TestPairingDefaultCacheWindowAndBrowserCaps(t *testing.T) {
	mk := func(maxAge string, later time.Duration) []xb {
		resp := okPF
		if maxAge != "" {
			resp = append(append([]string{}, okPF...), "Access-Control-Max-Age: "+maxAge)
		}
		return []xb{preflight(0, "PUT", "", resp...), actual(time.Millisecond, "PUT", nil, okActual...), actual(later, "PUT", nil, okActual...)}
	}
	cases := []struct {
		name    string
		cfg     Config
		maxAge  string
		later   time.Duration
		pairing string
	}{
		{"default 5 s covers 4 s", Config{}, "", 4 * time.Second, "1,2:direct 1,3:cached"},
		{"default 5 s does not cover 6 s", Config{}, "", 6 * time.Second, "1,2:direct"},
		{"chromium caps 86400 at 7200", Config{}, "86400", 7300 * time.Second, "1,2:direct"},
		{"firefox keeps 86400", Config{Browser: BrowserFirefox}, "86400", 7300 * time.Second, "1,2:direct 1,3:cached"},
		{"webkit caps at 600", Config{Browser: BrowserWebKit}, "3600", 700 * time.Second, "1,2:direct"},
		{"max-age 0 disables the cache", Config{}, "0", 100 * time.Millisecond, "1,2:direct"},
		{"custom default", Config{PreflightCacheDefault: time.Minute}, "", 30 * time.Second, "1,2:direct 1,3:cached"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, c.cfg, mk(c.maxAge, c.later)...)
			if got := pairs(res); got != c.pairing {
				t.Errorf("pairings %q, want %q", got, c.pairing)
			}
		})
	}
}

func TestPairingCredentialsDirection(t *testing.T) {
	credPF := append(append([]string{}, okPF...), "Access-Control-Allow-Credentials: true", "Access-Control-Max-Age: 60")
	credActual := append(append([]string{}, okActual...), "Access-Control-Allow-Credentials: true")
	// A credentialed entry serves a later non-credentialed request.
	res := run(t, Config{},
		preflight(0, "PUT", "", credPF...),
		actual(time.Millisecond, "PUT", []string{"Cookie: a=1"}, credActual...),
		actual(time.Second, "PUT", nil, okActual...),
	)
	if got := pairs(res); got != "1,2:direct 1,3:cached" {
		t.Errorf("credentialed entry: %q", got)
	}
	// A non-credentialed entry does not serve a credentialed request.
	res = run(t, Config{},
		preflight(0, "PUT", "", credPF...),
		actual(time.Millisecond, "PUT", nil, okActual...),
		actual(time.Second, "PUT", []string{"Cookie: a=1"}, credActual...),
	)
	if got := pairs(res); got != "1,2:direct" {
		t.Errorf("non-credentialed entry: %q", got)
	}
}

func TestPairingAcrossConnectionsAndHints(t *testing.T) {
	// Different client ports (connections) of one client pair; ingest
	// hints are kept as "hint" even far apart in time.
	res := run(t, Config{},
		with(preflight(0, "PUT", "", okPF...), func(b *xb) { b.client = "192.0.2.10:1111" }),
		with(actual(time.Millisecond, "PUT", nil, okActual...), func(b *xb) { b.client = "192.0.2.10:2222" }),
		preflight(time.Second, "PATCH", "", okPF...),
		with(actual(time.Hour, "PATCH", nil, okActual...), func(b *xb) { b.pfID = 3 }),
	)
	if got := pairs(res); got != "1,2:direct 3,4:hint" {
		t.Errorf("pairings %q", got)
	}
}

func TestVerdicts(t *testing.T) {
	o := "https://app.example.com"
	cases := []struct {
		name   string
		b      xb
		reason string
	}{
		{"no ACAO", xb{url: api, req: []string{"Origin: " + o}}, "MissingAllowOriginHeader"},
		{"exact echo", xb{url: api, req: []string{"Origin: " + o}, resp: []string{"Access-Control-Allow-Origin: " + o}}, ""},
		{"case differs", xb{url: api, req: []string{"Origin: " + o}, resp: []string{"Access-Control-Allow-Origin: https://APP.example.com"}}, "AllowOriginMismatch"},
		{"two fields", xb{url: api, req: []string{"Origin: " + o}, resp: []string{"Access-Control-Allow-Origin: " + o, "Access-Control-Allow-Origin: " + o}}, "MultipleAllowOriginValues"},
		{"list", xb{url: api, req: []string{"Origin: " + o}, resp: []string{"Access-Control-Allow-Origin: " + o + " https://b.test"}}, "MultipleAllowOriginValues"},
		{"invalid", xb{url: api, req: []string{"Origin: " + o}, resp: []string{"Access-Control-Allow-Origin: app.example.com"}}, "InvalidAllowOriginValue"},
		{"wildcard without credentials", xb{url: api, req: []string{"Origin: " + o}, resp: []string{"Access-Control-Allow-Origin: *"}}, ""},
		{"wildcard with cookie", xb{url: api, req: []string{"Origin: " + o, "Cookie: a=1"}, resp: []string{"Access-Control-Allow-Origin: *", "Access-Control-Allow-Credentials: true"}}, "WildcardOriginNotAllowed"},
		{"ACAC True", xb{url: api, req: []string{"Origin: " + o, "Cookie: a=1"}, resp: []string{"Access-Control-Allow-Origin: " + o, "Access-Control-Allow-Credentials: True"}}, "InvalidAllowCredentials"},
		{"ACAC missing", xb{url: api, req: []string{"Origin: " + o, "Authorization: Bearer x"}, resp: []string{"Access-Control-Allow-Origin: " + o}}, "InvalidAllowCredentials"},
		{"preflight 401", with(preflight(0, "PUT", "", okPF...), func(b *xb) { b.status = 401 }), "PreflightInvalidStatus"},
		{"preflight no ACAO", preflight(0, "PUT", ""), "PreflightMissingAllowOriginHeader"},
		{"preflight method", preflight(0, "PATCH", "", okPF...), "MethodDisallowedByPreflightResponse"},
		{"preflight header", preflight(0, "PUT", "x-other", okPF...), "HeaderDisallowedByPreflightResponse"},
		{"preflight authorization vs *", preflight(0, "GET", "authorization", "Access-Control-Allow-Origin: *", "Access-Control-Allow-Headers: *"), "HeaderDisallowedByPreflightResponse"},
		{"preflight * methods", preflight(0, "PATCH", "x-a", "Access-Control-Allow-Origin: *", "Access-Control-Allow-Methods: *", "Access-Control-Allow-Headers: *"), ""},
		{"preflight PNA missing", with(preflight(0, "GET", "", okPF...), func(b *xb) { b.req = append(b.req, "Access-Control-Request-Private-Network: true") }), "PreflightMissingAllowPrivateNetwork"},
		{"preflight bad methods token", preflight(0, "PUT", "", "Access-Control-Allow-Origin: "+o, "Access-Control-Allow-Methods: PUT, (x)"), "InvalidAllowMethodsPreflightResponse"},
		{"no response", with(xb{url: api, req: []string{"Origin: " + o}}, func(b *xb) { b.status = -1 }), "NoResponse"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, Config{}, c.b)
			if len(res.Verdicts) != 1 {
				t.Fatalf("verdicts %+v", res.Verdicts)
			}
			v := res.Verdicts[0]
			if v.Reason != c.reason || v.Shared != (c.reason == "") {
				t.Errorf("verdict %+v, want reason %q", v, c.reason)
			}
		})
	}
}

func TestPreflightVerdictUsesTheActualsCredentials(t *testing.T) {
	res := run(t, Config{},
		preflight(0, "PUT", "", "Access-Control-Allow-Origin: *", "Access-Control-Allow-Methods: PUT"),
		actual(time.Millisecond, "PUT", []string{"Cookie: a=1"}, "Access-Control-Allow-Origin: *"),
	)
	if v := res.Verdicts[0]; v.ExchangeID != 1 || v.Reason != "PreflightWildcardOriginNotAllowed" {
		t.Errorf("preflight verdict %+v", v)
	}
}

func TestNeedsPreflight(t *testing.T) {
	cases := []struct {
		method string
		hdrs   []string
		unsafe string
		needs  bool
	}{
		{"GET", nil, "", false},
		{"POST", []string{"Content-Type: application/x-www-form-urlencoded"}, "", false},
		{"POST", []string{"Content-Type: text/plain; charset=utf-8"}, "", false},
		{"POST", []string{"Content-Type: application/json"}, "content-type", true},
		{"PUT", nil, "", true},
		{"GET", []string{"X-Requested-With: XMLHttpRequest"}, "x-requested-with", true},
		{"GET", []string{"Accept: " + strings.Repeat("a", 129)}, "accept", true},
		{"GET", []string{"Accept-Language: en-US,en;q=0.9"}, "", false},
		{"GET", []string{"Content-Language: en\"x"}, "content-language", true},
		{"GET", []string{"Range: bytes=0-99"}, "", false},
		{"GET", []string{"Range: bytes=0-1,5-6"}, "range", true},
		{"GET", []string{":authority: api.example.com", "sec-fetch-mode: cors", "User-Agent: x", "Cookie: a", "Cache-Control: no-cache", "priority: u=1"}, "", false},
		{"GET", []string{"Accept: " + strings.Repeat("a", 120), "Accept-Language: " + strings.Repeat("b", 120), "Content-Language: " + strings.Repeat("c", 120),
			"Content-Type: text/plain", "Accept: " + strings.Repeat("d", 120), "Accept: " + strings.Repeat("e", 120), "Accept: " + strings.Repeat("f", 120),
			"Accept: " + strings.Repeat("g", 120), "Accept: " + strings.Repeat("h", 120), "Accept: " + strings.Repeat("i", 120)}, "accept,accept-language,content-language,content-type", true},
	}
	for _, c := range cases {
		got := unsafeRequestHeaders(nil, hdrs(c.hdrs))
		needs := !isSafelistedMethod(c.method) || len(got) > 0
		if strings.Join(got, ",") != c.unsafe || needs != c.needs {
			t.Errorf("%s %v: unsafe %v needs %v, want %q %v", c.method, c.hdrs, got, needs, c.unsafe, c.needs)
		}
	}
}

func TestAnalyzeStopsOnContext(t *testing.T) {
	ctx, cancel := contextWithCancel()
	cancel()
	n := 0
	_, err := Analyze(ctx, func() (*storage.Exchange, error) {
		n++
		return xb{url: api}.build(int64(n)), nil
	}, Config{})
	if err == nil {
		t.Fatal("want context error")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{Browser: "lynx"}).Validate(); err == nil {
		t.Error("unknown browser accepted")
	}
	if _, err := AnalyzeSlice(t.Context(), nil, Config{Browser: "safari"}); err == nil {
		t.Error("Analyze accepted an unknown browser")
	}
}

// Chrome's HAR stamps the actual request before its preflight; the
// ingest-time link may point forward too.
func TestPairingActualTimedBeforePreflight(t *testing.T) {
	res := run(t, Config{},
		actual(time.Millisecond, "PUT", []string{"X-Token: 1"}, "Vary: Origin"), // 1: no ACAO
		preflight(3*time.Millisecond, "PUT", "x-token", okPF...),                // 2
		with(actual(time.Second, "DELETE", nil, okActual...), func(b *xb) { b.pfID = 4 }),
		preflight(time.Second+time.Millisecond, "DELETE", "", okPF...), // 4
		actual(10*time.Second, "PATCH", nil, okActual...),              // 5: none ever
	)
	if got := pairs(res); got != "2,1:direct 4,3:hint" {
		t.Errorf("pairings %q", got)
	}
	if fs := findingsOf(res, "cors-preflight-ok-actual-unshared"); len(fs) != 1 || idsString(fs[0].Exchanges) != "1,2" {
		t.Errorf("deferred pairing did not run the pairing rules (preflight and actual listed):\n%s", dump(res))
	}
	fs := findingsOf(res, "cors-nonsimple-without-preflight")
	if len(fs) != 1 || idsString(fs[0].Exchanges) != "5" {
		t.Errorf("unpaired: %+v", fs)
	}
	if res.Stats["paired_preflights"] != 2 {
		t.Errorf("stats %v", res.Stats)
	}
}
