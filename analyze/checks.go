package analyze

import (
	"strconv"
	"strings"
)

// This file holds one check per catalogue rule that is decided from a single
// exchange (plus the state the models kept). Rules decided elsewhere: the
// pairing rules of group C run in afterPair/unpaired, and
// cookie-samesite-none-with-cors is built from the cookie model at the end.

// phase says which exchanges a check looks at.
type phase uint8

const (
	onResponse  phase = 1 << iota // answered requests that are neither preflights nor WebSockets
	onPreflight                   // answered preflights
	onWebSocket                   // WebSocket handshakes (answered or not)
)

var checks = [numRules]struct {
	on phase
	fn func(a *analyzer, v *exView)
}{
	rWildcard:        {onResponse | onPreflight, checkWildcard},
	rWildcardCred:    {onResponse | onPreflight, checkWildcardCred},
	rNullTrusted:     {onResponse | onPreflight, checkNullTrusted},
	rInsecureOrigin:  {onResponse | onPreflight, checkInsecureOrigin},
	rThirdParty:      {onResponse | onPreflight, checkThirdParty},
	rHeaderInjection: {onResponse | onPreflight, checkHeaderInjection},
	rBypass:          {onResponse | onPreflight, checkBypass},
	rDevOrigin:       {onResponse | onPreflight, checkDevOrigin},
	rAnySubdomain:    {onResponse | onPreflight, checkAnySubdomain},
	rReflectAny:      {onResponse | onPreflight, checkReflect},
	// rReflectAnyCred shares checkReflect: one echo is one of the two.

	rACAOMalformed:       {onResponse | onPreflight, checkACAOMalformed},
	rACACInvalid:         {onResponse | onPreflight, checkACACInvalid},
	rACAOMismatch:        {onResponse | onPreflight, checkACAOMismatch},
	rHeadersWithoutACAO:  {onResponse | onPreflight, checkHeadersWithoutACAO},
	rStarTokensCred:      {onResponse | onPreflight, checkStarTokensCred},
	rExposeSensitive:     {onResponse | onPreflight, checkExposeSensitive},
	rSensitiveMethods:    {onResponse | onPreflight, checkSensitiveMethods},
	rRedirectMissingACAO: {onResponse, checkRedirectMissingACAO},

	rPreflightReflects:     {onPreflight, checkPreflightReflects},
	rPreflightBadStatus:    {onPreflight, checkPreflightBadStatus},
	rAuthorizationWildcard: {onPreflight, checkAuthorizationWildcard},
	rMaxAgeExcessive:       {onPreflight, checkMaxAge},

	rMissingVary:      {onResponse, checkMissingVary},
	rCacheHitMismatch: {onResponse, checkCacheHitMismatch},
	rVaryOnStatic:     {onResponse, checkVaryOnStatic},

	rPNAPermissive:       {onPreflight, checkPNAPermissive},
	rPermissiveOnPrivate: {onResponse | onPreflight, checkPermissiveOnPrivate},

	rWSCrossSite:          {onWebSocket, checkWSCrossSite},
	rWSOriginNotValidated: {onWebSocket, checkWSOriginNotValidated},
	rWSCookieOnly:         {onWebSocket, checkWSCookieOnly},
	rWSCleartext:          {onWebSocket, checkWSCleartext},

	rCSRFSimpleWrite:      {onResponse, checkCSRFWrite}, // also decides csrf-json-as-text-plain
	rCSRFOriginNotChecked: {onResponse, checkCSRFOriginNotChecked},
	rLiveRead:             {onResponse, checkLiveRead},
}

// runChecks runs every check registered for the exchange's phase.
func (a *analyzer) runChecks(v *exView, p phase) {
	for i := range checks {
		if c := &checks[i]; c.fn != nil && c.on&p != 0 {
			c.fn(a, v)
		}
	}
}

// trustedACAO: one ACAO naming a specific origin that is neither the
// target itself nor trusted by the configuration.
func (a *analyzer) specificACAO(v *exView) (classEntry, bool) {
	if v.acaoN != 1 || v.acao == "*" || v.acao == "null" || v.acao == v.host.t.origin || a.trusted(v.acao) {
		return classEntry{}, false
	}
	return a.classOf(a.in.id(v.acao), v.host), true
}

// A. Origin trust.

func checkWildcard(a *analyzer, v *exView) {
	if v.acaoN == 1 && v.acao == "*" && !v.acacTrue {
		a.observe(v, rWildcard, classAny, bitWildcard)
	}
}

func checkWildcardCred(a *analyzer, v *exView) {
	if v.acaoN == 1 && v.acao == "*" && v.acacTrue {
		a.observe(v, rWildcardCred, classAny, bitWildcard)
	}
}

func checkNullTrusted(a *analyzer, v *exView) {
	if v.acaoN == 1 && v.acao == "null" {
		a.observe(v, rNullTrusted, classNull, bitNull)
	}
}

func checkInsecureOrigin(a *analyzer, v *exView) {
	if v.host.t.scheme != "https" || len(v.acao) <= 7 || !strings.EqualFold(v.acao[:7], "http://") {
		return
	}
	ac, ok := a.specificACAO(v)
	if !ok || ac.cls == classInvalid {
		return
	}
	var bits uint32
	if ac.cls == classPrivate {
		bits |= bitLoopbackOrigin
	}
	a.observe(v, rInsecureOrigin, classHTTP, bits)
}

func checkThirdParty(a *analyzer, v *exView) {
	if ac, ok := a.specificACAO(v); ok && ac.cls == classUserContent {
		a.observe(v, rThirdParty, classUserContent, 0)
	}
}

// echoOf reports an echo of an untrusted origin of class cls.
func echoOf(a *analyzer, v *exView, cls originClass) bool {
	return v.echo && v.cls.cls == cls && !v.trusted
}

func checkHeaderInjection(a *analyzer, v *exView) {
	if echoOf(a, v, classInvalid) {
		a.observeNote(v, rHeaderInjection, classInvalid, 0, "the request Origin is not origin syntax and was echoed")
	}
}

func checkBypass(a *analyzer, v *exView) {
	if echoOf(a, v, classBypass) {
		a.observe(v, rBypass, classBypass, bitEcho)
	}
}

func checkDevOrigin(a *analyzer, v *exView) {
	if echoOf(a, v, classPrivate) && v.acacTrue && !v.serverPrivate {
		a.observe(v, rDevOrigin, classPrivate, 0)
	}
}

func checkAnySubdomain(a *analyzer, v *exView) {
	if echoOf(a, v, classSameSite) {
		a.observe(v, rAnySubdomain, classSameSite, 0)
	}
}

// checkReflect files every echo of a cross-site origin as reflect-any
// evidence; decideReflect keeps it only where reflect-any was inferred.
func checkReflect(a *analyzer, v *exView) {
	if !v.echo || v.trusted {
		return
	}
	switch v.cls.cls {
	case classForeign, classHTTP, classUserContent, classBypass:
	default:
		return
	}
	if v.cls.reg == v.host.t.reg {
		return // http://same-site: cors-insecure-origin-trusted covers it
	}
	if v.acacTrue {
		a.observe(v, rReflectAnyCred, v.cls.cls, bitEcho)
	} else {
		a.observe(v, rReflectAny, v.cls.cls, bitEcho)
	}
}

// B. Syntax and dysfunction.

func checkACAOMalformed(a *analyzer, v *exView) {
	switch {
	case v.acaoN > 1:
		if g, rep := a.observe(v, rACAOMalformed, v.cls.cls, 0); rep {
			g.note = strconv.Itoa(v.acaoN) + " Access-Control-Allow-Origin fields (browsers reject the response)"
		}
	case v.acaoN == 1 && v.acao != "*" && v.acao != "null":
		if o := parseOrigin(v.acao); !o.valid || !o.canonical {
			if g, rep := a.observe(v, rACAOMalformed, v.cls.cls, 0); rep {
				g.note = "not a serialized origin: " + strconv.Quote(v.acao)
			}
		}
	}
}

func checkACACInvalid(a *analyzer, v *exView) {
	if v.acacN > 0 && !v.acacTrue {
		if g, rep := a.observe(v, rACACInvalid, v.cls.cls, 0); rep {
			g.note = "value " + strconv.Quote(v.acac) + " is not exactly true"
		}
	}
}

func checkACAOMismatch(a *analyzer, v *exView) {
	if v.acaoN != 1 || !v.hasOrigin || v.acao == "*" || v.acao == "null" || v.acao == v.origin {
		return
	}
	if o := parseOrigin(v.acao); o.valid && o.canonical {
		a.observe(v, rACAOMismatch, v.cls.cls, 0)
	}
}

func checkHeadersWithoutACAO(a *analyzer, v *exView) {
	if v.acaoN == 0 && v.hasOrigin && v.crossOrigin && (v.acacN > 0 || v.hasACAM || v.hasACAH || v.hasACEH || v.hasACMA) {
		a.observe(v, rHeadersWithoutACAO, v.cls.cls, 0)
	}
}

func checkStarTokensCred(a *analyzer, v *exView) {
	if v.acacTrue && (hasStarToken(v.acam) || hasStarToken(v.acah) || hasStarToken(v.aceh)) {
		a.observe(v, rStarTokensCred, v.cls.cls, 0)
	}
}

var sensitiveExpose = map[string]bool{
	"authorization": true, "x-csrf-token": true, "x-xsrf-token": true, "csrf-token": true,
	"x-api-key": true, "api-key": true, "x-auth-token": true, "x-access-token": true,
	"x-refresh-token": true, "x-session-id": true, "x-session-token": true, "set-cookie": true,
	"x-amz-security-token": true, "proxy-authorization": true, "x-jwt": true, "*": true,
}

func sensitiveHeaderName(tok string) bool {
	lower := asciiLower(tok)
	if sensitiveExpose[lower] {
		return true
	}
	return strings.Contains(lower, "session") || strings.Contains(lower, "token") || strings.Contains(lower, "secret")
}

func checkExposeSensitive(a *analyzer, v *exView) {
	if v.hasACEH && v.acaoN == 1 && matchTokens(v.aceh, sensitiveHeaderName) != "" {
		if g, rep := a.observe(v, rExposeSensitive, v.cls.cls, echoBits(v)); rep {
			g.note = "exposes " + matchTokens(v.aceh, sensitiveHeaderName)
		}
	}
}

func checkSensitiveMethods(a *analyzer, v *exView) {
	if v.hasACAM && v.acaoN > 0 && matchTokens(v.acam, unusualMethod) != "" {
		if g, rep := a.observe(v, rSensitiveMethods, v.cls.cls, echoBits(v)); rep {
			g.note = "allows " + matchTokens(v.acam, unusualMethod)
		}
	}
}

func checkRedirectMissingACAO(a *analyzer, v *exView) {
	if v.status < 300 || v.status >= 400 || !v.hasOrigin || !v.corsMode {
		return
	}
	switch {
	case v.crossOrigin && v.acaoN == 0:
		a.observe(v, rRedirectMissingACAO, v.cls.cls, 0)
	case v.origin != "null" && redirectsCrossOrigin(v):
		// Fetch taints the request: the browser follows with Origin: null,
		// so the target must trust "null" for the page to read it.
		a.observeNote(v, rRedirectMissingACAO, v.cls.cls, 0, "redirect to another origin: the browser continues with Origin: null")
	}
}

// C. Preflight rules decided from the preflight alone.

func checkPreflightBadStatus(a *analyzer, v *exView) {
	if !isOKStatus(v.status) {
		if g, rep := a.observe(v, rPreflightBadStatus, v.cls.cls, 0); rep {
			g.note = "status " + strconv.Itoa(v.status)
		}
	}
}

func checkAuthorizationWildcard(a *analyzer, v *exView) {
	if v.pf != nil && containsSorted(v.pf.acrh, "authorization") {
		if toks, _ := parseTokenList(v.acah); len(toks) == 1 && toks[0] == "*" {
			a.observe(v, rAuthorizationWildcard, v.cls.cls, 0)
		}
	}
}

func checkMaxAge(a *analyzer, v *exView) {
	if !v.hasACMA {
		return
	}
	var bits uint32
	n, err := strconv.ParseInt(strings.TrimSpace(v.acma), 10, 64)
	switch {
	case err != nil || n < 0:
		bits |= bitMaxAgeUnparsable
	case n > 86400:
		bits |= bitMaxAgeChromium | bitMaxAgeFirefox
	case n > 7200:
		bits |= bitMaxAgeChromium
	}
	if bits == 0 {
		return
	}
	if v.acrpn {
		bits |= bitPNA
	}
	if g, rep := a.observe(v, rMaxAgeExcessive, v.cls.cls, bits|echoBits(v)); rep {
		g.note = "Access-Control-Max-Age: " + v.acma
	}
}

// checkPreflightReflects files preflights whose Allow-Methods/Headers are
// the request's ACRM/ACRH verbatim; the host model counts distinct ones.
func checkPreflightReflects(a *analyzer, v *exView) {
	if v.hasACAM && v.acam == v.acrm && (!v.hasACRH || v.hasACAH && v.acah == v.acrh) {
		v.host.reflectSigs.add(v.acrm + "|" + v.acrh)
		a.observe(v, rPreflightReflects, v.cls.cls, 0)
	}
}

// D. Caching.

func checkMissingVary(a *analyzer, v *exView) {
	if v.acaoN > 0 && v.acao != "*" && !v.varyOrigin && !v.varyStar {
		a.observe(v, rMissingVary, v.cls.cls, 0)
	}
}

func checkCacheHitMismatch(a *analyzer, v *exView) {
	if !v.cacheHit || !v.hasOrigin {
		return
	}
	switch {
	case v.acaoN == 0 && v.hadACAO:
		a.observeNote(v, rCacheHitMismatch, v.cls.cls, 0, "cache hit without ACAO where this endpoint sent one before")
	case v.acaoN > 0 && v.acao != "*" && v.acaoJoined != v.origin:
		if g, rep := a.observe(v, rCacheHitMismatch, v.cls.cls, 0); rep {
			g.note = "cache hit answering Origin " + strconv.Quote(v.origin) + " with ACAO " + strconv.Quote(v.acaoJoined)
		}
	}
}

func checkVaryOnStatic(a *analyzer, v *exView) {
	if v.varyOrigin && v.acaoN > 0 {
		var b uint32
		if v.acao == "*" {
			b = bitWildcard
		}
		a.observe(v, rVaryOnStatic, v.cls.cls, b)
	}
}

// E. Private Network Access.

func checkPNAPermissive(a *analyzer, v *exView) {
	if v.acrpn && v.acapn == "true" && v.acaoN == 1 {
		if b := echoBits(v); b&(bitWildcard|bitNull|bitEcho) != 0 {
			a.observe(v, rPNAPermissive, v.cls.cls, b)
		}
	}
}

func checkPermissiveOnPrivate(a *analyzer, v *exView) {
	if !v.serverPrivate {
		return
	}
	b := echoBits(v)
	switch {
	case b&bitWildcard != 0:
		a.observe(v, rPermissiveOnPrivate, classAny, b)
	case b&bitEcho != 0:
		a.observe(v, rPermissiveOnPrivate, v.cls.cls, b)
	}
}

// F. WebSocket.

func checkWSCrossSite(a *analyzer, v *exView) {
	if v.status == 101 && v.hasOrigin && v.crossSite && (v.cookie || v.authz) {
		a.observe(v, rWSCrossSite, v.cls.cls, 0)
	}
}

func checkWSOriginNotValidated(a *analyzer, v *exView) {
	if v.status == 101 && v.hasOrigin && v.crossSite {
		a.observe(v, rWSOriginNotValidated, v.cls.cls, 0)
	}
}

func checkWSCookieOnly(a *analyzer, v *exView) {
	if v.status == 101 && v.cookie && !v.authz {
		a.observe(v, rWSCookieOnly, v.cls.cls, 0)
	}
}

func checkWSCleartext(a *analyzer, v *exView) {
	if (v.cookie || v.authz) && (v.ex.Scheme == "ws" || v.ex.Scheme == "http") {
		a.observe(v, rWSCleartext, v.cls.cls, 0)
	}
}

// G. CSRF and fetch metadata.

// unsafeCookieWrite: an unsafe-method request with Cookie answered 2xx/3xx.
func unsafeCookieWrite(v *exView) bool {
	switch v.ex.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "CONNECT":
		return false
	}
	return v.cookie && v.status >= 200 && v.status < 400
}

func checkCSRFOriginNotChecked(a *analyzer, v *exView) {
	if !unsafeCookieWrite(v) || !v.hasOrigin {
		return
	}
	switch v.cls.cls {
	case classForeign, classNull, classHTTP, classBypass, classUserContent, classPrivate, classInvalid:
		a.observe(v, rCSRFOriginNotChecked, v.cls.cls, 0)
	}
}

// checkCSRFWrite decides csrf-cross-site-simple-write and, for JSON sent
// as text/plain, the more specific csrf-json-as-text-plain.
func checkCSRFWrite(a *analyzer, v *exView) {
	ex := v.ex
	if !unsafeCookieWrite(v) || !v.crossSite {
		return
	}
	if v.hasReqCT && !isSafelistedContentType(v.reqCT) {
		return
	}
	if ex.Method != "POST" && (v.pairedPF != nil || strings.EqualFold(v.sfm, "cors")) {
		// A browser preflights a cross-site PUT/DELETE/PATCH fetch: that is
		// CORS trust, judged by the origin-trust and pairing rules.
		return
	}
	if mimeEssence(v.reqCT) == "text/plain" && looksJSON(ex.RequestBody, ex.RequestBodySize) {
		a.observeNote(v, rCSRFJSONTextPlain, v.cls.cls, 0, "JSON body sent as text/plain")
		return
	}
	a.observe(v, rCSRFSimpleWrite, v.cls.cls, 0)
}

func checkLiveRead(a *analyzer, v *exView) {
	if v.hasOrigin && strings.EqualFold(v.sfs, "cross-site") && strings.EqualFold(v.sfm, "cors") &&
		v.cookie && v.echo && v.acacTrue && isOKStatus(v.status) {
		a.observe(v, rLiveRead, v.cls.cls, 0)
	}
}
