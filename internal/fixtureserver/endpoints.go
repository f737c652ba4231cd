package fixtureserver

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Endpoint describes one fixture endpoint so analyzer tests can assert that
// every flaw is reported under its rule and that correct endpoints stay quiet.
type Endpoint struct {
	Host   string // virtual host, no port
	Path   string
	Method string // the method the client asks for
	// Preflight: a browser sends OPTIONS to the same path first.
	Preflight bool
	// Flaws are rule ids of spec/rules.md the analyzer must report for this
	// endpoint when the fixture session reached it.
	Flaws []string
	// Implied are rule ids that follow from the fixture's surroundings rather
	// than from the endpoint's concept (the server is on loopback, the host
	// also serves other flawed endpoints). Reporting them is right; tests
	// should not fail when a refined analyzer words them differently.
	Implied []string
	// Scheme is "https" when the flaws can only show over TLS (an https
	// target, or SameSite=None; Secure cookies); "" when any scheme shows them.
	Scheme string
	// Evidence names what a recording must contain for the flaws to be
	// visible at all (Evidence* constants); empty means any recording of
	// the session shows them.
	Evidence []string
	// Correct endpoints must yield no finding of low severity or above.
	Correct bool
	// Concept says in one line what the endpoint does wrong (or right).
	Concept string
}

// What a recording must keep for a flaw to be visible.
const (
	// EvidencePreflight: the OPTIONS exchange. Captures and Chrome
	// DevTools-style HARs have it; Playwright's recordHar leaves it out.
	EvidencePreflight = "preflight"
	// EvidenceBlockedResponse: the response to a request the browser refused
	// to share with the page. Captures and DevTools-style HARs keep it;
	// Playwright records such requests as status -1 without a response.
	EvidenceBlockedResponse = "blocked-response"
	// EvidenceWire: only the bytes on the wire show it. Chromium reports no
	// Cookie for WebSocket handshakes over CDP, so no Chromium HAR has it.
	EvidenceWire = "wire"
)

// Rule ids used by the table (spec/rules.md).
const (
	ruleReflectAnyCreds      = "cors-reflect-any-credentials"
	ruleNullTrusted          = "cors-null-trusted"
	ruleWildcard             = "cors-wildcard"
	ruleWildcardCreds        = "cors-wildcard-credentials"
	ruleInsecureOrigin       = "cors-insecure-origin-trusted"
	ruleValidationBypass     = "cors-origin-validation-bypass"
	ruleExposeSensitive      = "cors-expose-sensitive-headers"
	ruleStarTokensCreds      = "cors-star-tokens-with-credentials"
	rulePreflightOKUnshared  = "cors-preflight-ok-actual-unshared"
	rulePreflightBadStatus   = "cors-preflight-bad-status"
	ruleMaxAgeExcessive      = "cors-max-age-excessive"
	ruleMissingVary          = "cors-missing-vary-origin"
	rulePermissivePrivate    = "cors-permissive-on-private-address"
	ruleWSCrossSiteAccepted  = "ws-cross-site-handshake-accepted"
	ruleWSOriginNotValidated = "ws-origin-not-validated"
	ruleWSCookieOnly         = "ws-cookie-only-auth"
	ruleCSRFSimpleWrite      = "csrf-cross-site-simple-write"
	ruleCSRFJSONTextPlain    = "csrf-json-as-text-plain"
	ruleCSRFOriginNotChecked = "csrf-origin-not-checked"
	ruleSameSiteNoneCORS     = "cookie-samesite-none-with-cors"
	ruleSensitiveMethods     = "cors-sensitive-methods"
)

// Endpoints returns the table of every API endpoint the server serves.
// Pages (the HTML that issues the requests) are not listed.
func Endpoints() []Endpoint {
	return []Endpoint{
		{Host: APIHost, Path: "/login", Method: "GET",
			Flaws:   []string{ruleSameSiteNoneCORS},
			Concept: "sets the session cookie SameSite=None; Secure on a host with permissive CORS"},
		{Host: APIHost, Path: "/reflect", Method: "GET",
			Flaws:   []string{ruleReflectAnyCreds},
			Implied: []string{rulePermissivePrivate},
			Concept: "echoes any Origin with Access-Control-Allow-Credentials: true (Vary: Origin sent)"},
		{Host: APIHost, Path: "/null", Method: "GET",
			Flaws:   []string{ruleNullTrusted},
			Concept: "trusts Origin: null (sandboxed iframe) with credentials"},
		{Host: APIHost, Path: "/wildcard", Method: "GET",
			Flaws:   []string{ruleWildcard},
			Implied: []string{rulePermissivePrivate},
			Concept: "Access-Control-Allow-Origin: * without credentials"},
		{Host: APIHost, Path: "/wildcard-credentials", Method: "GET",
			Flaws:    []string{ruleWildcardCreds},
			Evidence: []string{EvidenceBlockedResponse},
			Implied:  []string{rulePermissivePrivate},
			Concept:  "Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true (browsers refuse it)"},
		{Host: APIHost, Path: "/suffix-check", Method: "GET",
			Flaws:   []string{ruleValidationBypass},
			Concept: "accepts any origin whose host ends with corscope.test, so evilcorscope.test passes"},
		{Host: APIHost, Path: "/prefix-check", Method: "GET",
			Flaws:   []string{ruleValidationBypass},
			Concept: "accepts any origin starting with http(s)://api|app.corscope.test, so api.corscope.test.evil.example passes"},
		{Host: APIHost, Path: "/http-origin", Method: "GET", Scheme: "https",
			Flaws:   []string{ruleInsecureOrigin},
			Concept: "an https endpoint whose allow-list holds the http:// app origin, with credentials"},
		{Host: APIHost, Path: "/no-vary", Method: "GET",
			Flaws:   []string{ruleMissingVary},
			Concept: "echoes the allowed origin (ACAO only when Origin is sent) without Vary: Origin"},
		{Host: APIHost, Path: "/expose-sensitive", Method: "GET",
			Flaws:   []string{ruleExposeSensitive, ruleWildcard},
			Implied: []string{rulePermissivePrivate},
			Concept: "ACAO * and Access-Control-Expose-Headers: Authorization, X-CSRF-Token"},
		{Host: APIHost, Path: "/preflight-ok-unshared", Method: "PUT", Preflight: true,
			Flaws:    []string{rulePreflightOKUnshared},
			Evidence: []string{EvidencePreflight, EvidenceBlockedResponse},
			Implied:  []string{ruleSensitiveMethods},
			Concept:  "the preflight allows the app origin, the actual PUT response has no ACAO"},
		{Host: APIHost, Path: "/preflight-rejected", Method: "DELETE", Preflight: true,
			Flaws:    []string{rulePreflightBadStatus},
			Evidence: []string{EvidencePreflight},
			Concept:  "the preflight is answered 403 (auth before CORS); curl sends the DELETE anyway"},
		{Host: APIHost, Path: "/star-credentials", Method: "PUT", Preflight: true,
			Flaws:    []string{ruleStarTokensCreds},
			Evidence: []string{EvidencePreflight},
			Concept:  "the preflight answers Allow-Methods: * and Allow-Headers: * with credentials (the * is literal)"},
		{Host: APIHost, Path: "/max-age", Method: "POST", Preflight: true,
			Flaws:    []string{ruleMaxAgeExcessive},
			Evidence: []string{EvidencePreflight},
			Concept:  "the preflight answers Access-Control-Max-Age: 86400000 (over every browser's cap)"},
		{Host: APIHost, Path: "/ws", Method: "GET",
			Flaws:   []string{ruleWSOriginNotValidated},
			Concept: "WebSocket handshake answered 101 whatever the Origin"},
		{Host: APIHost, Path: "/ws", Method: "GET", Scheme: "https",
			Flaws:    []string{ruleWSCrossSiteAccepted},
			Evidence: []string{EvidenceWire},
			Implied:  []string{ruleWSCookieOnly},
			Concept:  "the same WebSocket over wss: cross-site handshakes carry the SameSite=None session cookie"},
		{Host: APIHost, Path: "/csrf/transfer", Method: "POST", Scheme: "https",
			Flaws:   []string{ruleCSRFSimpleWrite, ruleCSRFOriginNotChecked},
			Concept: "a cookie-authenticated form POST accepted from attacker.example and from the app alike"},
		{Host: APIHost, Path: "/csrf/json", Method: "POST", Scheme: "https",
			Flaws:   []string{ruleCSRFJSONTextPlain},
			Concept: "a JSON body accepted under Content-Type: text/plain with the session cookie"},
		{Host: APIHost, Path: "/ok/profile", Method: "GET", Correct: true,
			Concept: "exact allow-list (the app origin of the same scheme), credentials, Vary: Origin, next to flawed endpoints"},
		{Host: SafeHost, Path: "/profile", Method: "GET", Correct: true,
			Concept: "exact allow-list, credentials, Vary: Origin"},
		{Host: SafeHost, Path: "/items", Method: "POST", Preflight: true, Correct: true,
			Concept: "preflighted JSON POST: exact allow-list, Allow-Methods POST, Allow-Headers Content-Type, Max-Age 600"},
		{Host: SafeHost, Path: "/gzip", Method: "GET", Correct: true,
			Concept: "exact allow-list, gzip-encoded body"},
		{Host: SafeHost, Path: "/chunked", Method: "GET", Correct: true,
			Concept: "exact allow-list, chunked body"},
	}
}

// appOrigin is the app's origin on the listener of the request's scheme: the
// only origin a correct endpoint trusts.
func (s *Server) appOrigin(r *http.Request) string {
	sc := reqScheme(r)
	return Origin(sc, AppHost, s.portFor(sc))
}

func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", s.login)
	mux.HandleFunc("/reflect", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if o := r.Header.Get("Origin"); o != "" {
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		h.Set("Vary", "Origin")
		writeJSON(w, http.StatusOK, `{"user":"alice","email":"alice@corscope.test","balance":1200}`)
	})
	mux.HandleFunc("/null", func(w http.ResponseWriter, r *http.Request) {
		// The "null" entry is what developers add for file:// pages; sandboxed
		// iframes and data: URLs send it too.
		s.allowList(w, r, true, s.appOrigin(r), "null")
		writeJSON(w, http.StatusOK, `{"user":"alice","api_key":"ak_fixture_0001"}`)
	})
	mux.HandleFunc("/wildcard", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		writeJSON(w, http.StatusOK, `{"status":"public","version":"1.4.2"}`)
	})
	mux.HandleFunc("/wildcard-credentials", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		writeJSON(w, http.StatusOK, `{"user":"alice"}`)
	})
	mux.HandleFunc("/suffix-check", func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		if u, err := url.Parse(o); err == nil && o != "" && strings.HasSuffix(u.Hostname(), "corscope.test") {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		w.Header().Set("Vary", "Origin")
		writeJSON(w, http.StatusOK, `{"user":"alice","orders":3}`)
	})
	mux.HandleFunc("/prefix-check", func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		if prefixCheck.MatchString(o) {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		w.Header().Set("Vary", "Origin")
		writeJSON(w, http.StatusOK, `{"user":"alice","orders":3}`)
	})
	mux.HandleFunc("/http-origin", func(w http.ResponseWriter, r *http.Request) {
		// The allow-list keeps the app's http origin from before the move to https.
		s.allowList(w, r, true, Origin("https", AppHost, s.httpsPort), Origin("http", AppHost, s.httpPort))
		writeJSON(w, http.StatusOK, `{"user":"alice","plan":"pro"}`)
	})
	mux.HandleFunc("/no-vary", func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && o == s.appOrigin(r) {
			w.Header().Set("Access-Control-Allow-Origin", o)
		}
		w.Header().Set("Cache-Control", "max-age=60")
		writeJSON(w, http.StatusOK, `{"news":["cors","vary"]}`)
	})
	mux.HandleFunc("/expose-sensitive", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Authorization, X-CSRF-Token")
		h.Set("Authorization", "Bearer fixture-token-0001")
		h.Set("X-CSRF-Token", "csrf-fixture-0001")
		writeJSON(w, http.StatusOK, `{"ok":true}`)
	})
	mux.HandleFunc("/preflight-ok-unshared", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			if s.allowList(w, r, true, s.appOrigin(r)) {
				w.Header().Set("Access-Control-Allow-Methods", "PUT")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// The actual response comes from a handler that forgot CORS: the
		// write happened, the page cannot read the result.
		drain(r)
		writeJSON(w, http.StatusOK, `{"saved":true}`)
	})
	mux.HandleFunc("/preflight-rejected", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			// Authentication runs before CORS and has no credentials to see.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "forbidden\n")
			return
		}
		drain(r)
		writeJSON(w, http.StatusOK, `{"deleted":true}`)
	})
	mux.HandleFunc("/star-credentials", func(w http.ResponseWriter, r *http.Request) {
		ok := s.allowList(w, r, true, s.appOrigin(r))
		if r.Method == http.MethodOptions {
			if ok {
				w.Header().Set("Access-Control-Allow-Methods", "*")
				w.Header().Set("Access-Control-Allow-Headers", "*")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		drain(r)
		if ok {
			w.Header().Set("Access-Control-Expose-Headers", "*")
		}
		writeJSON(w, http.StatusOK, `{"saved":true}`)
	})
	mux.HandleFunc("/max-age", func(w http.ResponseWriter, r *http.Request) {
		ok := s.allowList(w, r, false, s.appOrigin(r))
		if r.Method == http.MethodOptions {
			if ok {
				w.Header().Set("Access-Control-Allow-Methods", "POST")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				w.Header().Set("Access-Control-Max-Age", "86400000")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		drain(r)
		writeJSON(w, http.StatusOK, `{"queued":true}`)
	})
	mux.HandleFunc("/ws", s.websocket)
	mux.HandleFunc("/csrf/transfer", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		// No Origin or token check: the cookie alone authorises the transfer.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>transfer</title><p>transferred "+
			htmlEscape(r.PostForm.Get("amount"))+" to "+htmlEscape(r.PostForm.Get("to"))+"</p>\n")
	})
	mux.HandleFunc("/csrf/json", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		drain(r)
		// The JSON decoder ignores Content-Type, so text/plain (no preflight) works.
		writeJSON(w, http.StatusOK, `{"email_changed":true}`)
	})
	mux.HandleFunc("/ok/profile", func(w http.ResponseWriter, r *http.Request) {
		s.allowList(w, r, true, s.appOrigin(r))
		writeJSON(w, http.StatusOK, `{"user":"alice"}`)
	})
	return mux
}

// prefixCheck is the flawed check: anchored at the start only.
var prefixCheck = regexp.MustCompile(`^https?://(app|api)\.corscope\.test`)

func (s *Server) safeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/profile", func(w http.ResponseWriter, r *http.Request) {
		s.allowList(w, r, true, s.appOrigin(r))
		writeJSON(w, http.StatusOK, `{"user":"alice"}`)
	})
	mux.HandleFunc("/items", func(w http.ResponseWriter, r *http.Request) {
		ok := s.allowList(w, r, true, s.appOrigin(r))
		if r.Method == http.MethodOptions {
			if ok {
				w.Header().Set("Access-Control-Allow-Methods", "POST")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				w.Header().Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		drain(r)
		writeJSON(w, http.StatusCreated, `{"id":7}`)
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		s.allowList(w, r, true, s.appOrigin(r))
		body := gzipBody
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			io.WriteString(gz, body)
			gz.Close()
			return
		}
		io.WriteString(w, body)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		s.allowList(w, r, true, s.appOrigin(r))
		w.Header().Set("Content-Type", "application/json")
		fl, _ := w.(http.Flusher)
		io.WriteString(w, `{"items":[`)
		for i := 0; i < 3; i++ {
			if fl != nil {
				fl.Flush() // without Content-Length each flush is one chunk
			}
			if i > 0 {
				io.WriteString(w, ",")
			}
			io.WriteString(w, `{"n":`+strconv.Itoa(i)+`}`)
		}
		io.WriteString(w, "]}")
	})
	return mux
}

var gzipBody = `{"items":[` + strings.TrimSuffix(strings.Repeat(`{"name":"item","tags":["a","b"]},`, 20), ",") + `]}`

// allowList sets ACAO (and ACAC) when the request's Origin is byte-equal to
// one of allowed, and always Vary: Origin. It reports whether it allowed.
func (s *Server) allowList(w http.ResponseWriter, r *http.Request, credentials bool, allowed ...string) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	for _, a := range allowed {
		if o == a {
			h.Set("Access-Control-Allow-Origin", o)
			if credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			return true
		}
	}
	return false
}

// login sets the session cookie. SameSite=None; Secure is what lets the
// browser send it on cross-site fetches, WebSockets and form POSTs; over
// plain http Chromium rejects the cookie, so the http session has none.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Set-Cookie", "session=s3ss10n-fixture-alice; Path=/; Secure; HttpOnly; SameSite=None")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html><title>login</title><p>logged in as alice</p>\n")
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// drain reads (at most 64 KiB of) the request body so keep-alive survives.
func drain(r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
}

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func htmlEscape(s string) string { return htmlReplacer.Replace(s) }
