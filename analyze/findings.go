package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/corscope/corscope/analyze/catalog"
	"github.com/corscope/corscope/storage"
)

// groupKey is what one finding stands for: rule, target origin, method,
// path template and origin class.
type groupKey struct {
	rule   ruleIdx
	host   uint32
	method uint32
	path   uint32
	class  originClass
}

// group accumulates the exchanges that support one finding and the facts
// its severity depends on (OR-ed over exchanges: severity is the worst case).
type group struct {
	key      groupKey
	host     *hostState
	ep       *endpointState
	ids      []int64
	origin   string
	evidence []string
	strength int
	note     string

	below400  bool // some response had status < 400
	nonStatic bool // some exchange was not a cookie-less static asset
	cred2xx   bool // some 2xx answered a request with Cookie/Authorization
	acacTrue  bool
	shared    bool
	private   bool
	cookie    bool
	bits      uint32 // rule-specific facts
}

// Rule-specific group bits.
const (
	bitWildcard uint32 = 1 << iota
	bitNull
	bitEcho
	bitBadClass // trusted origin of class bypass, user-content, http, private
	bitPNA
	bitLoopbackOrigin
	bitMaxAgeChromium
	bitMaxAgeFirefox
	bitMaxAgeUnparsable
	bitCrossSite
)

// strength orders exchanges by how much they prove, to pick evidence.
func strength(v *exView) int {
	s := 0
	if v.acacTrue {
		s += 4
	}
	if v.status > 0 && v.status < 400 {
		s += 2
	}
	if isOKStatus(v.status) && v.include {
		s++
	}
	return s
}

// observeNote is observe with a constant note.
func (a *analyzer) observeNote(v *exView, r ruleIdx, cls originClass, bits uint32, note string) {
	if g, rep := a.observe(v, r, cls, bits); rep {
		g.note = note
	}
}

// observe adds exchange v to the group of rule r for origin class cls.
// rep reports that v became the group's representative (its evidence was
// taken): the caller then sets the note, so notes cost nothing otherwise.
func (a *analyzer) observe(v *exView, r ruleIdx, cls originClass, bits uint32) (g *group, rep bool) {
	k := groupKey{rule: r, host: v.host.id, method: v.method, path: v.path, class: cls}
	g = a.groups[k]
	s := strength(v)
	if g == nil {
		g = &group{key: k, host: v.host, ep: v.ep, strength: -1}
		a.groups[k] = g
		a.groupOrder = append(a.groupOrder, g)
	}
	g.ids = append(g.ids, v.ex.ID)
	if s > g.strength {
		g.strength = s
		g.origin = v.origin
		g.evidence = evidenceLines(v, &rules[r])
		rep = true
	}
	g.below400 = g.below400 || v.status < 400
	g.nonStatic = g.nonStatic || !v.static || v.cookie
	g.cred2xx = g.cred2xx || isOKStatus(v.status) && v.include
	g.acacTrue = g.acacTrue || v.acacTrue
	g.shared = g.shared || v.sharedCache
	g.private = g.private || v.serverPrivate
	g.cookie = g.cookie || v.cookie
	g.bits |= bits
	return g, rep
}

// evidenceLines returns the header lines rule r names, as sent, with
// credentials redacted (cookie and token values stay out of reports).
func evidenceLines(v *exView, r *ruleSpec) []string {
	var out []string
	ex := v.ex
	for _, n := range r.evidence {
		switch n {
		case ":method":
			out = append(out, ":method: "+ex.Method)
			continue
		case ":status":
			out = append(out, ":status: "+strconv.Itoa(ex.Status))
			continue
		case ":url":
			out = append(out, ":url: "+ex.URL())
			continue
		}
		resp := strings.HasPrefix(n, "<")
		name := strings.TrimPrefix(n, "<")
		hs := ex.RequestHeaders
		if resp {
			hs = ex.ResponseHeaders
		}
		for _, f := range hs {
			if strings.EqualFold(f.Name, name) {
				out = append(out, clip(f.Name+": "+redact(name, f.Value)))
			}
		}
	}
	return out
}

// maxEvidenceLine bounds one evidence line; hostile header values can be
// megabytes long.
const maxEvidenceLine = 4096

func clip(line string) string {
	if len(line) <= maxEvidenceLine {
		return line
	}
	return line[:maxEvidenceLine] + "…[" + strconv.Itoa(len(line)-maxEvidenceLine) + " more bytes]"
}

// redact keeps the shape of credential headers (cookie names, auth
// scheme) and drops the secret values.
func redact(name, v string) string {
	switch strings.ToLower(name) {
	case "cookie":
		parts := strings.Split(v, ";")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=…"
			}
		}
		return strings.Join(parts, ";")
	case "set-cookie":
		first, attrs, _ := strings.Cut(v, ";")
		if k, _, ok := strings.Cut(first, "="); ok {
			first = k + "=…"
		}
		if attrs != "" {
			return first + ";" + attrs
		}
		return first
	case "authorization":
		if scheme, _, ok := strings.Cut(v, " "); ok {
			return scheme + " …"
		}
		return "…"
	}
	return v
}

// Severity ranks.
const (
	sevInfo     = 1
	sevLow      = 2
	sevMedium   = 3
	sevHigh     = 4
	sevCritical = 5
)

var sevNames = [...]string{"", storage.SeverityInfo, storage.SeverityLow, storage.SeverityMedium, storage.SeverityHigh, storage.SeverityCritical}

func clampSev(s int) int {
	return max(sevInfo, min(sevCritical, s))
}

// pathTemplateOrRoot ensures a leading slash.
func fingerprint(rule, host, method, path, class string) string {
	sum := sha256.Sum256([]byte(rule + "|" + host + "|" + method + "|" + path + "|" + class))
	return hex.EncodeToString(sum[:])
}

// buildFindings decides every group and turns the emitted ones into
// findings, worst first. Groups of rule group A are decided first because
// other rules depend on whether a host has an origin-trust finding.
func (a *analyzer) buildFindings() []storage.Finding {
	var out []storage.Finding
	emit := func(g *group) {
		r := &rules[g.key.rule]
		base, why, ok := r.decide(a, g)
		if !ok {
			return
		}
		sev, mods := a.modifiers(g, r, base)
		if r.group == 'A' {
			g.host.aFindings = true
		}
		out = append(out, a.finding(g, r, sev, why, mods))
	}
	for _, g := range a.groupOrder {
		if rules[g.key.rule].group == 'A' {
			emit(g)
		}
	}
	a.addCookieGroups()
	for _, g := range a.groupOrder {
		if rules[g.key.rule].group != 'A' {
			emit(g)
		}
	}
	// Sort pointers: findings are large structs.
	ptrs := make([]*storage.Finding, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	slices.SortFunc(ptrs, func(x, y *storage.Finding) int {
		if d := storage.SeverityRank(y.Severity) - storage.SeverityRank(x.Severity); d != 0 {
			return d
		}
		if c := strings.Compare(x.Rule, y.Rule); c != 0 {
			return c
		}
		if c := strings.Compare(x.Host, y.Host); c != 0 {
			return c
		}
		if c := strings.Compare(x.PathTemplate, y.PathTemplate); c != 0 {
			return c
		}
		if c := strings.Compare(x.Method, y.Method); c != 0 {
			return c
		}
		return strings.Compare(x.OriginClass, y.OriginClass)
	})
	sorted := make([]storage.Finding, len(out))
	for i, f := range ptrs {
		sorted[i] = *f
	}
	out = sorted
	return out
}

// modifiers applies the catalogue's context modifiers and says why.
func (a *analyzer) modifiers(g *group, r *ruleSpec, base int) (int, []string) {
	sev := base
	var why []string
	if !g.below400 {
		sev--
		why = append(why, "−1: every response has status ≥ 400")
	}
	if !g.nonStatic {
		sev--
		why = append(why, "−1: static assets requested without cookies")
	}
	none, laxOnly, name := a.sessionSameSite(g.host)
	security := r.group == 'A' || r.group == 'D' || r.group == 'F' || r.group == 'G'
	if r.group == 'A' && g.acacTrue && g.key.class.crossSite() && laxOnly {
		sev--
		why = append(why, "−1: every session cookie of the host is SameSite Lax/Strict (or unset, which Chrome treats as Lax), so cross-site requests carry none")
	}
	// Informational rules stay informational: "*" with credentials is a
	// signal, not an exploit, whatever the cookies say.
	if security && base > sevInfo && g.cred2xx && none {
		sev++
		why = append(why, "+1: a 2xx answered a credentialed request and session cookie "+name+" is SameSite=None")
	}
	if sev < sevInfo && base >= sevInfo {
		sev = sevInfo
	}
	return clampSev(sev), why
}

// sessionSameSite summarises the host's session cookies: any SameSite=None
// (and its name), or all Lax/Strict/unset (at least one seen).
func (a *analyzer) sessionSameSite(h *hostState) (none, laxOnly bool, name string) {
	seen := 0
	visit := func(m map[string]*cookieInfo) {
		for _, c := range m {
			if !c.session {
				continue
			}
			seen++
			if c.sameSite == "none" && (!none || c.name < name) {
				none, name = true, c.name
			}
		}
	}
	visit(a.cookies[h.t.hostname])
	for d := h.t.hostname; d != ""; {
		if m := a.domainCookies[d]; m != nil {
			visit(m)
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return none, seen > 0 && !none, name
}

func (a *analyzer) finding(g *group, r *ruleSpec, sev int, why string, mods []string) storage.Finding {
	host := g.host.t.origin
	method := a.in.str(g.key.method)
	path := a.in.str(g.key.path)
	cls := g.key.class.String()
	g.ids = sortedIDs(g.ids) // groups collect ids out of order and, for cookies, twice
	f := storage.Finding{
		Fingerprint:  fingerprint(r.id, host, method, path, cls),
		Rule:         r.id,
		Severity:     sevNames[sev],
		Host:         host,
		Endpoint:     host + path,
		PathTemplate: path,
		Method:       method,
		Origin:       g.origin,
		OriginClass:  cls,
		Exchanges:    g.ids,
		Evidence:     g.evidence,
	}
	if c, ok := catalog.Lookup(r.id); ok {
		f.Title = c.Title
		f.CWE = c.CWE
		f.Remediation = c.Remediation()
	}
	var d []string
	if why != "" {
		d = append(d, why)
	}
	if g.note != "" {
		d = append(d, g.note)
	}
	d = append(d, mods...)
	if len(f.Exchanges) > 1 {
		d = append(d, strconv.Itoa(len(f.Exchanges))+" exchanges")
	}
	f.Detail = strings.Join(d, "; ")
	return f
}

// buildHostPolicies turns host state into the reported policy model.
func (a *analyzer) buildHostPolicies() []storage.HostPolicy {
	out := make([]storage.HostPolicy, 0, len(a.hostOrder))
	for _, h := range a.hostOrder {
		p := storage.HostPolicy{
			Host:        h.t.origin,
			Wildcard:    h.wildcard,
			ReflectAny:  h.reflect,
			Credentials: h.credentials,
			Exchanges:   h.exchanges,
		}
		for _, o := range h.allowedOrder {
			p.AllowedOrigins = append(p.AllowedOrigins, *h.allowed[o])
		}
		switch {
		case h.varyYes > 0 && h.varyNo > 0:
			p.VaryOrigin = "mixed"
		case h.varyYes > 0:
			p.VaryOrigin = "always"
		case h.varyNo > 0:
			p.VaryOrigin = "never"
		}
		p.Inconsistent = a.inconsistent(h)
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y storage.HostPolicy) int { return strings.Compare(x.Host, y.Host) })
	return out
}

// inconsistent lists, per origin refused somewhere and allowed elsewhere
// on the same host, where it was allowed and where refused.
func (a *analyzer) inconsistent(h *hostState) []string {
	var out []string
	ids := make([]uint32, 0, len(h.originEndpoints))
	for id := range h.originEndpoints {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		u := h.originEndpoints[id]
		if len(u.allowedAt) == 0 || len(u.refusedAt) == 0 {
			continue
		}
		out = append(out, a.in.str(id)+": allowed at "+a.endpointList(u.allowedAt)+"; refused at "+a.endpointList(u.refusedAt))
		if len(out) >= 20 {
			break
		}
	}
	return out
}

// endpointList renders method<<32|path ids as "GET /a, PUT /b".
func (a *analyzer) endpointList(ids idSet) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = a.in.str(uint32(id>>32)) + " " + a.in.str(uint32(id))
	}
	return strings.Join(parts, ", ")
}

// sortedIDs sorts in place: deferred pairings append out of order.
func sortedIDs(ids []int64) []int64 {
	slices.Sort(ids)
	return slices.Compact(ids)
}
