package fixtureserver

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// routes dispatches on the Host header: one handler per virtual host.
func (s *Server) routes() http.Handler {
	app, api, safe := s.appHandler(), s.apiHandler(), s.safeHandler()
	attacker := s.attackerHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "corscope-fixtures")
		switch reqHost(r) {
		case AppHost:
			app.ServeHTTP(w, r)
		case APIHost:
			api.ServeHTTP(w, r)
		case SafeHost:
			safe.ServeHTTP(w, r)
		case EvilHost, AttackerHost, PrefixBypassHost, SuffixBypassHost:
			attacker.ServeHTTP(w, r)
		default:
			http.Error(w, "unknown virtual host", http.StatusMisdirectedRequest)
		}
	})
}

// Page is one page a recorder visits.
type Page struct {
	Host string
	Path string
	// Wait says when the page is finished: "done" when its script set
	// window.__done (and the title "done"), "load" when the document loaded,
	// "navigate" when it submitted a form and the next document loaded.
	Wait string
	// Scheme forces the page's scheme ("http" for the page that calls the
	// https API from an http origin); "" means the session's scheme.
	Scheme string
}

// Pages returns the recording order: log in first so the session cookie
// exists, then the app, then each attacker.
func Pages() []Page {
	return []Page{
		{Host: APIHost, Path: "/login", Wait: "load"},
		{Host: AppHost, Path: "/", Wait: "done"},
		{Host: AppHost, Path: "/transfer", Wait: "navigate"},
		{Host: AppHost, Path: "/insecure", Wait: "done", Scheme: "http"},
		{Host: EvilHost, Path: "/", Wait: "done"},
		{Host: AttackerHost, Path: "/", Wait: "done"},
		{Host: AttackerHost, Path: "/csrf", Wait: "navigate"},
		{Host: SuffixBypassHost, Path: "/", Wait: "done"},
		{Host: PrefixBypassHost, Path: "/", Wait: "done"},
	}
}

// pageConfig is what a page's script needs: the base URLs of the targets on
// the page's own scheme, plus the https API for the mixed-scheme page.
func (s *Server) pageConfig(r *http.Request) string {
	sc := reqScheme(r)
	ws := "ws"
	if sc == "https" {
		ws = "wss"
	}
	cfg := map[string]string{
		"api":      s.URL(sc, APIHost),
		"safe":     s.URL(sc, SafeHost),
		"ws":       ws + strings.TrimPrefix(s.URL(sc, APIHost), sc),
		"httpsAPI": s.URL("https", APIHost),
	}
	b, _ := json.Marshal(cfg) // escapes <, > and & for a <script> context
	return string(b)
}

// pageScript runs the steps one after another; each step's outcome is kept
// in window.__done for the recorder's log, never trusted as a result.
const pageScript = `
const log = [];
async function step(name, fn) {
  try { log.push(name + ': ' + await fn()); } catch (e) { log.push(name + ': ' + e.name); }
}
async function call(url, opts) {
  const r = await fetch(url, opts);
  await r.text();
  return r.status;
}
const json = (method, body, creds) => ({method, credentials: creds ? 'include' : 'same-origin',
  headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
function ws(url) {
  return new Promise(resolve => {
    let n = 0;
    const s = new WebSocket(url);
    const t = setTimeout(() => { try { s.close(); } catch (e) {} resolve('timeout'); }, 4000);
    s.onmessage = () => { n++; if (n === 1) s.send('hello'); else s.close(1000, 'bye'); };
    s.onclose = () => { clearTimeout(t); resolve('closed after ' + n + ' messages'); };
  });
}
// Frames may finish before the step that waits for them starts: keep
// their results from the first moment.
const frames = {};
addEventListener('message', ev => {
  if (ev.data && ev.data.frame) { frames[ev.data.frame] = ev.data.result; }
});
// nullFrame loads a sandboxed iframe (no allow-same-origin): its opaque
// origin makes the browser send Origin: null.
function nullFrame(src) {
  const f = document.createElement('iframe');
  f.sandbox = 'allow-scripts';
  f.src = src;
  document.body.append(f);
  return frameDone('null');
}
async function frameDone(id) {
  for (let i = 0; i < 40 && !(id in frames); i++) await new Promise(r => setTimeout(r, 100));
  return id in frames ? frames[id] : 'timeout';
}
async function run(steps) {
  for (const [name, fn] of steps) await step(name, fn);
  window.__done = log;
  document.title = 'done';
}
`

func writePage(w http.ResponseWriter, title, cfg, body, script string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=utf-8><link rel=icon href=\"data:,\"><title>")
	b.WriteString(htmlEscape(title))
	b.WriteString("</title></head><body>")
	b.WriteString(body)
	b.WriteString("<script>const C = ")
	b.WriteString(cfg)
	b.WriteString(";")
	b.WriteString(pageScript)
	b.WriteString(script)
	b.WriteString("</script></body></html>\n")
	io.WriteString(w, b.String())
}

func (s *Server) appHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		writePage(w, "corscope app", s.pageConfig(r), "<h1>app</h1>", `
run([
  ['reflect', () => call(C.api + '/reflect', {credentials: 'include'})],
  ['null', () => call(C.api + '/null', {credentials: 'include'})],
  ['ok-profile', () => call(C.api + '/ok/profile', {credentials: 'include'})],
  ['safe-profile', () => call(C.safe + '/profile', {credentials: 'include'})],
  ['no-vary', () => call(C.api + '/no-vary')],
  ['no-vary-no-cors', () => call(C.api + '/no-vary', {mode: 'no-cors'})],
  ['suffix-check', () => call(C.api + '/suffix-check', {credentials: 'include'})],
  ['prefix-check', () => call(C.api + '/prefix-check', {credentials: 'include'})],
  ['http-origin', () => call(C.api + '/http-origin', {credentials: 'include'})],
  ['preflight-ok-unshared', () => call(C.api + '/preflight-ok-unshared', json('PUT', {name: 'alice'}, true))],
  ['preflight-rejected', () => call(C.api + '/preflight-rejected', {method: 'DELETE', credentials: 'include'})],
  ['star-credentials', () => call(C.api + '/star-credentials', {method: 'PUT', credentials: 'include',
     headers: {'X-Requested-With': 'fetch'}, body: 'x=1'})],
  ['max-age-1', () => call(C.api + '/max-age', json('POST', {job: 1}))],
  ['max-age-2', () => call(C.api + '/max-age', json('POST', {job: 2}))],
  ['safe-items', () => call(C.safe + '/items', json('POST', {name: 'pen'}, true))],
  ['safe-gzip', () => call(C.safe + '/gzip', {credentials: 'include'})],
  ['safe-chunked', () => call(C.safe + '/chunked', {credentials: 'include'})],
  ['ws', () => ws(C.ws + '/ws')],
]);`)
	})
	mux.HandleFunc("/transfer", func(w http.ResponseWriter, r *http.Request) {
		writeFormPage(w, s.URL(reqScheme(r), APIHost)+"/csrf/transfer", "bob", "10")
	})
	mux.HandleFunc("/insecure", func(w http.ResponseWriter, r *http.Request) {
		writePage(w, "corscope app (http)", s.pageConfig(r), "<h1>app over http</h1>", `
run([
  ['http-origin', () => C.httpsAPI ? call(C.httpsAPI + '/http-origin', {credentials: 'include'}) : 'no https listener'],
]);`)
	})
	return mux
}

func (s *Server) attackerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := reqHost(r)
		cfg := s.pageConfig(r)
		switch {
		case host == EvilHost && r.URL.Path == "/":
			writePage(w, "evil", cfg, "", `
run([
  ['reflect', () => call(C.api + '/reflect', {credentials: 'include'})],
  ['wildcard', () => call(C.api + '/wildcard')],
  ['wildcard-credentials', () => call(C.api + '/wildcard-credentials', {credentials: 'include'})],
  ['expose-sensitive', async () => { const r = await fetch(C.api + '/expose-sensitive'); await r.text();
     return 'read Authorization=' + r.headers.get('Authorization'); }],
  ['no-vary', () => call(C.api + '/no-vary')],
  ['suffix-check', () => call(C.api + '/suffix-check', {credentials: 'include'})],
  ['ok-profile', () => call(C.api + '/ok/profile', {credentials: 'include'})],
  ['safe-profile', () => call(C.safe + '/profile', {credentials: 'include'})],
  ['safe-items', () => call(C.safe + '/items', json('POST', {name: 'x'}, true))],
  ['null-frame', () => nullFrame('/null-frame')],
  ['ws', () => ws(C.ws + '/ws')],
]);`)
		case host == EvilHost && r.URL.Path == "/null-frame":
			// Sandboxed without allow-same-origin: an opaque origin, so the
			// browser sends Origin: null.
			writePage(w, "null frame", cfg, "", `
run([
  ['null', () => call(C.api + '/null', {credentials: 'include'})],
]).then(() => parent.postMessage({frame: 'null', result: log.join('; ')}, '*'));`)
		case host == AttackerHost && r.URL.Path == "/":
			writePage(w, "attacker", cfg, "", `
run([
  ['reflect', () => call(C.api + '/reflect', {credentials: 'include'})],
  ['csrf-json', () => call(C.api + '/csrf/json', {method: 'POST', mode: 'no-cors', credentials: 'include',
     headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({email: 'mallory@attacker.example'})})],
  ['ws', () => ws(C.ws + '/ws')],
]);`)
		case host == AttackerHost && r.URL.Path == "/csrf":
			writeFormPage(w, s.URL(reqScheme(r), APIHost)+"/csrf/transfer", "mallory", "1000")
		case host == SuffixBypassHost && r.URL.Path == "/":
			writePage(w, "suffix bypass", cfg, "", `
run([
  ['suffix-check', () => call(C.api + '/suffix-check', {credentials: 'include'})],
]);`)
		case host == PrefixBypassHost && r.URL.Path == "/":
			writePage(w, "prefix bypass", cfg, "", `
run([
  ['prefix-check', () => call(C.api + '/prefix-check', {credentials: 'include'})],
]);`)
		default:
			http.NotFound(w, r)
		}
	})
}

// writeFormPage auto-submits a urlencoded form: a top-level POST that
// carries the session cookie (SameSite=None) and needs no CORS at all.
func writeFormPage(w http.ResponseWriter, action, to, amount string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, `<!doctype html><html><head><meta charset=utf-8><link rel=icon href="data:,"><title>form</title></head><body>`+
		`<form method=POST action="`+htmlEscape(action)+`"><input name=to value="`+htmlEscape(to)+
		`"><input name=amount value="`+htmlEscape(amount)+`"></form><script>document.forms[0].submit()</script></body></html>`+"\n")
}
