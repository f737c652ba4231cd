package analyze

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/analyze/catalog"
)

const api = "https://api.example.com/v1/user"

// echo builds a response that reflects origin o, optionally with ACAC.
func echo(o string, extra ...string) xb {
	return xb{url: api, req: []string{"Origin: " + o}, resp: append([]string{"Access-Control-Allow-Origin: " + o}, extra...)}
}

func with(b xb, f func(*xb)) xb { f(&b); return b }

// ruleCase: the exchanges, then per rule the expected worst severity
// ("" = the rule must not fire).
type ruleCase struct {
	name string
	cfg  Config
	exs  []xb
	want map[string]string
}

var ruleCases = []ruleCase{
	// A. Origin trust, including the peer vectors.
	{
		name: "reflected origins with ACAC true are high",
		exs: []xb{
			echo("https://evil.test", "Access-Control-Allow-Credentials: true"),
			echo("https://other.test", "Access-Control-Allow-Credentials: true"),
		},
		want: map[string]string{"cors-reflect-any-credentials": "high", "cors-reflect-any": "", "cors-missing-vary-origin": "low"},
	},
	{
		name: "one probe-shaped origin echoed with credentials is reflect-any",
		exs:  []xb{echo("https://attacker.io", "Access-Control-Allow-Credentials: true", "Vary: Origin")},
		want: map[string]string{"cors-reflect-any-credentials": "high", "cors-missing-vary-origin": ""},
	},
	{
		name: "one echo of one foreign origin is only an allowed origin",
		exs:  []xb{echo("https://partner.io", "Access-Control-Allow-Credentials: true", "Vary: Origin")},
		want: map[string]string{"cors-reflect-any-credentials": "", "cors-reflect-any": ""},
	},
	{
		name: "an echo of the target's own origin is not reflection",
		exs: []xb{
			echo("https://api.example.com", "Access-Control-Allow-Credentials: true"),
			echo("https://api.example.com", "Access-Control-Allow-Credentials: true"),
		},
		want: map[string]string{"cors-reflect-any-credentials": "", "cors-reflect-any": "", "cors-missing-vary-origin": "", "cors-any-subdomain-trusted": ""},
	},
	{
		name: "ACAC false is not credentials",
		exs: []xb{
			echo("https://evil.test", "Access-Control-Allow-Credentials: false"),
			echo("https://other.test", "Access-Control-Allow-Credentials: false"),
		},
		want: map[string]string{"cors-reflect-any-credentials": "", "cors-reflect-any": "low", "cors-acac-invalid": "info"},
	},
	{
		name: "reflection without credentials on a private server is medium",
		exs: []xb{
			with(echo("https://evil.test"), func(b *xb) { b.server = "10.1.2.3:443" }),
		},
		want: map[string]string{"cors-reflect-any": "medium", "cors-permissive-on-private-address": "medium"},
	},
	{
		name: "a foreign origin refused at the endpoint keeps single echoes apart",
		exs: []xb{
			echo("https://partner.io", "Vary: Origin"),
			{url: api, req: []string{"Origin: https://random.test"}, resp: []string{"Vary: Origin"}},
			{url: "https://api.example.com/v2/other", req: []string{"Origin: https://second.test"}, resp: []string{"Access-Control-Allow-Origin: https://second.test", "Vary: Origin"}},
		},
		want: map[string]string{"cors-reflect-any": ""},
	},
	{
		name: "wildcard alone is info",
		exs:  []xb{{url: api, req: []string{"Origin: https://evil.test"}, resp: []string{"Access-Control-Allow-Origin: *"}}},
		want: map[string]string{"cors-wildcard": "info", "cors-wildcard-credentials": "", "cors-missing-vary-origin": ""},
	},
	{
		name: "wildcard on a loopback server is medium",
		exs: []xb{{url: "http://127.0.0.1:8080/api", server: "127.0.0.1:8080",
			req: []string{"Origin: https://evil.test"}, resp: []string{"Access-Control-Allow-Origin: *"}}},
		want: map[string]string{"cors-wildcard": "medium"},
	},
	{
		name: "wildcard with credentials is info",
		exs: []xb{{url: api, req: []string{"Origin: https://evil.test", "Cookie: sid=1"},
			resp: []string{"Access-Control-Allow-Origin: *", "Access-Control-Allow-Credentials: true"}}},
		want: map[string]string{"cors-wildcard-credentials": "info", "cors-wildcard": ""},
	},
	{
		name: "null with credentials is high, without is low",
		exs: []xb{
			{url: api, req: []string{"Origin: null"}, resp: []string{"Access-Control-Allow-Origin: null", "Access-Control-Allow-Credentials: true"}},
			{url: "https://api.example.com/other", req: []string{"Origin: null"}, resp: []string{"Access-Control-Allow-Origin: null"}},
		},
		want: map[string]string{"cors-null-trusted": "high"},
	},
	{
		name: "null without credentials is low",
		exs:  []xb{{url: api, req: []string{"Origin: null"}, resp: []string{"Access-Control-Allow-Origin: null"}}},
		want: map[string]string{"cors-null-trusted": "low"},
	},
	{
		name: "http origin trusted by https with credentials is medium",
		exs:  []xb{echo("http://app.example.com", "Access-Control-Allow-Credentials: true", "Vary: Origin")},
		want: map[string]string{"cors-insecure-origin-trusted": "medium", "cors-reflect-any-credentials": ""},
	},
	{
		name: "http loopback origin trusted by https is info",
		exs:  []xb{echo("http://localhost:3000", "Vary: Origin")},
		want: map[string]string{"cors-insecure-origin-trusted": "info", "cors-dev-origin-trusted": ""},
	},
	{
		name: "random and never-served subdomains echoed",
		exs: []xb{
			echo("https://x7k2m9q4p1z8.example.com", "Vary: Origin"),
			echo("https://app.example.com", "Vary: Origin"),
		},
		want: map[string]string{"cors-any-subdomain-trusted": "low", "cors-reflect-any": ""},
	},
	{
		name: "same-site subdomains are not third parties",
		exs: []xb{
			echo("https://app.example.com", "Vary: Origin", "Access-Control-Allow-Credentials: true"),
			{url: "https://app.example.com/"},
		},
		want: map[string]string{"cors-untrusted-third-party": "", "cors-reflect-any-credentials": "", "cors-any-subdomain-trusted": ""},
	},
	{
		name: "suffix-match bypass with credentials is high",
		exs:  []xb{echo("https://notexample.com", "Access-Control-Allow-Credentials: true", "Vary: Origin")},
		want: map[string]string{"cors-origin-validation-bypass": "high"},
	},
	{
		name: "prefix-match bypass without credentials is medium",
		exs:  []xb{echo("https://api.example.com.attacker.tld", "Vary: Origin")},
		want: map[string]string{"cors-origin-validation-bypass": "medium"},
	},
	{
		name: "unescaped dot bypass",
		exs:  []xb{{url: "https://www.example.com/a", req: []string{"Origin: https://wwwxexample.com"}, resp: []string{"Access-Control-Allow-Origin: https://wwwxexample.com", "Vary: Origin"}}},
		want: map[string]string{"cors-origin-validation-bypass": "medium"},
	},
	{
		name: "user-content host trusted with credentials is medium",
		exs:  []xb{echo("https://someone.github.io", "Access-Control-Allow-Credentials: true", "Vary: Origin")},
		want: map[string]string{"cors-untrusted-third-party": "medium"},
	},
	{
		name: "PSL private-section host is user content",
		exs:  []xb{echo("https://foo.herokuapp.com", "Vary: Origin")},
		want: map[string]string{"cors-untrusted-third-party": "low"},
	},
	{
		name: "public host echoing localhost with credentials",
		exs:  []xb{echo("http://localhost:3000", "Access-Control-Allow-Credentials: true", "Vary: Origin")},
		want: map[string]string{"cors-dev-origin-trusted": "low"},
	},
	{
		name: "origin header injection echoed",
		exs: []xb{{url: api, req: []string{"Origin: https://a.test/\r\nX: y"},
			resp: []string{"Access-Control-Allow-Origin: https://a.test/\r\nX: y"}}},
		want: map[string]string{"cors-origin-header-injection": "high", "cors-acao-malformed": "info"},
	},
	{
		name: "trusted origins from the configuration are not findings",
		cfg:  Config{TrustedOrigins: []*regexp.Regexp{regexp.MustCompile(`^https://(evil|other)\.test$`)}},
		exs: []xb{
			echo("https://evil.test", "Access-Control-Allow-Credentials: true", "Vary: Origin"),
			echo("https://other.test", "Access-Control-Allow-Credentials: true", "Vary: Origin"),
		},
		want: map[string]string{"cors-reflect-any-credentials": ""},
	},
	// Modifiers.
	{
		name: "status >= 400 lowers by one",
		exs: []xb{
			with(echo("https://evil.test", "Access-Control-Allow-Credentials: true"), func(b *xb) { b.status = 404 }),
			with(echo("https://other.test", "Access-Control-Allow-Credentials: true"), func(b *xb) { b.status = 403 }),
		},
		want: map[string]string{"cors-reflect-any-credentials": "medium"},
	},
	{
		name: "lax session cookies lower cross-site trust",
		exs: []xb{
			{url: "https://api.example.com/login", resp: []string{"Set-Cookie: session=abc; Path=/; HttpOnly; SameSite=Lax"}},
			echo("https://evil.test", "Access-Control-Allow-Credentials: true"),
		},
		want: map[string]string{"cors-reflect-any-credentials": "medium"},
	},
	{
		name: "SameSite=None session cookie raises a credentialed 2xx",
		exs: []xb{
			{url: "https://api.example.com/login", resp: []string{"Set-Cookie: session=abc; Path=/; Secure; HttpOnly; SameSite=None"}},
			with(echo("https://evil.test", "Access-Control-Allow-Credentials: true"), func(b *xb) { b.req = append(b.req, "Cookie: session=abc") }),
		},
		want: map[string]string{"cors-reflect-any-credentials": "critical", "cookie-samesite-none-with-cors": "low"},
	},
	{
		name: "static assets without cookies lower by one",
		exs: []xb{
			{url: "https://cdn.example.com/font.woff2", req: []string{"Origin: http://localhost:8080"}, resp: []string{"Access-Control-Allow-Origin: http://localhost:8080", "Vary: Origin"}},
		},
		want: map[string]string{"cors-insecure-origin-trusted": "info"},
	},
	// B. Syntax.
	{
		name: "two ACAO fields are malformed",
		exs: []xb{{url: api, req: []string{"Origin: https://a.test"},
			resp: []string{"Access-Control-Allow-Origin: https://a.test", "Access-Control-Allow-Origin: https://a.test"}}},
		want: map[string]string{"cors-acao-malformed": "info", "cors-reflect-any": ""},
	},
	{
		name: "trailing slash ACAO is malformed",
		exs:  []xb{{url: api, req: []string{"Origin: https://a.test"}, resp: []string{"Access-Control-Allow-Origin: https://a.test/"}}},
		want: map[string]string{"cors-acao-malformed": "info"},
	},
	{
		name: "wildcard subdomain pattern in ACAO is malformed",
		exs: []xb{
			{url: api, req: []string{"Origin: https://a.example.com"}, resp: []string{"Access-Control-Allow-Origin: https://*.example.com"}},
			{url: api, req: []string{"Origin: https://a.example.com"}, resp: []string{"Access-Control-Allow-Origin: HTTPS://A.example.com"}},
			{url: api, req: []string{"Origin: https://a.example.com"}, resp: []string{"Access-Control-Allow-Origin: https://a.example.com:443"}},
			{url: api, req: []string{"Origin: https://a.example.com"}, resp: []string{"Access-Control-Allow-Origin: "}},
		},
		want: map[string]string{"cors-acao-malformed": "info", "cors-acao-mismatch": ""},
	},
	{
		name: "specific ACAO for another origin is a mismatch",
		exs:  []xb{{url: api, req: []string{"Origin: https://b.test"}, resp: []string{"Access-Control-Allow-Origin: https://app.example.com"}}},
		want: map[string]string{"cors-acao-mismatch": "info", "cors-acao-malformed": ""},
	},
	{
		name: "allow headers without ACAO",
		exs:  []xb{{url: api, req: []string{"Origin: https://b.test"}, resp: []string{"Access-Control-Allow-Credentials: true"}}},
		want: map[string]string{"cors-headers-without-acao": "info"},
	},
	{
		name: "star tokens with credentials and sensitive exposure under reflection",
		exs: []xb{
			echo("https://evil.test", "Access-Control-Allow-Credentials: true", "Access-Control-Expose-Headers: *", "Access-Control-Allow-Methods: GET, DELETE"),
		},
		want: map[string]string{"cors-star-tokens-with-credentials": "info", "cors-expose-sensitive-headers": "low", "cors-sensitive-methods": "low"},
	},
	{
		name: "sensitive exposure under a strict policy is not reported",
		exs: []xb{
			echo("https://app.example.com", "Vary: Origin", "Access-Control-Expose-Headers: X-CSRF-Token", "Access-Control-Allow-Methods: PUT"),
		},
		want: map[string]string{"cors-expose-sensitive-headers": "", "cors-sensitive-methods": "info"},
	},
	{
		name: "redirect answering a CORS request without ACAO",
		exs:  []xb{{url: api, status: 302, req: []string{"Origin: https://app.example.com"}, resp: []string{"Location: /login"}}},
		want: map[string]string{"cors-redirect-missing-acao": "info"},
	},
	{
		name: "redirect of a CORS request to another origin taints it",
		exs:  []xb{{url: api, status: 307, req: []string{"Origin: https://app.example.com"}, resp: []string{"Location: https://cdn.other.net/v1/user", "Access-Control-Allow-Origin: https://app.example.com"}}},
		want: map[string]string{"cors-redirect-missing-acao": "info"},
	},
	{
		name: "same-origin redirect with ACAO is fine",
		exs:  []xb{{url: api, status: 302, req: []string{"Origin: https://app.example.com"}, resp: []string{"Location: https://api.example.com:443/v2/user", "Access-Control-Allow-Origin: https://app.example.com"}}},
		want: map[string]string{"cors-redirect-missing-acao": ""},
	},
	{
		name: "browser PUT fetch is CORS, not CSRF",
		exs: []xb{{method: "PUT", url: "https://api.example.com/transfer",
			req: []string{"Origin: https://evil.test", "Cookie: sid=1", "Content-Type: text/plain", "Sec-Fetch-Mode: cors", "Sec-Fetch-Site: cross-site"}}},
		want: map[string]string{"csrf-cross-site-simple-write": "", "cors-nonsimple-without-preflight": "info"},
	},
	{
		name: "several SameSite=None session cookies make one finding",
		exs: []xb{
			{url: "https://api.example.com/login", resp: []string{"Set-Cookie: sid=1; SameSite=None; Secure", "Set-Cookie: auth=2; SameSite=None; Secure", "Set-Cookie: theme=dark; SameSite=None"}},
			{url: api, req: []string{"Origin: null"}, resp: []string{"Access-Control-Allow-Origin: null", "Access-Control-Allow-Credentials: true"}},
		},
		want: map[string]string{"cookie-samesite-none-with-cors": "low"},
	},
	// D. Caching.
	{
		name: "dynamic ACAO without Vary on a public response is medium",
		exs: []xb{
			echo("https://app.example.com", "Cache-Control: public, max-age=600"),
			echo("https://admin.example.com", "Cache-Control: public, max-age=600"),
		},
		want: map[string]string{"cors-missing-vary-origin": "medium"},
	},
	{
		name: "constant ACAO without Vary is fine",
		exs: []xb{
			{url: api, req: []string{"Origin: https://app.example.com"}, resp: []string{"Access-Control-Allow-Origin: https://app.example.com"}},
			{url: api, resp: []string{"Access-Control-Allow-Origin: https://app.example.com"}},
		},
		want: map[string]string{"cors-missing-vary-origin": ""},
	},
	{
		name: "ACAO only when Origin is sent is dynamic",
		exs: []xb{
			{url: api, req: []string{"Origin: https://app.example.com"}, resp: []string{"Access-Control-Allow-Origin: https://app.example.com"}},
			{url: api},
		},
		want: map[string]string{"cors-missing-vary-origin": "low"},
	},
	{
		name: "cache hit with another origin's ACAO",
		exs: []xb{
			{url: api, req: []string{"Origin: https://b.example.com"}, resp: []string{"Access-Control-Allow-Origin: https://app.example.com", "X-Cache: HIT", "Age: 20"}},
		},
		want: map[string]string{"cors-cache-hit-acao-mismatch": "medium"},
	},
	{
		name: "Vary Origin with a wildcard",
		exs:  []xb{{url: api, req: []string{"Origin: https://b.test"}, resp: []string{"Access-Control-Allow-Origin: *", "Vary: Origin"}}},
		want: map[string]string{"cors-vary-on-static": "info"},
	},
	// F. WebSocket.
	{
		name: "cross-site cookie handshake accepted",
		exs: []xb{
			{url: "wss://api.example.com/ws", status: 101, req: []string{"Origin: https://evil.test", "Cookie: sid=1", "Upgrade: websocket"}},
			{url: "wss://api.example.com/ws", status: 101, req: []string{"Origin: https://api.example.com", "Cookie: sid=1", "Upgrade: websocket"}},
		},
		want: map[string]string{"ws-cross-site-handshake-accepted": "high", "ws-origin-not-validated": "high", "ws-cookie-only-auth": "info", "ws-cleartext-credentials": ""},
	},
	{
		name: "ws rejecting foreign origins is validated",
		exs: []xb{
			{url: "ws://api.example.com/ws", status: 403, req: []string{"Origin: https://evil.test", "Upgrade: websocket"}},
			{url: "ws://api.example.com/ws", status: 101, req: []string{"Origin: http://api.example.com", "Upgrade: websocket", "Authorization: Bearer x"}},
			{url: "ws://api.example.com/ws", status: 101, req: []string{"Origin: http://www.example.com", "Upgrade: websocket"}},
		},
		want: map[string]string{"ws-origin-not-validated": "", "ws-cross-site-handshake-accepted": "", "ws-cleartext-credentials": "low"},
	},
	// G. CSRF.
	{
		name: "cross-site form POST with cookie",
		exs: []xb{{method: "POST", url: "https://api.example.com/transfer", status: 302,
			req: []string{"Origin: https://evil.test", "Cookie: sid=1", "Content-Type: application/x-www-form-urlencoded", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate"}}},
		want: map[string]string{"csrf-cross-site-simple-write": "medium", "cors-nonsimple-without-preflight": ""},
	},
	{
		name: "form navigation over http is not a CORS request",
		exs: []xb{{method: "POST", url: "http://api.example.com/transfer", status: 200,
			req: []string{"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
				"Origin: http://evil.test", "Cookie: sid=1", "Content-Type: application/x-www-form-urlencoded", "Upgrade-Insecure-Requests: 1"}}},
		want: map[string]string{"csrf-cross-site-simple-write": "medium", "cors-nonsimple-without-preflight": ""},
	},
	{
		name: "JSON as text/plain",
		exs: []xb{{method: "POST", url: "https://api.example.com/transfer", body: `{"to":"x"}`,
			req: []string{"Origin: https://evil.test", "Cookie: sid=1", "Content-Type: text/plain;charset=UTF-8"}}},
		want: map[string]string{"csrf-json-as-text-plain": "medium", "csrf-cross-site-simple-write": ""},
	},
	{
		name: "same-site POST is not CSRF",
		exs: []xb{{method: "POST", url: "https://api.example.com/transfer",
			req: []string{"Origin: https://app.example.com", "Cookie: sid=1", "Content-Type: application/x-www-form-urlencoded"}}},
		want: map[string]string{"csrf-cross-site-simple-write": "", "csrf-origin-not-checked": ""},
	},
	{
		name: "origin not checked",
		exs: []xb{
			{method: "POST", url: "https://api.example.com/transfer", req: []string{"Origin: https://app.example.com", "Cookie: sid=1", "Content-Type: application/json"}},
			{method: "POST", url: "https://api.example.com/transfer", req: []string{"Origin: null", "Cookie: sid=1", "Content-Type: application/json"}},
		},
		want: map[string]string{"csrf-origin-not-checked": "medium"},
	},
	{
		name: "live credentialed cross-site read",
		exs: []xb{with(echo("https://partner.io", "Access-Control-Allow-Credentials: true", "Vary: Origin"), func(b *xb) {
			b.req = append(b.req, "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: cors", "Cookie: sid=1")
		})},
		want: map[string]string{"cors-live-credentialed-cross-site-read": "info"},
	},
	// E. Private network access.
	{
		name: "PNA preflight answered permissively",
		exs: []xb{{method: "OPTIONS", url: "http://192.168.1.1/admin", server: "192.168.1.1:80",
			req:  []string{"Origin: https://evil.test", "Access-Control-Request-Method: GET", "Access-Control-Request-Private-Network: true"},
			resp: []string{"Access-Control-Allow-Origin: *", "Access-Control-Allow-Private-Network: true", "Access-Control-Max-Age: 86401"}}},
		want: map[string]string{"cors-pna-permissive": "high", "cors-max-age-excessive": "low", "cors-permissive-on-private-address": "medium"},
	},
}

func TestRules(t *testing.T) {
	for _, c := range ruleCases {
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

// TestEveryRuleIsExercised keeps the table honest: each catalogue rule is
// expected to fire in at least one case (C rules are covered in
// pairing_test.go).
func TestEveryRuleIsExercised(t *testing.T) {
	fired := map[string]bool{}
	for _, c := range append(ruleCases, pairingRuleCases...) {
		for rule, want := range c.want {
			if want != "" {
				fired[rule] = true
			}
		}
	}
	for _, r := range rules {
		if !fired[r.id] {
			t.Errorf("no test case expects %s to fire", r.id)
		}
	}
}

func TestFindingShape(t *testing.T) {
	res := run(t, Config{},
		with(echo("https://evil.test", "Access-Control-Allow-Credentials: true"), func(b *xb) {
			b.url = "https://api.example.com/v1/users/123"
			b.req = append(b.req, "Cookie: sid=secret")
		}),
		with(echo("https://evil.test", "Access-Control-Allow-Credentials: true"), func(b *xb) { b.url = "https://api.example.com/v1/users/456" }),
	)
	fs := findingsOf(res, "cors-reflect-any-credentials")
	if len(fs) != 1 {
		t.Fatalf("want one grouped finding, got %d\n%s", len(fs), dump(res))
	}
	f := fs[0]
	if f.PathTemplate != "/v1/users/{id}" || f.Endpoint != "https://api.example.com/v1/users/{id}" || f.Method != "GET" {
		t.Errorf("endpoint %q template %q method %q", f.Endpoint, f.PathTemplate, f.Method)
	}
	if idsString(f.Exchanges) != "1,2" {
		t.Errorf("exchanges %v", f.Exchanges)
	}
	if f.OriginClass != "foreign" || f.Origin != "https://evil.test" {
		t.Errorf("origin %q class %q", f.Origin, f.OriginClass)
	}
	wantEv := []string{"Origin: https://evil.test", "Cookie: sid=…", "Access-Control-Allow-Origin: https://evil.test", "Access-Control-Allow-Credentials: true"}
	if strings.Join(f.Evidence, "\n") != strings.Join(wantEv, "\n") {
		t.Errorf("evidence %q", f.Evidence)
	}
	if f.Fingerprint != fingerprint("cors-reflect-any-credentials", "https://api.example.com", "GET", "/v1/users/{id}", "foreign") || len(f.Fingerprint) != 64 {
		t.Errorf("fingerprint %q", f.Fingerprint)
	}
	if f.CWE != 942 || f.Title == "" || f.Remediation == "" {
		t.Errorf("catalogue fields: cwe %d title %q remediation %q", f.CWE, f.Title, f.Remediation)
	}
	if len(res.Hosts) != 1 || !res.Hosts[0].ReflectAny || !res.Hosts[0].Credentials || res.Hosts[0].VaryOrigin != "never" {
		t.Errorf("host policy %+v", res.Hosts)
	}
}

// Two SameSite=None session cookies set by the same response make one
// finding that lists that exchange once and counts it once.
func TestCookieFindingListsEachExchangeOnce(t *testing.T) {
	res := run(t, Config{},
		xb{url: "https://api.example.com/login", resp: []string{"Set-Cookie: sid=1; SameSite=None; Secure", "Set-Cookie: auth=2; SameSite=None; Secure"}},
		xb{url: "https://api.example.com/login", resp: []string{"Set-Cookie: sid=3; SameSite=None; Secure", "Set-Cookie: auth=4; SameSite=None; Secure"}},
		xb{url: "https://api.example.com/v1/me", req: []string{"Origin: null"}, resp: []string{"Access-Control-Allow-Origin: null", "Access-Control-Allow-Credentials: true"}})
	fs := findingsOf(res, "cookie-samesite-none-with-cors")
	if len(fs) != 1 {
		t.Fatalf("want one finding, got %d\n%s", len(fs), dump(res))
	}
	if idsString(fs[0].Exchanges) != "1,2" || !strings.Contains(fs[0].Detail, "2 exchanges") || strings.Contains(fs[0].Detail, "4 exchanges") {
		t.Errorf("exchanges %v, detail %q", fs[0].Exchanges, fs[0].Detail)
	}
}

func TestFingerprintIgnoresIDsAndTime(t *testing.T) {
	a := run(t, Config{}, echo("https://evil.test", "Access-Control-Allow-Credentials: true"))
	b := run(t, Config{},
		xb{url: "https://api.example.com/other"},
		with(echo("https://evil.test", "Access-Control-Allow-Credentials: true"), func(b *xb) { b.at = time.Hour; b.client = "198.51.100.7:1234" }))
	fa, fb := findingsOf(a, "cors-reflect-any-credentials"), findingsOf(b, "cors-reflect-any-credentials")
	if len(fa) != 1 || len(fb) != 1 || fa[0].Fingerprint != fb[0].Fingerprint {
		t.Fatalf("fingerprints differ: %v / %v", fa, fb)
	}
}

func TestHostPolicyClasses(t *testing.T) {
	res := run(t, Config{},
		echo("https://app.example.com", "Vary: Origin", "Access-Control-Allow-Credentials: true"),
		echo("http://app.example.com", "Vary: Origin"),
		echo("https://foo.github.io", "Vary: Origin"),
		echo("https://example.com.evil.tld", "Vary: Origin"),
		echo("http://127.0.0.1:3000", "Vary: Origin"),
		echo("null", "Vary: Origin"),
		echo("https://partner.io", "Vary: Origin"),
	)
	want := map[string]string{
		"https://app.example.com": "same-site", "http://app.example.com": "http", "https://foo.github.io": "user-content",
		"https://example.com.evil.tld": "bypass", "http://127.0.0.1:3000": "private", "null": "null", "https://partner.io": "foreign",
	}
	if len(res.Hosts) != 1 {
		t.Fatalf("hosts %+v", res.Hosts)
	}
	got := map[string]string{}
	for _, ao := range res.Hosts[0].AllowedOrigins {
		got[ao.Origin] = ao.Class
		if ao.Origin == "https://app.example.com" && !ao.Credentials {
			t.Errorf("credentials not recorded for %s", ao.Origin)
		}
	}
	for o, c := range want {
		if got[o] != c {
			t.Errorf("%s: class %q, want %q", o, got[o], c)
		}
	}
	if res.Hosts[0].VaryOrigin != "always" {
		t.Errorf("vary %q", res.Hosts[0].VaryOrigin)
	}
}

func TestInconsistentEndpoints(t *testing.T) {
	res := run(t, Config{},
		echo("https://partner.io", "Vary: Origin"),
		xb{url: "https://api.example.com/v2/x", req: []string{"Origin: https://partner.io"}, resp: []string{"Vary: Origin"}},
	)
	if len(res.Hosts) != 1 || len(res.Hosts[0].Inconsistent) != 1 || !strings.Contains(res.Hosts[0].Inconsistent[0], "refused at GET /v2/x") {
		t.Fatalf("inconsistent %+v", res.Hosts)
	}
}

func TestHostileSizesAreBounded(t *testing.T) {
	in := newInterner()
	in.budget = in.bytes + 200
	a, b := in.id("https://a.test"), in.id("https://b.test")
	if a == b || in.str(a) != "https://a.test" {
		t.Fatalf("ids %d %d", a, b)
	}
	if id := in.id(strings.Repeat("x", 300)); id != 1 || in.overflow != 1 {
		t.Fatalf("over budget: id %d overflow %d", id, in.overflow)
	}
	if id := in.id("https://a.test"); id != a {
		t.Fatalf("known value lost after overflow")
	}
	long := "https://" + strings.Repeat("a", 1<<20) + ".test"
	res := run(t, Config{}, echo(long, "Access-Control-Allow-Credentials: true"), echo("https://evil.test", "Access-Control-Allow-Credentials: true"))
	for _, f := range res.Findings {
		for _, e := range f.Evidence {
			if len(e) > maxEvidenceLine+64 {
				t.Fatalf("%s: evidence line of %d bytes", f.Rule, len(e))
			}
		}
	}
}

// TestRulesMatchTheCatalogue: every analyzer rule is a catalogue rule of the
// same group and every catalogue rule has an analyzer rule.
func TestRulesMatchTheCatalogue(t *testing.T) {
	ours := map[string]bool{}
	for _, r := range rules {
		ours[r.id] = true
		c, ok := catalog.Lookup(r.id)
		if !ok {
			t.Errorf("%s: not in the catalogue", r.id)
			continue
		}
		if c.Group != string(r.group) {
			t.Errorf("%s: group %s here, %s in the catalogue", r.id, string(r.group), c.Group)
		}
		if c.Title == "" || c.Remediation() == "" {
			t.Errorf("%s: catalogue entry lacks title or fix", r.id)
		}
	}
	for _, c := range catalog.All() {
		if !ours[c.ID] {
			t.Errorf("catalogue rule %s has no analyzer rule", c.ID)
		}
	}
}

func TestPathTemplateFoldsIDsInsideSegments(t *testing.T) {
	for path, want := range map[string]string{
		"/assets/app.14695.js":      "/assets/app.{id}.js",
		"/img/logo-17787.png":       "/img/logo-{id}.png",
		"/static/main.3f2a9c1b.css": "/static/main.{id}.css",
		"/js/jquery-3.6.0.min.js":   "/js/jquery-3.6.0.min.js",
		"/v1/users/42/profile":      "/v1/users/{id}/profile",
		"/api/v2/search":            "/api/v2/search",
		"/report_2024-11-25.pdf":    "/report_{id}-11-25.pdf",
		"/":                         "/",
		"/a--b..c":                  "/a--b..c",
	} {
		if got := string(pathTemplate(nil, path)); got != want {
			t.Errorf("pathTemplate(%q) = %q, want %q", path, got, want)
		}
	}
}
