package analyze

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/corscope/corscope/storage"
)

// ruleIdx indexes rules; group keys carry it instead of the id string.
type ruleIdx uint8

// Rules in catalogue order.
const (
	rReflectAnyCred ruleIdx = iota
	rReflectAny
	rNullTrusted
	rWildcard
	rWildcardCred
	rInsecureOrigin
	rAnySubdomain
	rBypass
	rThirdParty
	rDevOrigin
	rHeaderInjection

	rACAOMalformed
	rACACInvalid
	rACAOMismatch
	rHeadersWithoutACAO
	rStarTokensCred
	rExposeSensitive
	rSensitiveMethods
	rRedirectMissingACAO

	rPreflightReflects
	rPreflightOKActualUnshared
	rPreflightFailedActualSent
	rPreflightBadStatus
	rPreflightCredMismatch
	rAuthorizationWildcard
	rPolicySplit
	rNonSimpleWithoutPreflight
	rMaxAgeExcessive

	rMissingVary
	rCacheHitMismatch
	rVaryOnStatic

	rPNAPermissive
	rPermissiveOnPrivate

	rWSCrossSite
	rWSOriginNotValidated
	rWSCookieOnly
	rWSCleartext

	rCSRFSimpleWrite
	rCSRFJSONTextPlain
	rCSRFOriginNotChecked
	rCookieSameSiteNone
	rLiveRead

	numRules
)

// ruleSpec is the analyzer's side of a catalogue rule: which header lines
// prove it ("<" marks response headers) and how a group's severity is
// decided once the whole input is known (ok false: not a finding).
type ruleSpec struct {
	id       string
	group    byte
	evidence []string
	decide   func(a *analyzer, g *group) (sev int, why string, ok bool)
}

var (
	evOrigin    = []string{"Origin", "<Access-Control-Allow-Origin", "<Access-Control-Allow-Credentials"}
	evOriginCk  = []string{"Origin", "Cookie", "Authorization", "<Access-Control-Allow-Origin", "<Access-Control-Allow-Credentials"}
	evPreflight = []string{":method", "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers",
		":status", "<Access-Control-Allow-Origin", "<Access-Control-Allow-Credentials",
		"<Access-Control-Allow-Methods", "<Access-Control-Allow-Headers"}
	evActual = []string{":method", "Origin", "Cookie", "Authorization", ":status",
		"<Access-Control-Allow-Origin", "<Access-Control-Allow-Credentials"}
	evCache = []string{"Origin", "<Access-Control-Allow-Origin", "<Vary", "<Cache-Control", "<Age",
		"<X-Cache", "<CF-Cache-Status", "<X-Cache-Status"}
	evWS   = []string{":url", "Origin", "Cookie", "Authorization", "Upgrade", "Sec-Fetch-Site", ":status"}
	evCSRF = []string{":method", "Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Content-Type", "Cookie", ":status"}
)

func always(sev int) func(*analyzer, *group) (int, string, bool) {
	return func(*analyzer, *group) (int, string, bool) { return sev, "", true }
}

// withCred returns hi when the group saw ACAC true, else lo.
func withCred(hi, lo int) func(*analyzer, *group) (int, string, bool) {
	return func(_ *analyzer, g *group) (int, string, bool) {
		if g.acacTrue {
			return hi, "credentials allowed (Access-Control-Allow-Credentials: true)", true
		}
		return lo, "", true
	}
}

var rules = [numRules]ruleSpec{
	rReflectAnyCred: {"cors-reflect-any-credentials", 'A', evOriginCk, decideReflect(sevHigh)},
	rReflectAny:     {"cors-reflect-any", 'A', evOrigin, decideReflect(sevLow)},
	rNullTrusted:    {"cors-null-trusted", 'A', evOriginCk, withCred(sevHigh, sevLow)},
	rWildcard: {"cors-wildcard", 'A', evOrigin, func(_ *analyzer, g *group) (int, string, bool) {
		if g.private {
			return sevMedium, "the server address or host is private/intranet: any page the user visits can read it", true
		}
		return sevInfo, "", true
	}},
	rWildcardCred: {"cors-wildcard-credentials", 'A', evOrigin, func(_ *analyzer, g *group) (int, string, bool) {
		return sevInfo, "browsers refuse * with credentials; check the host for reflection elsewhere", true
	}},
	rInsecureOrigin: {"cors-insecure-origin-trusted", 'A', evOrigin, func(_ *analyzer, g *group) (int, string, bool) {
		if g.bits&bitLoopbackOrigin != 0 {
			return sevInfo, "the trusted http origin is loopback", true
		}
		if g.acacTrue {
			return sevMedium, "credentials allowed", true
		}
		return sevLow, "", true
	}},
	rAnySubdomain: {"cors-any-subdomain-trusted", 'A', evOrigin, func(_ *analyzer, g *group) (int, string, bool) {
		if !g.host.anySubdomain {
			return 0, "", false
		}
		why := "echoes subdomains: " + strings.Join(g.host.sameSiteEchoHosts, ", ")
		if g.acacTrue {
			return sevMedium, why + "; credentials allowed", true
		}
		return sevLow, why, true
	}},
	rBypass:          {"cors-origin-validation-bypass", 'A', evOriginCk, withCred(sevHigh, sevMedium)},
	rThirdParty:      {"cors-untrusted-third-party", 'A', evOriginCk, withCred(sevMedium, sevLow)},
	rDevOrigin:       {"cors-dev-origin-trusted", 'A', evOriginCk, always(sevLow)},
	rHeaderInjection: {"cors-origin-header-injection", 'A', evOrigin, always(sevHigh)},

	rACAOMalformed:      {"cors-acao-malformed", 'B', evOrigin, always(sevInfo)},
	rACACInvalid:        {"cors-acac-invalid", 'B', evOrigin, always(sevInfo)},
	rACAOMismatch:       {"cors-acao-mismatch", 'B', evOrigin, always(sevInfo)},
	rHeadersWithoutACAO: {"cors-headers-without-acao", 'B', []string{"Origin", "<Access-Control-Allow-Credentials", "<Access-Control-Allow-Methods", "<Access-Control-Allow-Headers", "<Access-Control-Expose-Headers", "<Access-Control-Max-Age"}, always(sevInfo)},
	rStarTokensCred:     {"cors-star-tokens-with-credentials", 'B', []string{"<Access-Control-Allow-Credentials", "<Access-Control-Allow-Methods", "<Access-Control-Allow-Headers", "<Access-Control-Expose-Headers"}, always(sevInfo)},
	rExposeSensitive: {"cors-expose-sensitive-headers", 'B', []string{"Origin", "<Access-Control-Allow-Origin", "<Access-Control-Allow-Credentials", "<Access-Control-Expose-Headers"}, func(a *analyzer, g *group) (int, string, bool) {
		if !permissive(g) {
			return 0, "", false
		}
		return sevLow, "under a permissive policy", true
	}},
	rSensitiveMethods: {"cors-sensitive-methods", 'B', []string{"Origin", "<Access-Control-Allow-Origin", "<Access-Control-Allow-Methods"}, func(a *analyzer, g *group) (int, string, bool) {
		if permissive(g) {
			return sevLow, "under a permissive policy", true
		}
		return sevInfo, "", true
	}},
	rRedirectMissingACAO: {"cors-redirect-missing-acao", 'B', []string{":method", "Origin", ":status", "<Location", "<Access-Control-Allow-Origin"}, always(sevInfo)},

	rPreflightReflects: {"cors-preflight-reflects-request", 'C', evPreflight, func(a *analyzer, g *group) (int, string, bool) {
		if len(g.host.reflectSigs) < 2 {
			return 0, "", false
		}
		why := "Allow-Methods/Allow-Headers echoed " + strconv.Itoa(len(g.host.reflectSigs)) + " different requests verbatim"
		if g.host.aCredFinding {
			return sevMedium, why + "; the host also trusts arbitrary or null origins with credentials", true
		}
		return sevInfo, why, true
	}},
	rPreflightOKActualUnshared: {"cors-preflight-ok-actual-unshared", 'C', evActual, always(sevInfo)},
	rPreflightFailedActualSent: {"cors-preflight-failed-actual-sent", 'C', evActual, always(sevInfo)},
	rPreflightBadStatus:        {"cors-preflight-bad-status", 'C', evPreflight, always(sevInfo)},
	rPreflightCredMismatch:     {"cors-preflight-credentials-mismatch", 'C', evActual, always(sevInfo)},
	rAuthorizationWildcard:     {"cors-authorization-wildcard", 'C', evPreflight, always(sevInfo)},
	rPolicySplit:               {"cors-policy-split", 'C', evActual, always(sevLow)},
	rNonSimpleWithoutPreflight: {"cors-nonsimple-without-preflight", 'C', []string{":method", "Origin", "Content-Type", "Sec-Fetch-Mode", ":status"}, always(sevInfo)},
	rMaxAgeExcessive: {"cors-max-age-excessive", 'C', []string{"Origin", "Access-Control-Request-Private-Network", "<Access-Control-Allow-Origin", "<Access-Control-Max-Age"}, func(a *analyzer, g *group) (int, string, bool) {
		var caps []string
		if g.bits&bitMaxAgeUnparsable != 0 {
			caps = append(caps, "unparsable")
		}
		if g.bits&bitMaxAgeChromium != 0 {
			caps = append(caps, "exceeds Chromium's 7200 s cap")
		}
		if g.bits&bitMaxAgeFirefox != 0 {
			caps = append(caps, "exceeds Firefox's 86400 s cap")
		}
		why := strings.Join(caps, ", ")
		if permissive(g) || g.bits&bitPNA != 0 {
			return sevLow, why + "; on a permissive or private-network policy", true
		}
		return sevInfo, why, true
	}},

	rMissingVary: {"cors-missing-vary-origin", 'D', evCache, func(a *analyzer, g *group) (int, string, bool) {
		if g.ep == nil || !g.ep.dynamicACAO() {
			return 0, "", false
		}
		if g.shared {
			return sevMedium, "dynamic ACAO without Vary: Origin on a shared-cacheable response", true
		}
		return sevLow, "dynamic ACAO without Vary: Origin", true
	}},
	rCacheHitMismatch: {"cors-cache-hit-acao-mismatch", 'D', evCache, always(sevMedium)},
	rVaryOnStatic: {"cors-vary-on-static", 'D', evCache, func(a *analyzer, g *group) (int, string, bool) {
		e := g.ep
		if e == nil || e.dynamicACAO() || e.noACAOWithOrigin {
			return 0, "", false
		}
		if g.bits&bitWildcard != 0 || len(e.acaoOrigins) >= 2 {
			return sevInfo, "constant ACAO across request origins", true
		}
		return 0, "", false
	}},

	rPNAPermissive: {"cors-pna-permissive", 'E', []string{"Origin", "Access-Control-Request-Private-Network", "<Access-Control-Allow-Origin", "<Access-Control-Allow-Private-Network", "<Access-Control-Allow-Credentials"}, always(sevHigh)},
	rPermissiveOnPrivate: {"cors-permissive-on-private-address", 'E', evOrigin, func(a *analyzer, g *group) (int, string, bool) {
		if g.bits&bitWildcard != 0 || reflectEcho(g) {
			return sevMedium, "", true
		}
		return 0, "", false
	}},

	rWSCrossSite: {"ws-cross-site-handshake-accepted", 'F', evWS, always(sevHigh)},
	rWSOriginNotValidated: {"ws-origin-not-validated", 'F', evWS, func(a *analyzer, g *group) (int, string, bool) {
		e := g.ep
		if e == nil || len(e.wsSites) < 2 || !e.wsCrossAccept || e.wsRefusedCross {
			return 0, "", false
		}
		why := "handshakes from " + strings.Join(e.wsSites, ", ") + " all answered 101"
		if g.cookie {
			return sevHigh, why + "; cookie-authenticated", true
		}
		return sevMedium, why, true
	}},
	rWSCookieOnly: {"ws-cookie-only-auth", 'F', evWS, always(sevInfo)},
	rWSCleartext:  {"ws-cleartext-credentials", 'F', evWS, always(sevLow)},

	rCSRFSimpleWrite:   {"csrf-cross-site-simple-write", 'G', evCSRF, always(sevMedium)},
	rCSRFJSONTextPlain: {"csrf-json-as-text-plain", 'G', evCSRF, always(sevMedium)},
	rCSRFOriginNotChecked: {"csrf-origin-not-checked", 'G', evCSRF, func(a *analyzer, g *group) (int, string, bool) {
		st := a.csrf[csrfKey{g.key.host, g.key.path, g.key.method}]
		if st == nil || !st.foreign || !st.sameSite {
			return 0, "", false
		}
		return sevMedium, "accepted from a foreign origin and from the same site alike", true
	}},
	rCookieSameSiteNone: {"cookie-samesite-none-with-cors", 'G', nil, always(sevLow)},
	rLiveRead:           {"cors-live-credentialed-cross-site-read", 'G', []string{"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Cookie", ":status", "<Access-Control-Allow-Origin", "<Access-Control-Allow-Credentials"}, always(sevInfo)},
}

// decideReflect emits reflection groups only where reflect-any was
// inferred: on the endpoint itself, or on the host when this endpoint never
// refused a foreign origin.
func decideReflect(sev int) func(*analyzer, *group) (int, string, bool) {
	return func(a *analyzer, g *group) (int, string, bool) {
		if !reflectEcho(g) {
			return 0, "", false
		}
		why := "echoes origins of " + strconv.Itoa(len(g.ep.echoRegs)) + " unrelated registrable domains"
		switch {
		case g.ep.bypassEcho:
			why = "echoes a bypass-shaped origin"
		case g.ep.probeEcho:
			why = "echoes a probe-shaped origin"
		case !g.ep.reflect:
			why = "the host echoes origins of several unrelated registrable domains"
		}
		if sev == sevLow && g.private {
			return sevMedium, why + "; private/intranet server", true
		}
		return sev, why, true
	}
}

func reflectEcho(g *group) bool {
	return g.ep != nil && (g.ep.reflect || g.host.reflect && !g.ep.refusedForeign)
}

// permissive: the responses were readable by any or untrusted origins.
func permissive(g *group) bool {
	return g.bits&(bitWildcard|bitNull|bitBadClass) != 0 || g.bits&bitEcho != 0 && reflectEcho(g)
}

// echoBits are the permissive-policy facts of one response.
func echoBits(v *exView) uint32 {
	var b uint32
	switch {
	case v.acaoN != 1:
	case v.acao == "*":
		b |= bitWildcard
	case v.acao == "null":
		b |= bitNull
	case v.echo && !v.trusted:
		switch v.cls.cls {
		case classForeign:
			b |= bitEcho
		case classHTTP, classBypass, classUserContent, classInvalid:
			b |= bitEcho | bitBadClass
		}
	}
	return b
}

// add analyses one exchange; s is its scan, or nil.
func (a *analyzer) add(ex *storage.Exchange, s *Scan) {
	a.stats.exchanges++
	a.pair.tick(ex.Started)
	v := a.project(ex, s)
	if v.setCookies > 0 {
		a.recordCookies(v)
	}
	if v.wsUpgrade {
		a.stats.websocket++
		a.updateWebSocket(v)
		a.runChecks(v, onWebSocket)
		return
	}
	v.hadACAO = v.ep.acaoSeen
	switch {
	case v.preflight:
		a.stats.preflights++
		pf := a.pair.addPreflight(v)
		pf.verdictIdx = len(a.verdicts)
		a.verdicts = append(a.verdicts, storage.Verdict{ExchangeID: ex.ID, Shared: pf.passed(), Reason: pf.reason})
		v.verdict, v.verdictSet, v.pf = pf.reason, true, pf
		a.pair.resolvePending(pf)
	case v.hasOrigin && v.crossOrigin && v.corsMode:
		a.stats.corsRequests++
		a.corsActual(v)
	case ex.PreflightID != 0:
		// An actual request the browser blocked once its preflight failed:
		// Chrome records it without Origin or response. The producer's
		// link is still evidence of what the preflight was for.
		a.stats.hint++
		a.pairings = append(a.pairings, storage.Pairing{PreflightID: ex.PreflightID, ActualID: ex.ID, Kind: pairHint})
	}
	if v.status == 0 {
		return
	}
	a.updatePolicy(v)
	if v.preflight {
		a.runChecks(v, onPreflight)
		return
	}
	a.updateCSRF(v)
	a.runChecks(v, onResponse)
}

// corsActual emulates the browser's check, pairs the request with its
// preflight and runs the pairing rules.
func (a *analyzer) corsActual(v *exView) {
	ex := v.ex
	if ex.Status == 0 {
		v.verdict = reasonNoResponse
	} else {
		v.verdict = checkAccess(v.origin, v.acaoJoined, v.acaoN, v.acac, v.acacN > 0, v.include)
	}
	v.verdictSet = true
	if v.verdict != "" {
		a.stats.corsBlocked++
	}
	a.verdicts = append(a.verdicts, storage.Verdict{ExchangeID: ex.ID, Shared: v.verdict == "", Reason: v.verdict})

	pf, kind := a.pair.pairActual(v)
	v.pairedPF, v.pairKind = pf, kind
	if kind == "" {
		if v.needsPreflight || ex.PreflightID != 0 {
			// Producers (Chrome's HAR) may time the actual request before
			// its preflight: wait a little for the preflight to arrive.
			a.pair.defer_(v)
			return
		}
		return
	}
	a.afterPair(v, pf, kind)
}

// unpaired concludes that an actual request had no preflight.
func (a *analyzer) unpaired(v *exView) {
	if v.ex.PreflightID != 0 {
		// The producer linked a preflight that never showed up.
		a.stats.hint++
		a.pairings = append(a.pairings, storage.Pairing{PreflightID: v.ex.PreflightID, ActualID: v.ex.ID, Kind: pairHint})
		return
	}
	if !v.needsPreflight {
		return
	}
	a.stats.unpairedNeedsPreflight++
	if g, rep := a.observe(v, rNonSimpleWithoutPreflight, v.cls.cls, 0); rep {
		g.note = nonSimpleWhy(v.ex.Method, v.unsafeHeaders)
	}
}

// afterPair records a pairing and runs the pairing rules of group C.
func (a *analyzer) afterPair(v *exView, pf *pfEntry, kind string) {
	ex := v.ex
	switch kind {
	case pairDirect:
		a.stats.direct++
	case pairCached:
		a.stats.cached++
	case pairHint:
		a.stats.hint++
	}
	a.pairings = append(a.pairings, storage.Pairing{PreflightID: pf.id, ActualID: ex.ID, Kind: kind})
	if kind != pairCached && !pf.directed {
		pf.directed = true
		if v.include && !pf.cred {
			// The browser ran this preflight for a credentialed request:
			// judge it (and its cache entry) in credentials mode include.
			pf.cred = true
			pf.reason = pf.evaluate(true)
			if pf.verdictIdx < len(a.verdicts) && a.verdicts[pf.verdictIdx].ExchangeID == pf.id {
				a.verdicts[pf.verdictIdx].Shared = pf.passed()
				a.verdicts[pf.verdictIdx].Reason = pf.reason
			}
		}
	}
	pf.actuals++
	if pf.actuals == 1 {
		a.stats.pairedPreflights++
	}
	if ex.Status == 0 {
		return
	}
	cls := v.cls.cls
	// The preflight is evidence too: it is listed with the actual request.
	withPF := func(g *group, rep bool) (*group, bool) {
		g.ids = append(g.ids, pf.id)
		return g, rep
	}
	if pf.passed() && v.verdict != "" {
		if g, rep := withPF(a.observe(v, rPreflightOKActualUnshared, cls, 0)); rep {
			g.note = "preflight " + strconv.FormatInt(pf.id, 10) + " passed, actual response failed: " + v.verdict
		}
	}
	if !pf.passed() && pf.reason != reasonNoResponse && kind != pairCached {
		if g, rep := withPF(a.observe(v, rPreflightFailedActualSent, cls, 0)); rep {
			g.note = "preflight " + strconv.FormatInt(pf.id, 10) + " failed (" + pf.reason + ") yet the request was sent"
		}
	}
	if pf.status != 0 && (pf.acao != v.acaoJoined || pf.acac != v.acac || (pf.acacN > 0) != (v.acacN > 0)) {
		if g, rep := withPF(a.observe(v, rPolicySplit, cls, 0)); rep {
			g.note = "preflight answered ACAO " + quoteOrNone(pf.acao, pf.acaoN) +
				", ACAC " + quoteOrNone(pf.acac, pf.acacN) + "; actual answered ACAO " + quoteOrNone(v.acaoJoined, v.acaoN) +
				", ACAC " + quoteOrNone(v.acac, v.acacN)
		}
	}
	if v.include && !(pf.acacN == 1 && pf.acac == "true") && pf.status != 0 {
		withPF(a.observe(v, rPreflightCredMismatch, cls, 0))
	}
}

func quoteOrNone(s string, n int) string {
	if n == 0 {
		return "(none)"
	}
	return strconv.Quote(s)
}

func nonSimpleWhy(method string, unsafe []string) string {
	var why []string
	if !isSafelistedMethod(method) {
		why = append(why, "method "+method)
	}
	if len(unsafe) > 0 {
		why = append(why, "headers "+strings.Join(unsafe, ", "))
	}
	return "needs a preflight (" + strings.Join(why, "; ") + ") and none was seen within the emulated preflight cache"
}

// updatePolicy feeds the host and endpoint models.
func (a *analyzer) updatePolicy(v *exView) {
	h, e := v.host, v.ep
	if v.acaoN > 0 {
		if v.varyOrigin || v.varyStar {
			h.varyYes++
		} else {
			h.varyNo++
		}
	}
	if v.acaoN == 1 {
		switch v.acao {
		case "*":
			h.wildcard = true
		default:
			ao := h.allowed[v.acao]
			if ao == nil && len(h.allowed) < 256 {
				cls := classSameSite
				if v.acao != h.t.origin {
					cls = a.classOf(a.in.id(v.acao), h).cls
				}
				name := cls.String()
				if cls == classSameOrigin {
					name = classSameSite.String()
				}
				ao = &storage.AllowedOrigin{Origin: a.in.str(a.in.id(v.acao)), Class: name}
				h.allowed[ao.Origin] = ao
				h.allowedOrder = append(h.allowedOrder, ao.Origin)
			}
			if ao != nil {
				ao.Exchanges++
				ao.Credentials = ao.Credentials || v.acacTrue
			}
			if v.acacTrue {
				h.credentials = true
			}
		}
	}
	if v.hasOrigin && v.crossOrigin && !v.trusted {
		allowed := v.acaoN == 1 && (v.echo || v.acao == "*")
		refused := !allowed && v.status < 500
		if v.echo {
			switch v.cls.cls {
			case classForeign, classHTTP, classUserContent, classBypass:
				if v.cls.reg != h.t.reg && v.cls.reg != "" {
					e.echoRegs.add(v.cls.reg)
				}
				e.probeEcho = e.probeEcho || v.cls.probe
				e.bypassEcho = e.bypassEcho || v.cls.cls == classBypass
			case classSameSite:
				if o := parseOrigin(v.origin); o.valid && o.hostname() != h.t.hostname {
					h.sameSiteEchoHosts.add(strings.ToLower(o.hostname()))
				}
			}
		}
		if refused {
			switch v.cls.cls {
			case classForeign, classHTTP, classUserContent, classBypass:
				e.refusedForeign = true
			case classSameSite:
				h.refusedSameSite = true
			}
		}
		if len(h.originEndpoints) < 4096 || h.originEndpoints[v.originID] != nil {
			u := h.originEndpoints[v.originID]
			if u == nil {
				u = &originUse{}
				h.originEndpoints[v.originID] = u
			}
			where := uint64(v.method)<<32 | uint64(v.path)
			if allowed {
				u.allowedAt.add(where)
			} else if refused {
				u.refusedAt.add(where)
			}
		}
	}
	if v.preflight {
		return
	}
	if v.acaoN > 0 {
		id := a.in.id(v.acaoJoined)
		if !e.acaoSeen {
			e.firstACAO, e.acaoSeen = id, true
		} else if e.firstACAO != id {
			e.acaoDiffers = true
		}
		e.echoSeen = e.echoSeen || v.echo
		if v.hasOrigin {
			e.acaoWithOrigin = true
			e.acaoOrigins.add(v.origin)
		} else {
			e.acaoNoOrigin = true
		}
	} else if v.hasOrigin {
		e.noACAOWithOrigin = true
	} else {
		e.noACAONoOrigin = true
	}
}

// redirectsCrossOrigin reports a Location on another origin than the
// request's target.
func redirectsCrossOrigin(v *exView) bool {
	loc := v.ex.ResponseHeaders.Value("Location")
	if !strings.Contains(loc, "://") {
		return false // relative: same origin
	}
	o := parseOrigin(loc[:originEnd(loc)])
	if !o.valid {
		return false
	}
	return !strings.EqualFold(o.scheme, v.host.t.scheme) || !strings.EqualFold(o.hostname(), v.host.t.hostname) ||
		o.port != v.ex.Port && !(o.port == defaultPort(strings.ToLower(o.scheme)) && v.ex.Port == storage.DefaultPort(v.ex.Scheme))
}

// originEnd returns the length of the scheme://authority prefix of a URL.
func originEnd(u string) int {
	i := strings.Index(u, "://") + 3
	if j := strings.IndexAny(u[i:], "/?#"); j >= 0 {
		return i + j
	}
	return len(u)
}

func hasStarToken(list string) bool {
	return matchTokens(list, func(t string) bool { return t == "*" }) != ""
}

func unusualMethod(t string) bool {
	switch strings.ToUpper(t) {
	case "GET", "HEAD", "POST", "OPTIONS":
		return false
	}
	return true
}

// matchTokens returns the comma-list elements of list for which match
// (given the element, trimmed) is true, joined by ", ". It allocates only
// when an element matches.
func matchTokens(list string, match func(string) bool) string {
	out := ""
	for list != "" {
		tok := list
		if i := strings.IndexByte(list, ','); i >= 0 {
			tok, list = list[:i], list[i+1:]
		} else {
			list = ""
		}
		tok = strings.Trim(tok, " \t")
		if tok == "" || !match(tok) {
			continue
		}
		if out == "" {
			out = tok
		} else {
			out += ", " + tok
		}
	}
	return out
}

// wsSite names the site of a handshake's Origin for counting.
func wsSite(v *exView) string {
	switch v.cls.cls {
	case classNull:
		return "null"
	case classSameOrigin, classSameSite:
		return v.host.t.scheme + "://" + v.host.t.reg
	case classInvalid:
		return "invalid"
	}
	if o := parseOrigin(v.origin); o.valid {
		return strings.ToLower(o.scheme) + "://" + v.cls.reg
	}
	return v.origin
}

// updateWebSocket feeds the endpoint's handshake model.
func (a *analyzer) updateWebSocket(v *exView) {
	if !v.hasOrigin {
		return
	}
	e := v.ep
	if v.status == 101 {
		e.wsSites.add(wsSite(v))
		e.wsCrossAccept = e.wsCrossAccept || v.crossSite
	} else if v.crossSite && v.status != 0 {
		e.wsRefusedCross = true
	}
}

// updateCSRF records, per endpoint and method, whether cookie-bearing
// unsafe requests were accepted from the same site and from elsewhere.
func (a *analyzer) updateCSRF(v *exView) {
	if !unsafeCookieWrite(v) || !v.hasOrigin {
		return
	}
	switch v.cls.cls {
	case classSameOrigin, classSameSite:
		a.csrfState(v).sameSite = true
	case classForeign, classNull, classHTTP, classBypass, classUserContent, classPrivate, classInvalid:
		a.csrfState(v).foreign = true
	}
}

func (a *analyzer) csrfState(v *exView) *csrfState {
	k := csrfKey{v.host.id, v.path, v.method}
	st := a.csrf[k]
	if st == nil {
		st = &csrfState{}
		a.csrf[k] = st
	}
	return st
}

// looksJSON: the body starts like JSON and, when complete, parses as JSON.
func looksJSON(b []byte, size int64) bool {
	t := strings.TrimLeft(string(b), " \t\r\n")
	if t == "" || t[0] != '{' && t[0] != '[' {
		return false
	}
	if int64(len(b)) < size {
		return true // capped body: the start is all we have
	}
	return json.Valid(b)
}

// sessionCookieName reports cookie names that usually carry a session.
func sessionCookieName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"sess", "sid", "auth", "token", "jwt", "login", "remember", "user", "csrf", "xsrf"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// recordCookies keeps what Set-Cookie said about SameSite per host and
// Domain.
func (a *analyzer) recordCookies(v *exView) {
	for _, f := range v.ex.ResponseHeaders {
		if !strings.EqualFold(f.Name, "set-cookie") {
			continue
		}
		first, attrs, _ := strings.Cut(f.Value, ";")
		name, _, ok := strings.Cut(first, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		sameSite, domain, httpOnly := "", "", false
		for _, at := range strings.Split(attrs, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(at), "=")
			switch strings.ToLower(k) {
			case "samesite":
				sameSite = strings.ToLower(strings.TrimSpace(val))
			case "domain":
				domain = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(val), "."))
			case "httponly":
				httpOnly = true
			}
		}
		jar, key := a.cookies, v.host.t.hostname
		if domain != "" {
			jar, key = a.domainCookies, domain
		}
		m := jar[key]
		if m == nil {
			m = make(map[string]*cookieInfo)
			jar[key] = m
		}
		c := m[name]
		if c == nil {
			if len(m) >= 256 {
				continue
			}
			c = &cookieInfo{name: strings.Clone(name), line: f.Name + ": " + redact("set-cookie", f.Value),
				host: v.host, method: v.method, path: v.path}
			m[c.name] = c
		}
		c.sameSite = sameSite
		c.session = c.session || httpOnly || sessionCookieName(name)
		if len(c.ids) < 10000 {
			c.ids = append(c.ids, v.ex.ID)
		}
	}
}

// addCookieGroups creates the cookie-samesite-none-with-cors groups for
// hosts that got an origin-trust finding.
func (a *analyzer) addCookieGroups() {
	for _, h := range a.hostOrder {
		if !h.aFindings {
			continue
		}
		add := func(m map[string]*cookieInfo) {
			names := make([]string, 0, len(m))
			for n, c := range m {
				if c.session && c.sameSite == "none" {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			for _, n := range names {
				c := m[n]
				k := groupKey{rule: rCookieSameSiteNone, host: h.id, method: c.method, path: c.path, class: classNone}
				g := a.groups[k]
				if g == nil {
					g = &group{key: k, host: h, below400: true, nonStatic: true, note: "session cookie " + c.name + " is SameSite=None"}
					a.groups[k] = g
					a.groupOrder = append(a.groupOrder, g)
				} else {
					g.note += ", " + c.name
				}
				g.evidence = append(g.evidence, c.line)
				// Duplicates go at the end: sortedIDs compacts (a Contains
				// per id was quadratic on busy endpoints).
				g.ids = append(g.ids, c.ids...)
			}
		}
		add(a.cookies[h.t.hostname])
		for d := h.t.hostname; d != ""; {
			add(a.domainCookies[d])
			i := strings.IndexByte(d, '.')
			if i < 0 {
				break
			}
			d = d[i+1:]
		}
	}
}

// decideHosts infers reflect-any and any-subdomain from the models.
func (a *analyzer) decideHosts() {
	union := make(map[*hostState]map[string]bool)
	for _, e := range a.eps {
		e.reflect = len(e.echoRegs) >= 2 || e.probeEcho || e.bypassEcho
		h := e.host
		if e.reflect {
			h.reflect = true
		}
		if e.refusedForeign {
			continue
		}
		u := union[h]
		if u == nil {
			u = make(map[string]bool)
			union[h] = u
		}
		for _, r := range e.echoRegs {
			u[r] = true
		}
	}
	for h, u := range union {
		if len(u) >= 2 {
			h.reflect = true
		}
	}
	for _, h := range a.hostOrder {
		if len(h.sameSiteEchoHosts) < 2 || h.refusedSameSite {
			continue
		}
		for _, hn := range h.sameSiteEchoHosts {
			if !a.servedHostnames[hn] || probeLabels(hn) {
				h.anySubdomain = true
			}
		}
	}
	for _, g := range a.groupOrder {
		switch g.key.rule {
		case rReflectAnyCred:
			if reflectEcho(g) {
				g.host.aCredFinding = true
			}
		case rNullTrusted:
			if g.acacTrue {
				g.host.aCredFinding = true
			}
		}
	}
}
