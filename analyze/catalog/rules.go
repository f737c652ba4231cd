package catalog

// References shared by several rules.
const (
	refFetchCORS        = "https://fetch.spec.whatwg.org/#http-cors-protocol"
	refFetchCORSCheck   = "https://fetch.spec.whatwg.org/#cors-check"
	refFetchACAO        = "https://fetch.spec.whatwg.org/#http-access-control-allow-origin"
	refFetchResponses   = "https://fetch.spec.whatwg.org/#http-responses"
	refFetchCredentials = "https://fetch.spec.whatwg.org/#cors-protocol-and-credentials"
	refFetchPreflight   = "https://fetch.spec.whatwg.org/#cors-preflight-fetch"
	refFetchPFCache     = "https://fetch.spec.whatwg.org/#cors-preflight-cache"
	refFetchSafelisted  = "https://fetch.spec.whatwg.org/#cors-safelisted-request-header"
	refFetchSafeMethod  = "https://fetch.spec.whatwg.org/#cors-safelisted-method"
	refFetchCaching     = "https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches"
	refFetchRedirect    = "https://fetch.spec.whatwg.org/#http-redirect-fetch"
	refFetchSyntax      = "https://fetch.spec.whatwg.org/#http-new-header-syntax"
	refHTMLOrigin       = "https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin"
	refPortSwiggerCORS  = "https://portswigger.net/web-security/cors"
	refPortSwiggerACAO  = "https://portswigger.net/web-security/cors/access-control-allow-origin"
	refPortSwiggerRes   = "https://portswigger.net/research/exploiting-cors-misconfigurations-for-bitcoins-and-bounties"
	refOWASPCORS        = "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/11-Client-side_Testing/07-Testing_Cross_Origin_Resource_Sharing"
	refMDNCORS          = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS"
	refMDNCORSErrors    = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS/Errors"
	refMDNACAO          = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Allow-Origin"
	refMDNACAC          = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Allow-Credentials"
	refMDNACAM          = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Allow-Methods"
	refMDNACAH          = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Allow-Headers"
	refMDNACEH          = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Expose-Headers"
	refMDNMaxAge        = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Max-Age"
	refMDNVary          = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Vary"
	refMDNSameSite      = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Set-Cookie#samesitesamesite-value"
	refMDNSecFetchSite  = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Sec-Fetch-Site"
	refRFC9110Vary      = "https://www.rfc-editor.org/rfc/rfc9110#name-vary"
	refRFC9111          = "https://www.rfc-editor.org/rfc/rfc9111"
	refRFC6455Origin    = "https://www.rfc-editor.org/rfc/rfc6455#section-10.2"
	refRFC6265bis       = "https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#name-the-samesite-attribute"
	refPNA              = "https://wicg.github.io/private-network-access/"
	refPSL              = "https://publicsuffix.org/list/"
	refCSWSH            = "https://portswigger.net/web-security/websockets/cross-site-websocket-hijacking"
	refOWASPCSRF        = "https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html"
	refOWASPWS          = "https://cheatsheetseries.owasp.org/cheatsheets/WebSocket_Security_Cheat_Sheet.html"
	refPortSwiggerCSRF  = "https://portswigger.net/web-security/csrf"
	refFetchMetadata    = "https://www.w3.org/TR/fetch-metadata/"
	refWebDevFetchMeta  = "https://web.dev/articles/fetch-metadata"
	refCWE113           = "https://cwe.mitre.org/data/definitions/113.html"
	refCWE200           = "https://cwe.mitre.org/data/definitions/200.html"
	refCWE319           = "https://cwe.mitre.org/data/definitions/319.html"
	refCWE346           = "https://cwe.mitre.org/data/definitions/346.html"
	refCWE352           = "https://cwe.mitre.org/data/definitions/352.html"
	refCWE524           = "https://cwe.mitre.org/data/definitions/524.html"
	refCWE693           = "https://cwe.mitre.org/data/definitions/693.html"
	refCWE942           = "https://cwe.mitre.org/data/definitions/942.html"
	refCWE1275          = "https://cwe.mitre.org/data/definitions/1275.html"
	refCWE1385          = "https://cwe.mitre.org/data/definitions/1385.html"
)

// rules is the catalogue in spec order. Keep ids stable: they are SARIF
// ruleIds and part of every finding fingerprint.
var rules = []Rule{
	// A. Origin trust
	{
		ID: "cors-reflect-any-credentials", Group: "A", BaseSeverity: "high", SeverityNote: "high", CWE: 942,
		Title:   "Any origin is reflected into Access-Control-Allow-Origin with credentials allowed",
		Summary: "The host echoes arbitrary request origins in Access-Control-Allow-Origin and answers Access-Control-Allow-Credentials: true on those responses.",
		Why: "The server copies whatever Origin the browser sends into Access-Control-Allow-Origin and also allows credentials. " +
			"That tells every browser that any web site may read this host's responses with the victim's cookies or HTTP authentication attached. " +
			"The same-origin policy no longer protects anything this endpoint returns to a logged-in user.",
		Exploit: "The attacker lures a logged-in user to a page on a domain they control. " +
			"Its script calls fetch('https://api.example.com/v1/user', {credentials: 'include'}); the browser sends the session cookie, the server answers " +
			"Access-Control-Allow-Origin: https://attacker.example and Access-Control-Allow-Credentials: true, and the script reads the response " +
			"(personal data, API keys, CSRF tokens) and sends it home. " +
			"No user interaction beyond the visit is needed.",
		Fix: "Compare the Origin header against an explicit allow-list of full origins and echo it only on an exact match. " +
			"Compare the whole serialized origin byte for byte (for example https://app.example.com), never with a prefix, suffix, substring or unanchored regex. " +
			"Send Vary: Origin on every response whose Access-Control-Allow-Origin depends on the request, and omit Access-Control-Allow-Credentials " +
			"unless the endpoint really must serve cookie-authenticated cross-origin reads.",
		References: []string{refPortSwiggerACAO, refPortSwiggerRes, refFetchCredentials, refOWASPCORS, refMDNACAC, refCWE942},
	},
	{
		ID: "cors-reflect-any", Group: "A", BaseSeverity: "low", SeverityNote: "low (medium when the server address is private/loopback or the host is intranet-like)", CWE: 942,
		Title:   "Any origin is reflected into Access-Control-Allow-Origin",
		Summary: "The host echoes arbitrary request origins in Access-Control-Allow-Origin without Access-Control-Allow-Credentials: true.",
		Why: "Without credentials a browser sends no cookies, so an attacker only reads what they could fetch themselves, which limits the impact on public hosts. " +
			"It matters when the response depends on something the attacker lacks: the victim's network position (intranet hosts, loopback services, " +
			"IP-based allow-lists) or credentials the browser attaches implicitly. " +
			"It is also a strong sign of origin-reflecting middleware that may enable credentials elsewhere on the host.",
		Exploit: "A page on any domain fetches the endpoint through the victim's browser and reads the answer. " +
			"Against an intranet or loopback service the victim's browser becomes a proxy into a network the attacker cannot reach, " +
			"and the attacker reads internal dashboards, metadata services or admin APIs.",
		Fix: "Replace origin reflection with an explicit allow-list of trusted origins, or send Access-Control-Allow-Origin: * only for genuinely public data. " +
			"Internal services should not answer cross-origin reads at all unless a named origin needs them. " +
			"Add Vary: Origin wherever the header depends on the request.",
		References: []string{refPortSwiggerACAO, refFetchCORS, refOWASPCORS, refMDNACAO, refCWE942},
	},
	{
		ID: "cors-null-trusted", Group: "A", BaseSeverity: "high", SeverityNote: "high with ACAC true, else low", CWE: 942,
		Title:   "The null origin is trusted",
		Summary: "The response carries Access-Control-Allow-Origin: null, whether echoed from the request or sent statically.",
		Why: "The opaque origin serialises as null, and any attacker can make a browser send Origin: null: sandboxed iframes, data: URLs, " +
			"file: pages and some cross-origin redirects all do. " +
			"Trusting null is therefore trusting everyone, and with credentials allowed it is as bad as reflecting any origin.",
		Exploit: "The attacker serves a page with <iframe sandbox=\"allow-scripts\" srcdoc=\"...\"> whose script fetches the endpoint with credentials: 'include'. " +
			"The request carries Origin: null, the server answers Access-Control-Allow-Origin: null and Access-Control-Allow-Credentials: true, " +
			"and the framed script reads the victim's data and posts it to the parent page.",
		Fix: "Never allow the null origin: remove null from the allow-list and treat a request with Origin: null as untrusted. " +
			"If local files or sandboxed frames really need the data, serve it from a proper origin instead. " +
			"Respond without Access-Control-Allow-Origin when the Origin is not on the allow-list.",
		References: []string{refPortSwiggerACAO, refHTMLOrigin, refFetchACAO, refMDNACAO, refCWE942},
	},
	{
		ID: "cors-wildcard", Group: "A", BaseSeverity: "info", SeverityNote: "info (medium on private/loopback servers)", CWE: 942,
		Title:   "Access-Control-Allow-Origin is the wildcard *",
		Summary: "The response carries Access-Control-Allow-Origin: * without Access-Control-Allow-Credentials: true.",
		Why: "The wildcard lets any page read the response, but browsers never attach cookies or HTTP authentication to such reads, " +
			"so on a public host it exposes only what anybody could download directly. " +
			"It is correct for public APIs, fonts and CDNs. " +
			"It matters on private or loopback servers, where the victim's network position is the only access control.",
		Exploit: "On an intranet or loopback service, a page on any domain visited by an employee fetches internal URLs through the employee's browser " +
			"and reads the responses: internal wikis, router or printer admin pages, local development servers or cloud metadata.",
		Fix: "Keep Access-Control-Allow-Origin: * only for data that is public by design. " +
			"For internal services, remove the header or replace it with the specific origins that need access (Access-Control-Allow-Origin: https://portal.corp.example plus Vary: Origin), " +
			"and require authentication that does not rely on the network position.",
		References: []string{refFetchACAO, refFetchCredentials, refMDNACAO, refOWASPCORS, refCWE942},
	},
	{
		ID: "cors-wildcard-credentials", Group: "A", BaseSeverity: "info", SeverityNote: "info", CWE: 942,
		Title:   "Access-Control-Allow-Origin * sent together with credentials",
		Summary: "The response carries Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: true.",
		Why: "Browsers refuse this combination for credentialed requests, so the response itself is not readable cross-site with cookies. " +
			"It shows that whoever configured the server wanted credentialed access from everywhere, and middleware configured that way often " +
			"switches to reflecting the request Origin on other routes or in other configurations, which is exploitable.",
		Exploit: "Not directly exploitable through a browser. " +
			"The attacker looks for other endpoints of the same host that reflect the Origin with credentials (cors-reflect-any-credentials) " +
			"and probes them with their own origin.",
		Fix: "Decide whether the endpoint needs credentialed cross-origin access. " +
			"If not, drop Access-Control-Allow-Credentials; if it does, replace the wildcard with an exact allow-list echo (Access-Control-Allow-Origin: https://app.example.com, " +
			"Access-Control-Allow-Credentials: true, Vary: Origin).",
		References: []string{refFetchCredentials, refFetchCORSCheck, refMDNCORSErrors, refMDNACAC, refCWE942},
	},
	{
		ID: "cors-insecure-origin-trusted", Group: "A", BaseSeverity: "low", SeverityNote: "low (medium with credentials; loopback origins: info)", CWE: 942,
		Title:   "An https host trusts a cleartext http origin",
		Summary: "The target is https and Access-Control-Allow-Origin names an http:// origin.",
		Why: "Content served over plain HTTP can be altered by anybody on the network path: public Wi-Fi, a hostile ISP, a compromised router. " +
			"Trusting an http origin lets such an attacker inject script into that origin and read the https host's responses, " +
			"undoing the protection TLS gives the https host.",
		Exploit: "An attacker on the victim's network intercepts any plain-HTTP request and answers with a redirect to http://app.example.com/, " +
			"whose content they also control on the wire. " +
			"The injected script fetches https://api.example.com with credentials; the API trusts http://app.example.com and the attacker reads the responses.",
		Fix: "Allow only https:// origins on https hosts. " +
			"Serve the trusted front-ends over HTTPS with HSTS, and remove http:// variants from the allow-list (they are often added by scheme-insensitive matching).",
		References: []string{refPortSwiggerACAO, refOWASPCORS, refFetchACAO, refCWE942},
	},
	{
		ID: "cors-any-subdomain-trusted", Group: "A", BaseSeverity: "low", SeverityNote: "low (medium with credentials)", CWE: 942,
		Title:   "Any subdomain of the site is trusted",
		Summary: "Access-Control-Allow-Origin echoes two or more distinct subdomains of the target's site, including never-served or random-looking labels.",
		Why: "Trusting every subdomain makes the weakest subdomain the security boundary of the API. " +
			"A cross-site scripting flaw, a dangling DNS record taken over on a cloud provider, or a user-content subdomain anywhere under the site " +
			"then grants read access to the API, with credentials if they are allowed.",
		Exploit: "The attacker finds XSS on forgotten.example.com or claims a dangling CNAME such as old-campaign.example.com on a hosting provider. " +
			"Script running there fetches https://api.example.com with credentials: 'include'; the API echoes the subdomain origin and the attacker reads the user's data.",
		Fix: "Allow-list the exact subdomains that need access instead of a suffix match. " +
			"If a pattern is unavoidable, anchor it on both ends and escape dots (^https://(app|admin)\\.example\\.com$), and keep user content and third-party hosted " +
			"subdomains on a separate registrable domain.",
		References: []string{refPortSwiggerACAO, refPortSwiggerRes, refOWASPCORS, refCWE942},
	},
	{
		ID: "cors-origin-validation-bypass", Group: "A", BaseSeverity: "high", SeverityNote: "high with credentials, else medium", CWE: 346,
		Title:   "Origin check bypassed by a look-alike origin",
		Summary: "An echoed origin contains the target's host or registrable domain but belongs to a different registrable domain (prefix, suffix, unescaped dot, substring or special-character tricks).",
		Why: "The server validates the Origin with string tricks instead of an exact comparison: startsWith, endsWith, contains, or a regex with an unescaped dot or no anchors. " +
			"Anybody can register a domain that passes such a check, so the allow-list protects nothing.",
		Exploit: "If the check is a suffix match on example.com, the attacker registers notexample.com; a prefix match is defeated by example.com.attacker.net, " +
			"an unescaped dot in www.example.com by wwwxexample.com. " +
			"Some browsers also accept hosts with characters such as _ or a backtick, which defeats parsers that stop at them. " +
			"A page on the look-alike domain then reads the API's responses with the victim's cookies.",
		Fix: "Parse the Origin, then compare the whole serialized origin against an allow-list with exact equality. " +
			"If regexes are unavoidable, escape every dot and anchor both ends (^https://app\\.example\\.com$), and test the check with look-alike origins " +
			"(https://example.com.attacker.net, https://attackerexample.com, https://wwwxexample.com).",
		References: []string{refPortSwiggerRes, refPortSwiggerACAO, refOWASPCORS, refCWE346},
	},
	{
		ID: "cors-untrusted-third-party", Group: "A", BaseSeverity: "medium", SeverityNote: "medium with credentials, else low", CWE: 942,
		Title:   "A user-content hosting origin is trusted",
		Summary: "Access-Control-Allow-Origin trusts a host where anybody can publish content (github.io, codepen.io, jsfiddle.net, jsbin.com, repl.it, PSL private-section domains).",
		Why: "Anyone can host script on these domains, and a shared platform origin (such as a fiddle or a sandbox host) is shared by all its users. " +
			"Trusting one therefore trusts every person who can publish there.",
		Exploit: "The attacker creates a free page or snippet on the trusted platform whose script fetches the API with credentials, " +
			"then sends the link to a logged-in victim and reads the responses.",
		Fix: "Remove user-content platforms from the allow-list. " +
			"If a documentation demo needs the API, give it a dedicated public endpoint without credentials or host the demo on an origin you control.",
		References: []string{refPortSwiggerACAO, refPSL, refOWASPCORS, refCWE942},
	},
	{
		ID: "cors-dev-origin-trusted", Group: "A", BaseSeverity: "low", SeverityNote: "low", CWE: 942,
		Title:   "A public host trusts development or private-network origins",
		Summary: "A public host that allows credentials echoes localhost, 127.0.0.0/8, RFC 1918 or .local origins.",
		Why: "Development origins such as http://localhost:3000 are often left in production allow-lists. " +
			"Any program on the user's machine, and any page served by a local development server or a device on the local network, " +
			"then has credentialed read access to production data.",
		Exploit: "Malware or a malicious npm package running a local web server, or an attacker who finds XSS in a local service or a router page, " +
			"serves script from http://localhost or a private address; the victim's browser lets that script read the production API with their cookies.",
		Fix: "Keep development origins out of production configuration. " +
			"Load the allow-list per environment, and point local development at a staging API that holds no real user data.",
		References: []string{refOWASPCORS, refPortSwiggerACAO, refCWE942},
	},
	{
		ID: "cors-origin-header-injection", Group: "A", BaseSeverity: "high", SeverityNote: "high", CWE: 113,
		Title:   "A malformed Origin with control bytes is echoed",
		Summary: "The request Origin holds CR, LF or other control bytes or is not origin syntax, and Access-Control-Allow-Origin echoes it.",
		Why: "The server copies raw request bytes into a response header. " +
			"With CR or LF that allows splitting the response or injecting headers, and in any case it shows that no validation runs on the Origin at all.",
		Exploit: "Browsers do not send such origins, so the attacker uses the echo through another channel: a request smuggled through a proxy, " +
			"a cache poisoned with an injected header (for example Set-Cookie or a second Access-Control-Allow-Origin), or a non-browser client " +
			"that passes a header on a victim's behalf.",
		Fix: "Validate the Origin syntax before using it, then echo only an origin that exactly matches an allow-list entry. " +
			"Reject any header value containing CR, LF or other control bytes at the framework level, and never concatenate request data into response headers.",
		References: []string{refHTMLOrigin, refFetchSyntax, refCWE113},
	},

	// B. Syntax and dysfunction
	{
		ID: "cors-acao-malformed", Group: "B", BaseSeverity: "info", SeverityNote: "info", CWE: 693,
		Title:   "Access-Control-Allow-Origin is malformed",
		Summary: "Access-Control-Allow-Origin is not *, null or exactly one serialized origin (trailing slash, path, list, several fields, *.x.com, https://*, uppercase, empty, default port written out).",
		Why: "Browsers compare the header with the request's origin byte for byte. " +
			"Values such as https://app.example.com/, https://*.example.com, a comma-separated list, HTTPS://APP.EXAMPLE.COM or two header fields never match, " +
			"so the cross-origin read the developer intended silently fails. " +
			"Such values also reveal an intended policy that someone may later \"fix\" by reflecting the Origin.",
		Exploit: "Not exploitable as such. " +
			"Attackers read malformed values as a map of the intended trust (for example *.example.com means any subdomain was meant to be trusted) " +
			"and look for other routes where the same intent is implemented insecurely.",
		Fix: "Send exactly one Access-Control-Allow-Origin field whose value is *, or one origin exactly as the browser serialises it: lower-case scheme and host, " +
			"no path, no trailing slash, no default port (https://app.example.com). " +
			"To allow several origins, pick the one matching the request from an allow-list and add Vary: Origin.",
		References: []string{refFetchACAO, refHTMLOrigin, refMDNCORSErrors, refCWE693},
	},
	{
		ID: "cors-acac-invalid", Group: "B", BaseSeverity: "info", SeverityNote: "info", CWE: 693,
		Title:   "Access-Control-Allow-Credentials has a value other than true",
		Summary: "Access-Control-Allow-Credentials is present but its value is not exactly true.",
		Why: "The only meaningful value is the lower-case token true; browsers treat everything else (True, TRUE, false, 1, an empty value) as absent. " +
			"The header then either does nothing or signals a misunderstanding; false in particular is not a credentials grant, " +
			"although some scanners wrongly treat it as one.",
		Exploit: "Not exploitable; this is a correctness issue. " +
			"A credentialed feature that fails because of it tends to be \"fixed\" in a hurry, often by loosening the origin check as well.",
		Fix: "Send Access-Control-Allow-Credentials: true only on responses that must be readable with credentials, and omit the header otherwise. " +
			"Never send false: leave the header out.",
		References: []string{refMDNACAC, refFetchCredentials, refCWE693},
	},
	{
		ID: "cors-acao-mismatch", Group: "B", BaseSeverity: "info", SeverityNote: "info", CWE: 693,
		Title:   "Access-Control-Allow-Origin names a different origin than the request",
		Summary: "Access-Control-Allow-Origin is one specific origin that differs from the request's Origin.",
		Why: "The browser blocks the read because the allowed origin is not the requesting one. " +
			"Usually the server has a single hard-coded origin, or a shared cache served a response generated for another origin (see cors-missing-vary-origin). " +
			"Legitimate cross-origin clients then fail intermittently.",
		Exploit: "Not directly exploitable. " +
			"Combined with missing Vary: Origin it points to cache poisoning, where responses prepared for one origin are served to another.",
		Fix: "Echo the request's Origin when, and only when, it is on the allow-list, and add Vary: Origin so caches keep one copy per origin. " +
			"If a single origin is meant, confirm that the requesting origin is supposed to be refused.",
		References: []string{refFetchCORSCheck, refMDNCORSErrors, refMDNVary, refCWE693},
	},
	{
		ID: "cors-headers-without-acao", Group: "B", BaseSeverity: "info", SeverityNote: "info", CWE: 693,
		Title:   "CORS headers without Access-Control-Allow-Origin",
		Summary: "A response to a CORS request carries other Access-Control-Allow-* headers but no Access-Control-Allow-Origin.",
		Why: "Without Access-Control-Allow-Origin the browser refuses the response no matter what the other headers say, " +
			"so the configuration is half applied: typically an error path, an authentication layer or a proxy that drops the header on some routes.",
		Exploit: "Not exploitable. " +
			"It shows where the CORS middleware does not run, which may also be where it does not validate.",
		Fix: "Emit the complete CORS header set from one place, after routing and error handling, so error responses and redirects carry it too. " +
			"For origins that are not allowed, send none of the Access-Control-* headers.",
		References: []string{refFetchResponses, refMDNCORSErrors, refCWE693},
	},
	{
		ID: "cors-star-tokens-with-credentials", Group: "B", BaseSeverity: "info", SeverityNote: "info", CWE: 693,
		Title:   "Wildcard in Allow-Methods, Allow-Headers or Expose-Headers with credentials",
		Summary: "Access-Control-Allow-Methods, Allow-Headers or Expose-Headers contains * together with Access-Control-Allow-Credentials: true.",
		Why: "For credentialed requests the Fetch standard gives * no wildcard meaning in these headers: it is the literal method or header name \"*\". " +
			"Requests the developer believed were allowed fail, and exposed headers remain hidden.",
		Exploit: "Not exploitable. " +
			"It shows intent to allow everything with credentials, which is worth checking against the Access-Control-Allow-Origin policy.",
		Fix: "List methods and headers explicitly when credentials are allowed (Access-Control-Allow-Methods: GET, POST; " +
			"Access-Control-Allow-Headers: Content-Type, X-Requested-With).",
		References: []string{refFetchResponses, refMDNACAM, refMDNACAH, refMDNACEH, refCWE693},
	},
	{
		ID: "cors-expose-sensitive-headers", Group: "B", BaseSeverity: "low", SeverityNote: "low", CWE: 200,
		Title:   "Sensitive response headers exposed to cross-origin readers",
		Summary: "Access-Control-Expose-Headers lists Authorization, X-CSRF-Token, X-Api-Key, session-like headers or * under a permissive policy.",
		Why: "Cross-origin scripts can read only safelisted response headers unless others are exposed. " +
			"Exposing tokens, API keys or session identifiers to origins that the permissive policy lets in hands those secrets to any page that can read the response.",
		Exploit: "A page on an allowed or reflected origin fetches the endpoint and reads response.headers.get('X-CSRF-Token') or the refreshed Authorization token, " +
			"then uses it to act as the victim.",
		Fix: "Expose only the headers clients need (for example Access-Control-Expose-Headers: ETag, Link), and never tokens or keys. " +
			"Tighten the origin policy first.",
		References: []string{refMDNACEH, refFetchResponses, refCWE200},
	},
	{
		ID: "cors-sensitive-methods", Group: "B", BaseSeverity: "info", SeverityNote: "info (low with a permissive policy)", CWE: 942,
		Title:   "State-changing or uncommon methods allowed cross-origin",
		Summary: "Access-Control-Allow-Methods contains PUT, DELETE, PATCH or uncommon methods.",
		Why: "Allowing these methods cross-origin lets allowed origins change or delete data through the user's browser. " +
			"With an exact allow-list that is intended; with a permissive origin policy it opens destructive actions to every site.",
		Exploit: "Under a reflecting policy, a page on the attacker's site sends fetch(url, {method: 'DELETE', credentials: 'include'}); " +
			"the preflight passes and the request runs with the victim's session.",
		Fix:        "Allow only the methods the cross-origin clients use (Access-Control-Allow-Methods: GET, POST), and fix the origin policy before allowing write methods.",
		References: []string{refMDNACAM, refFetchPreflight, refCWE942},
	},
	{
		ID: "cors-redirect-missing-acao", Group: "B", BaseSeverity: "info", SeverityNote: "info", CWE: 693,
		Title:   "Redirect on a CORS request without Access-Control-Allow-Origin",
		Summary: "A redirect answering a CORS request lacks Access-Control-Allow-Origin, or a redirect leads to Origin: null downstream.",
		Why: "A browser applies the CORS check to each redirect response, so a redirect without Access-Control-Allow-Origin stops the fetch. " +
			"A cross-origin redirect also turns the request's origin into null, which pushes servers towards trusting null.",
		Exploit: "Not exploitable directly. " +
			"Servers that \"fix\" redirected requests by allowing Origin: null become exploitable through sandboxed iframes (see cors-null-trusted).",
		Fix: "Avoid redirects on CORS endpoints; let clients call the final URL directly. " +
			"If a redirect is needed, send the same Access-Control-Allow-Origin and Access-Control-Allow-Credentials on the 3xx response, and do not answer the resulting Origin: null with trust.",
		References: []string{refFetchRedirect, refMDNCORSErrors, refCWE693},
	},

	// C. Preflight and actual request pairing
	{
		ID: "cors-preflight-reflects-request", Group: "C", BaseSeverity: "info", SeverityNote: "info (medium with cors-reflect-any-credentials or cors-null-trusted)",
		Title:   "Preflight answers echo the requested methods and headers",
		Summary: "Across at least two preflights, Access-Control-Allow-Methods and Allow-Headers echo Access-Control-Request-Method and Request-Headers verbatim.",
		Why: "A server that copies the requested method and headers into the answer allows any method and any request header. " +
			"On its own that only removes a layer of defence; combined with a reflected or null origin it lets an attacker send arbitrary " +
			"non-simple requests (DELETE, custom headers, JSON bodies) with the victim's credentials.",
		Exploit: "With origin reflection in place, the attacker's page issues fetch(url, {method: 'PUT', headers: {'X-Admin': '1'}, credentials: 'include'}); " +
			"the preflight is answered with exactly those names and the request goes through.",
		Fix: "Answer preflights with fixed lists of the methods and headers the API supports (Access-Control-Allow-Methods: GET, POST; Access-Control-Allow-Headers: Content-Type, Authorization). " +
			"Reject preflights for anything else.",
		References: []string{refFetchPreflight, refMDNACAM, refMDNACAH, refPortSwiggerCORS},
	},
	{
		ID: "cors-preflight-ok-actual-unshared", Group: "C", BaseSeverity: "info", SeverityNote: "info",
		Title:   "Preflight passed but the actual response is not shared",
		Summary: "The preflight passed the browser's CORS check, but the paired actual response fails it (no Access-Control-Allow-Origin, or a mismatch).",
		Why: "The browser sent the actual request because the preflight allowed it, so any side effect (a write, a payment, a deletion) happened on the server. " +
			"The page then cannot read the response, so the client sees an error for an operation that succeeded, and retries may repeat it. " +
			"It usually means the preflight and the route handler use different CORS configurations.",
		Exploit: "Rarely exploitable by itself. " +
			"An attacker relies on the preflight's permission to trigger side effects blind; that the response is unreadable does not matter to a CSRF-style attack.",
		Fix: "Apply one CORS policy to both the OPTIONS preflight and the actual route, including error responses. " +
			"Make the actual response carry the same Access-Control-Allow-Origin (and Access-Control-Allow-Credentials) the preflight promised.",
		References: []string{refFetchCORSCheck, refFetchPreflight, refMDNCORSErrors},
	},
	{
		ID: "cors-preflight-failed-actual-sent", Group: "C", BaseSeverity: "info", SeverityNote: "info",
		Title:   "Actual request sent although its preflight failed",
		Summary: "The preflight failed, yet the same client sent the non-simple actual request.",
		Why: "A browser never sends the actual request after a failed preflight. " +
			"Seeing it anyway means the client is not a browser (a script, a proxy, a replay tool) or the preflight cache served an older, more permissive answer. " +
			"The server must not rely on the preflight as an access control.",
		Exploit: "Attackers are not bound by preflights: any non-browser client sends whatever method and headers it likes. " +
			"Servers that treat a failed preflight as blocking the request are misunderstanding CORS.",
		Fix: "Enforce authorisation on the actual request itself; CORS only controls what browsers let pages read. " +
			"Investigate the client if a browser was expected.",
		References: []string{refFetchPreflight, refFetchCORS},
	},
	{
		ID: "cors-preflight-bad-status", Group: "C", BaseSeverity: "info", SeverityNote: "info",
		Title:   "Preflight answered with a non-2xx status",
		Summary: "The preflight's status is not 2xx (401 from authentication running before CORS, 3xx, 403, 404).",
		Why: "Browsers treat any preflight status outside 200-299 as a failure. " +
			"Preflights carry no credentials, so authentication middleware that runs before CORS handling answers 401 and breaks every cross-origin client. " +
			"A 3xx or 404 shows OPTIONS is not routed at all.",
		Exploit: "Not exploitable. " +
			"The usual workaround (disabling authentication for OPTIONS everywhere, or allowing everything) is where weaknesses get introduced.",
		Fix: "Handle OPTIONS preflights in the CORS layer before authentication and routing, and answer them with 204 No Content and the CORS headers. " +
			"Keep authentication on every other method.",
		References: []string{refFetchPreflight, refMDNCORSErrors},
	},
	{
		ID: "cors-preflight-credentials-mismatch", Group: "C", BaseSeverity: "info", SeverityNote: "info",
		Title:   "Credentialed request after a preflight without credentials",
		Summary: "The actual request is credentialed, but its preflight lacks Access-Control-Allow-Credentials: true.",
		Why: "For a credentialed request the browser requires Access-Control-Allow-Credentials: true on the preflight as well as on the actual response. " +
			"Without it the preflight fails and the request should not have been sent by a browser; if it was, a cached entry or a non-browser client is involved.",
		Exploit:    "Not exploitable; it is an inconsistency between the preflight and the route's CORS configuration.",
		Fix:        "Send the same Access-Control-Allow-Credentials: true on preflights as on the actual responses for origins that may use credentials.",
		References: []string{refFetchCredentials, refFetchPreflight, refMDNACAC},
	},
	{
		ID: "cors-authorization-wildcard", Group: "C", BaseSeverity: "info", SeverityNote: "info",
		Title:   "Authorization requested but only * allowed",
		Summary: "Access-Control-Request-Headers contains authorization and Access-Control-Allow-Headers is only *.",
		Why: "The Fetch standard never lets * cover the Authorization header. " +
			"The browser fails this preflight, so clients that send bearer tokens cannot use the API cross-origin although the developer meant to allow them.",
		Exploit:    "Not exploitable; it is a broken policy that invites loosening elsewhere.",
		Fix:        "Name Authorization explicitly: Access-Control-Allow-Headers: Authorization, Content-Type.",
		References: []string{refFetchResponses, refMDNACAH},
	},
	{
		ID: "cors-policy-split", Group: "C", BaseSeverity: "low", SeverityNote: "low",
		Title:   "Preflight and actual response disagree on the policy",
		Summary: "For the same Origin and URL, the preflight and the actual response answer different Access-Control-Allow-Origin or Access-Control-Allow-Credentials.",
		Why: "Two layers decide CORS independently, for example a gateway answering OPTIONS and the application answering the request. " +
			"One of them is usually more permissive, and the stricter one then gives a false sense of control: " +
			"the preflight may admit requests that the application would refuse, or the reverse.",
		Exploit: "The attacker targets whichever layer is weaker: a permissive preflight lets state-changing requests through to an application " +
			"that answers without CORS headers (blind CSRF), and a permissive application exposes simple GETs that need no preflight.",
		Fix: "Configure CORS in one layer only and remove the other, so preflights and actual responses come from the same allow-list. " +
			"Test both with an allowed and a disallowed origin.",
		References: []string{refFetchCORS, refFetchPreflight, refOWASPCORS},
	},
	{
		ID: "cors-nonsimple-without-preflight", Group: "C", BaseSeverity: "info", SeverityNote: "info",
		Title:   "Non-simple cross-origin request without a preflight",
		Summary: "A cross-origin request that needs a preflight (method, unsafe headers, content type, value length rules of the Fetch standard) has none within the emulated preflight cache window.",
		Why: "A browser always preflights such a request unless a cached preflight covers it. " +
			"Seeing none means the client is not a browser, the capture missed the preflight, or the preflight was cached longer than expected. " +
			"It also tells you which requests reach the server without any CORS gate.",
		Exploit: "Not exploitable in itself. " +
			"It marks requests the server must authorise on their own merit, since non-browser clients skip preflights entirely.",
		Fix: "Do not rely on preflights for protection. " +
			"Authenticate and authorise every request, and verify the capture covers the preflight if a browser was the client.",
		References: []string{refFetchPreflight, refFetchSafelisted, refFetchSafeMethod, refFetchPFCache},
	},
	{
		ID: "cors-max-age-excessive", Group: "C", BaseSeverity: "info", SeverityNote: "info (low on permissive or PNA policies)",
		Title:   "Access-Control-Max-Age is excessive or unparsable",
		Summary: "Access-Control-Max-Age is above 7200 (Chromium cap), above 86400 (Firefox cap) or unparsable.",
		Why: "Browsers cap the preflight cache (Chromium 2 hours, Firefox 24 hours, WebKit 10 minutes), so larger values have no effect there. " +
			"They show an intent to cache permission long; with a permissive policy that keeps a grant alive long after the policy is tightened.",
		Exploit: "After an attacker's origin got a permissive preflight answer, the browser keeps reusing it until the cache entry expires, " +
			"even if the server has since been fixed.",
		Fix: "Use a short Access-Control-Max-Age such as 600 seconds, never more than 7200. " +
			"Write it as a plain decimal number of seconds.",
		References: []string{refMDNMaxAge, refFetchPFCache},
	},

	// D. Caching
	{
		ID: "cors-missing-vary-origin", Group: "D", BaseSeverity: "low", SeverityNote: "low (medium when shared-cacheable)", CWE: 524,
		Title:   "Dynamic Access-Control-Allow-Origin without Vary: Origin",
		Summary: "Access-Control-Allow-Origin is dynamic (echoed, different across requests to one URL, or present only when Origin is) and Vary lacks Origin.",
		Why: "Without Vary: Origin a cache (browser, CDN, reverse proxy) stores one response for the URL and serves it to requests from other origins. " +
			"Legitimate clients then get another origin's header and fail, and a response cached for a trusted origin can be read by other origins " +
			"that hit the same cache.",
		Exploit: "The attacker requests the URL through a shared cache with a trusted or attacker-chosen Origin so the cache stores that variant. " +
			"Other clients' requests then receive it: a denial of service for legitimate origins, or a readable response where the stored header happens to fit. " +
			"Combined with header injection this becomes cache poisoning.",
		Fix: "Add Vary: Origin to every response whose Access-Control-Allow-Origin depends on the request, including responses to requests from disallowed origins and without an Origin. " +
			"Keep credentialed responses out of shared caches (Cache-Control: private).",
		References: []string{refFetchCaching, refRFC9110Vary, refMDNVary, refCWE524},
	},
	{
		ID: "cors-cache-hit-acao-mismatch", Group: "D", BaseSeverity: "medium", SeverityNote: "medium", CWE: 524,
		Title:   "Cached response carries the wrong Access-Control-Allow-Origin",
		Summary: "There is cache-hit evidence and Access-Control-Allow-Origin differs from the request Origin, or is missing where the same URL sent it before.",
		Why: "A shared cache is serving one origin's CORS answer to another origin. " +
			"This is the observed effect of a missing Vary: Origin: clients break at random, and responses meant for one origin reach another.",
		Exploit: "The attacker primes the cache with a request from their chosen origin so the stored variant fits their purpose, " +
			"or deliberately poisons the entry to break the service for legitimate origins.",
		Fix: "Send Vary: Origin on CORS responses and purge the affected cache entries. " +
			"Configure the CDN to include the Origin header in the cache key, and keep personalised responses out of shared caches.",
		References: []string{refFetchCaching, refRFC9111, refRFC9110Vary, refCWE524},
	},
	{
		ID: "cors-vary-on-static", Group: "D", BaseSeverity: "info", SeverityNote: "info",
		Title:   "Vary: Origin with a constant Access-Control-Allow-Origin",
		Summary: "Vary: Origin is sent although Access-Control-Allow-Origin is constant.",
		Why: "When the header never depends on the request, Vary: Origin only splits cache entries per origin, reducing the hit rate of CDNs and browsers. " +
			"It is harmless for security.",
		Exploit:    "Not exploitable.",
		Fix:        "Drop Origin from Vary when Access-Control-Allow-Origin is a constant (such as *), or keep it if the policy may become dynamic.",
		References: []string{refFetchCaching, refMDNVary},
	},

	// E. Private Network Access
	{
		ID: "cors-pna-permissive", Group: "E", BaseSeverity: "high", SeverityNote: "high",
		Title:   "Private network access granted to any origin",
		Summary: "A preflight with Access-Control-Request-Private-Network: true is answered Access-Control-Allow-Private-Network: true with Access-Control-Allow-Origin *, reflect-any or a foreign public origin.",
		Why: "Private Network Access makes browsers ask a private or local server before public web pages may reach it. " +
			"Granting that permission to every origin disables the protection for the device or service, which usually has no other access control.",
		Exploit: "A public page visited by someone on the internal network sends requests to the device (router, printer, local agent, development server), " +
			"passes the private-network preflight and reads or changes its configuration.",
		Fix: "Answer Access-Control-Allow-Private-Network: true only for the specific public origins that must reach the device, with Access-Control-Allow-Origin set to that origin. " +
			"Require authentication on the private service.",
		References: []string{refPNA, refFetchPreflight},
	},
	{
		ID: "cors-permissive-on-private-address", Group: "E", BaseSeverity: "medium", SeverityNote: "medium",
		Title:   "Permissive CORS on a private or local server",
		Summary: "The server address is RFC 1918, loopback or link-local, or the host is .local, .internal or single-label, and it answers Access-Control-Allow-Origin * or reflects any origin.",
		Why: "Internal services often trust the network position of their clients instead of authenticating them. " +
			"A permissive CORS policy lets any public page use an employee's browser to read from such a service.",
		Exploit: "The attacker's page, opened by someone inside the network, fetches http://10.0.0.5/admin/api or http://localhost:8080/ " +
			"and reads the response, because the service allows any origin.",
		Fix: "Remove the wildcard and reflection from internal services, and allow only the internal portals that need access by exact origin. " +
			"Authenticate clients instead of trusting the network.",
		References: []string{refPNA, refOWASPCORS, refPortSwiggerACAO},
	},

	// F. WebSocket
	{
		ID: "ws-cross-site-handshake-accepted", Group: "F", BaseSeverity: "high", SeverityNote: "high", CWE: 1385,
		Title:   "Cross-site WebSocket handshake with credentials accepted",
		Summary: "A WebSocket handshake with a cross-site Origin carrying Cookie or Authorization was answered 101.",
		Why: "WebSockets are not covered by CORS: browsers open them to any origin and attach cookies. " +
			"Only the server's check of the Origin header prevents a foreign site from opening an authenticated socket in the user's name " +
			"(cross-site WebSocket hijacking). This handshake shows the check is missing or too loose.",
		Exploit: "The victim visits the attacker's page, which runs new WebSocket('wss://app.example.com/socket'). " +
			"The browser sends the session cookie, the server accepts, and the attacker's script reads every message and sends commands as the user.",
		Fix: "Check the Origin header of every WebSocket handshake against an exact allow-list and refuse others with 403. " +
			"Also authenticate the socket with a token sent after connecting, not only with cookies.",
		References: []string{refCSWSH, refRFC6455Origin, refOWASPWS, refCWE1385},
	},
	{
		ID: "ws-origin-not-validated", Group: "F", BaseSeverity: "medium", SeverityNote: "medium (high if cookie-authenticated)", CWE: 1385,
		Title:   "WebSocket endpoint accepts handshakes from any site",
		Summary: "Two or more WebSocket handshakes from different sites were all answered 101.",
		Why: "A WebSocket server that accepts every Origin lets any web page talk to it through the user's browser. " +
			"If the socket is authenticated by cookies this is cross-site WebSocket hijacking; otherwise it still exposes the socket to every site.",
		Exploit: "A page on any domain opens the socket from the victim's browser and exchanges messages with the server, reading data " +
			"and issuing actions with whatever authority the browser's cookies or network position carry.",
		Fix: "Validate the Origin header during the handshake against an exact allow-list (for example Origin: https://app.example.com), and refuse other origins. " +
			"Authenticate the socket with an explicit token.",
		References: []string{refCSWSH, refRFC6455Origin, refOWASPWS, refCWE1385},
	},
	{
		ID: "ws-cookie-only-auth", Group: "F", BaseSeverity: "info", SeverityNote: "info", CWE: 1385,
		Title:   "WebSocket authenticated only by cookies",
		Summary: "A handshake answered 101 was authenticated only by Cookie.",
		Why: "Cookies are attached automatically by the browser whatever page opened the socket, so cookie-only authentication depends entirely on the server's Origin check. " +
			"A single mistake there becomes a hijacking flaw.",
		Exploit: "If the Origin check is ever missing or bypassable, a foreign page opens the socket with the victim's cookies.",
		Fix: "Send an explicit token that pages from other origins cannot read, such as a short-lived ticket in the first message or the URL, and keep the Origin check. " +
			"SameSite=Lax or Strict session cookies add a second layer.",
		References: []string{refCSWSH, refOWASPWS, refCWE1385},
	},
	{
		ID: "ws-cleartext-credentials", Group: "F", BaseSeverity: "low", SeverityNote: "low", CWE: 319,
		Title:   "WebSocket credentials sent over cleartext ws://",
		Summary: "A ws:// handshake carried Cookie or Authorization.",
		Why:     "A ws:// connection is unencrypted, so the handshake's cookies or Authorization header and every message are visible and changeable on the network path.",
		Exploit: "An attacker on the same network (public Wi-Fi, a compromised router) captures the session cookie from the handshake and reuses it, or alters messages in transit.",
		Fix: "Use wss:// only and refuse cleartext WebSocket connections. " +
			"Mark session cookies Secure so browsers never send them over ws:// or http://.",
		References: []string{refOWASPWS, refRFC6455Origin, refCWE319},
	},

	// G. CSRF and fetch metadata
	{
		ID: "csrf-cross-site-simple-write", Group: "G", BaseSeverity: "medium", SeverityNote: "medium", CWE: 352,
		Title:   "Cross-site cookie-authenticated write accepted",
		Summary: "A cross-site POST (or other unsafe method) with a safelisted Content-Type and a Cookie was answered 2xx or 3xx.",
		Why: "CORS controls reading responses, not sending requests. " +
			"A simple request (form-encoded, multipart or text/plain) is sent cross-site without a preflight, with the user's cookies when SameSite allows. " +
			"The server accepted it, so a foreign page can make the user perform this action.",
		Exploit: "The attacker's page contains an auto-submitting <form method=POST action=https://app.example.com/account/email> with their own values; " +
			"the victim's browser posts it with the session cookie and the server changes the account.",
		Fix: "Reject unsafe requests whose Origin (or Sec-Fetch-Site) is not the application's own, and require an anti-CSRF token on state-changing forms. " +
			"Set session cookies SameSite=Lax or Strict.",
		References: []string{refOWASPCSRF, refPortSwiggerCSRF, refFetchMetadata, refCWE352},
	},
	{
		ID: "csrf-json-as-text-plain", Group: "G", BaseSeverity: "medium", SeverityNote: "medium", CWE: 352,
		Title:   "Cross-site JSON body accepted as text/plain",
		Summary: "A cross-site, cookie-bearing unsafe request with a JSON body under Content-Type: text/plain was answered 2xx or 3xx.",
		Why: "Many APIs assume that JSON bodies force a preflight because application/json is not a safelisted content type. " +
			"A server that parses JSON regardless of Content-Type accepts text/plain bodies, which are sent cross-site without a preflight.",
		Exploit: "The attacker's page calls fetch(url, {method: 'POST', credentials: 'include', headers: {'Content-Type': 'text/plain'}, body: '{\"role\":\"admin\"}'}) " +
			"or submits a text/plain form crafted to produce valid JSON. The API processes it with the victim's session.",
		Fix: "Refuse request bodies whose Content-Type is not application/json on JSON endpoints (answer 415), and check Origin or Sec-Fetch-Site on every unsafe request. " +
			"Use SameSite=Lax or Strict session cookies.",
		References: []string{refOWASPCSRF, refFetchSafelisted, refPortSwiggerCSRF, refCWE352},
	},
	{
		ID: "csrf-origin-not-checked", Group: "G", BaseSeverity: "medium", SeverityNote: "medium", CWE: 352,
		Title:   "Endpoint accepts cookie-bearing writes from foreign and own origins alike",
		Summary: "One endpoint accepts cookie-bearing unsafe requests both from a foreign Origin (or null) and from the same-site Origin.",
		Why: "The endpoint makes no difference between requests from the application itself and from other sites, " +
			"so it has no origin-based CSRF defence and depends on SameSite cookies alone.",
		Exploit: "Any page the victim visits sends the same request the application sends and the endpoint performs it with the victim's session.",
		Fix: "Verify the Origin header (or Sec-Fetch-Site: same-origin) on unsafe methods and refuse foreign and null origins with 403. " +
			"Keep anti-CSRF tokens and SameSite cookies as further layers.",
		References: []string{refOWASPCSRF, refWebDevFetchMeta, refFetchMetadata, refCWE352},
	},
	{
		ID: "cookie-samesite-none-with-cors", Group: "G", BaseSeverity: "low", SeverityNote: "low", CWE: 1275,
		Title:   "SameSite=None session cookie on a host with a permissive CORS policy",
		Summary: "A session-like cookie is set with SameSite=None on a host that has an origin-trust (group A) finding.",
		Why: "SameSite=None makes the browser attach the cookie to cross-site requests. " +
			"Together with a permissive CORS policy this turns the policy weakness into credentialed reads; Lax or Strict would have stopped cross-site fetches from carrying the session.",
		Exploit: "A page on an origin the host trusts, or that its loose check admits, fetches authenticated endpoints; the browser attaches the SameSite=None cookie " +
			"and the page reads the victim's data.",
		Fix: "Set session cookies SameSite=Lax or Strict unless a cross-site flow truly needs them, and then fix the CORS allow-list first. " +
			"Use the __Host- prefix and Secure on session cookies.",
		References: []string{refRFC6265bis, refMDNSameSite, refCWE1275},
	},
	{
		ID: "cors-live-credentialed-cross-site-read", Group: "G", BaseSeverity: "info", SeverityNote: "info",
		Title:   "A cross-site page read a credentialed response",
		Summary: "The traffic shows a cross-site page actually reading a credentialed response: Sec-Fetch-Site: cross-site, Sec-Fetch-Mode: cors, Cookie, echoed origin, Access-Control-Allow-Credentials: true and a 2xx status.",
		Why: "This is not a flaw in itself but proof that credentialed cross-site reads happen on this endpoint today. " +
			"Confirm that the reading origin is meant to be trusted; if it is not, this is data leaving through CORS.",
		Exploit: "If the reading origin is not a legitimate partner, the exchange is the attack itself: a foreign page read the user's data with their cookies.",
		Fix: "Confirm the origin against the intended allow-list, and remove it from the policy if it does not belong there. " +
			"Document legitimate cross-site partners in the trusted_origins of corscope.yaml so future runs treat them as expected.",
		References: []string{refFetchMetadata, refMDNSecFetchSite, refFetchCredentials},
	},
}
