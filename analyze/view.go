package analyze

import (
	"slices"
	"strings"

	"github.com/corscope/corscope/storage"
)

// exView is the projection of one exchange that the rules read: the CORS
// headers found in one pass over each header list, plus derived facts. One
// view is reused for every exchange; nothing in it outlives the exchange
// except through the interner.
type exView struct {
	ex   *storage.Exchange
	host *hostState
	ep   *endpointState

	method, path uint32
	pathT        string

	origin    string
	originID  uint32
	hasOrigin bool
	cls       classEntry
	echo      bool // ACAO byte-equal to Origin and Origin ≠ T
	trusted   bool

	acao, acac, acam, acah, aceh, acma, acapn string
	acaoN, acacN                              int
	hasACAM, hasACAH, hasACEH, hasACMA        bool
	acacTrue                                  bool
	varyOrigin, varyStar                      bool
	sharedCache, cacheHit, noStore            bool
	setCookies                                int
	respCT                                    string

	cookie, authz    bool
	reqCT            string
	hasReqCT         bool
	sfs, sfm         string
	acrm, acrh       string
	hasACRM, hasACRH bool
	acrpn            bool
	wsUpgrade        bool
	navigation       bool     // Upgrade-Insecure-Requests: sent only on navigations
	hadACAO          bool     // the endpoint sent an ACAO before this exchange
	pf               *pfEntry // this preflight's entry
	preflight        bool
	status           int
	static           bool
	serverPrivate    bool
	crossOrigin      bool // Origin present and ≠ T
	corsMode         bool // a CORS request by mode (or mode unknown)
	crossSite        bool
	include          bool // credentials mode include, inferred from Cookie/Authorization
	unsafeHeaders    []string
	needsPreflight   bool
	verdict          string
	verdictSet       bool
	pairedPF         *pfEntry
	pairKind         string
	acaoJoined       string
}

// Scan is the part of an exchange's projection that needs no analyzer
// state: one pass over each header list, the path template and the
// CORS-unsafe request headers, about a fifth of the analysis. A reader
// goroutine can fill Scans while the analyzer works on earlier exchanges
// (AnalyzeScanned). The zero value is ready; Fill reuses its buffers.
type Scan struct {
	v     exView
	pathT []byte
}

// Fill scans ex. ex and the Scan must stay unchanged until the analyzer
// has taken the exchange.
func (s *Scan) Fill(ex *storage.Exchange) {
	s.v = exView{ex: ex, unsafeHeaders: s.v.unsafeHeaders[:0]}
	v := &s.v
	s.pathT = pathTemplate(s.pathT[:0], ex.Path)
	v.status = ex.Status

	for i := range ex.RequestHeaders {
		f := &ex.RequestHeaders[i]
		n := f.Name
		switch len(n) {
		case 6:
			if strings.EqualFold(n, "origin") && !v.hasOrigin {
				v.origin, v.hasOrigin = f.Value, true
			} else if strings.EqualFold(n, "cookie") && f.Value != "" {
				v.cookie = true
			}
		case 7:
			if strings.EqualFold(n, "upgrade") && strings.EqualFold(strings.TrimSpace(f.Value), "websocket") {
				v.wsUpgrade = true
			}
		case 12:
			if strings.EqualFold(n, "content-type") && !v.hasReqCT {
				v.reqCT, v.hasReqCT = f.Value, true
			}
		case 13:
			if strings.EqualFold(n, "authorization") && f.Value != "" {
				v.authz = true
			}
		case 14:
			if strings.EqualFold(n, "sec-fetch-site") {
				v.sfs = f.Value
			} else if strings.EqualFold(n, "sec-fetch-mode") {
				v.sfm = f.Value
			}
		case 25:
			if strings.EqualFold(n, "upgrade-insecure-requests") {
				v.navigation = true // only navigations send it, also over http
			}
		case 29:
			if strings.EqualFold(n, "access-control-request-method") && !v.hasACRM {
				v.acrm, v.hasACRM = f.Value, true
			}
		case 30:
			if strings.EqualFold(n, "access-control-request-headers") && !v.hasACRH {
				v.acrh, v.hasACRH = f.Value, true
			}
		case 38:
			if strings.EqualFold(n, "access-control-request-private-network") && f.Value == "true" {
				v.acrpn = true
			}
		}
	}
	var firstACAO string
	for i := range ex.ResponseHeaders {
		f := &ex.ResponseHeaders[i]
		n := f.Name
		switch len(n) {
		case 3:
			if strings.EqualFold(n, "age") {
				v.sharedCache = true
			}
		case 4:
			if strings.EqualFold(n, "vary") {
				parseVary(v, f.Value)
			}
		case 7:
			if strings.EqualFold(n, "x-cache") && cacheHitValue(f.Value) {
				v.cacheHit = true
			}
		case 10:
			if strings.EqualFold(n, "set-cookie") {
				v.setCookies++
			}
		case 12:
			if strings.EqualFold(n, "content-type") && v.respCT == "" {
				v.respCT = f.Value
			}
		case 13:
			if strings.EqualFold(n, "cache-control") {
				parseCacheControl(v, f.Value)
			} else if strings.EqualFold(n, "x-proxy-cache") && cacheHitValue(f.Value) {
				v.cacheHit = true
			}
		case 14:
			if strings.EqualFold(n, "x-cache-status") && cacheHitValue(f.Value) {
				v.cacheHit = true
			}
		case 15:
			if strings.EqualFold(n, "cf-cache-status") && cacheHitValue(f.Value) {
				v.cacheHit = true
			}
		case 22:
			if strings.EqualFold(n, "access-control-max-age") {
				v.acma, v.hasACMA = f.Value, true
			}
		case 27:
			if strings.EqualFold(n, "access-control-allow-origin") {
				if v.acaoN == 0 {
					firstACAO = f.Value
				}
				v.acaoN++
			}
		case 28:
			if strings.EqualFold(n, "access-control-allow-methods") {
				v.acam = joinField(v.acam, v.hasACAM, f.Value)
				v.hasACAM = true
			} else if strings.EqualFold(n, "access-control-allow-headers") {
				v.acah = joinField(v.acah, v.hasACAH, f.Value)
				v.hasACAH = true
			}
		case 29:
			if strings.EqualFold(n, "access-control-expose-headers") {
				v.aceh = joinField(v.aceh, v.hasACEH, f.Value)
				v.hasACEH = true
			}
		case 32:
			if strings.EqualFold(n, "access-control-allow-credentials") {
				v.acac = joinField(v.acac, v.acacN > 0, f.Value)
				v.acacN++
			}
		case 36:
			if strings.EqualFold(n, "access-control-allow-private-network") {
				v.acapn = f.Value
			}
		}
	}
	v.acao = firstACAO
	v.acaoJoined = firstACAO
	if v.acaoN > 1 {
		v.acaoJoined = strings.Join(ex.ResponseHeaders.Values("Access-Control-Allow-Origin"), ", ")
	}
	v.acacTrue = v.acacN == 1 && v.acac == "true"
	if v.cacheHit {
		v.sharedCache = true
	}
	if v.noStore {
		v.sharedCache = v.cacheHit
	}

	v.preflight = ex.Method == "OPTIONS" && v.hasOrigin && v.hasACRM
	v.wsUpgrade = v.wsUpgrade || ex.Upgrade == "websocket" || ex.Scheme == "ws" || ex.Scheme == "wss"
	v.static = isStaticAsset(ex.Path, v.respCT)
	v.include = v.cookie || v.authz
	if v.hasOrigin {
		// What a CORS actual request needs to know about its preflight.
		v.unsafeHeaders = unsafeRequestHeaders(v.unsafeHeaders, ex.RequestHeaders)
		v.needsPreflight = !isSafelistedMethod(ex.Method) || len(v.unsafeHeaders) > 0
	}
}

// project fills a.v from ex and its scan (nil: scan here).
func (a *analyzer) project(ex *storage.Exchange, s *Scan) *exView {
	if s == nil {
		s = &a.scan
		s.Fill(ex)
	}
	v := &a.v
	*v = s.v
	h := a.host(ex)
	v.host = h
	h.exchanges++
	v.method = a.in.id(ex.Method)
	v.path = a.in.idBytes(s.pathT)
	v.pathT = a.in.str(v.path)
	v.ep = a.endpoint(h, v.path)

	if a.serverIsPrivate(ex) {
		v.serverPrivate = true
		h.serverPrivate = true
	}
	if h.t.intranet {
		v.serverPrivate = true
	}

	if v.hasOrigin {
		a.stats.withOrigin++
		v.originID = a.in.id(v.origin)
		v.crossOrigin = v.origin != h.t.origin
		if v.crossOrigin {
			v.cls = a.classOf(v.originID, h)
			v.trusted = a.trusted(v.origin)
		} else {
			v.cls = classEntry{cls: classSameOrigin, reg: h.t.reg}
		}
		v.echo = v.crossOrigin && v.acaoN == 1 && v.acao == v.origin
	}
	switch strings.ToLower(v.sfm) {
	case "", "cors":
		v.corsMode = !v.navigation
	}
	switch strings.ToLower(v.sfs) {
	case "cross-site":
		v.crossSite = true
	case "same-site", "same-origin", "none":
	default:
		v.crossSite = v.hasOrigin && v.cls.cls != classSameOrigin && v.cls.cls != classSameSite
	}
	return v
}

func joinField(prev string, had bool, v string) string {
	if !had {
		return v
	}
	return prev + ", " + v
}

func parseVary(v *exView, val string) {
	forEachElement(val, func(tok string) {
		if tok == "*" {
			v.varyStar = true
		} else if strings.EqualFold(tok, "origin") {
			v.varyOrigin = true
		}
	})
}

func parseCacheControl(v *exView, val string) {
	forEachElement(val, func(d string) {
		switch {
		case strings.EqualFold(d, "public"), len(d) >= 8 && strings.EqualFold(d[:8], "s-maxage"):
			v.sharedCache = true
		case strings.EqualFold(d, "no-store"), strings.EqualFold(d, "private"):
			v.noStore = true
		}
	})
}

// forEachElement calls f with each trimmed, non-empty comma-list element.
func forEachElement(list string, f func(string)) {
	for list != "" {
		tok := list
		if i := strings.IndexByte(list, ','); i >= 0 {
			tok, list = list[:i], list[i+1:]
		} else {
			list = ""
		}
		if tok = strings.Trim(tok, " \t"); tok != "" {
			f(tok)
		}
	}
}

// cacheHitValue recognises HIT in the common cache status headers
// (X-Cache: HIT from…, TCP_HIT, CF-Cache-Status: HIT, …).
func cacheHitValue(v string) bool {
	u := strings.ToUpper(v)
	return strings.Contains(u, "HIT") && !strings.Contains(u, "MISS")
}

var staticExt = []string{".css", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".png", ".jpg", ".jpeg",
	".gif", ".svg", ".webp", ".avif", ".ico", ".bmp", ".mp4", ".webm", ".mp3", ".map"}

// isStaticAsset: fonts, stylesheets, images and media by extension or type.
func isStaticAsset(path, ct string) bool {
	p := strings.ToLower(path)
	for _, e := range staticExt {
		if strings.HasSuffix(p, e) {
			return true
		}
	}
	ess := mimeEssence(ct)
	return strings.HasPrefix(ess, "font/") || strings.HasPrefix(ess, "image/") ||
		strings.HasPrefix(ess, "video/") || strings.HasPrefix(ess, "audio/") || ess == "text/css"
}

// pathTemplate appends to dst the path with identifier-like segments
// (numbers, UUIDs, hex, long tokens) replaced by {id}.
func pathTemplate(dst []byte, path string) []byte {
	if path == "" {
		return append(dst, '/')
	}
	for i := 0; i < len(path); {
		j := strings.IndexByte(path[i:], '/')
		var seg string
		if j < 0 {
			seg = path[i:]
			j = len(path)
		} else {
			seg = path[i : i+j]
			j += i
		}
		if isIDSegment(seg) {
			dst = append(dst, "{id}"...)
		} else {
			dst = appendSegmentTemplate(dst, seg)
		}
		if j < len(path) {
			dst = append(dst, '/')
		}
		i = j + 1
	}
	return dst
}

// appendSegmentTemplate appends seg with the id-like tokens inside it
// (between '.', '-', '_', '~' and ',') replaced by {id}: cache-busting
// asset names (app.14695.js, logo-17787.png, main.3f2a9c1b.css) are one
// endpoint, not thousands. Short numbers stay (jquery-3.6.0.min.js).
func appendSegmentTemplate(dst []byte, seg string) []byte {
	start := 0
	for i := 0; i <= len(seg); i++ {
		if i < len(seg) && !isTokenSeparator(seg[i]) {
			continue
		}
		tok := seg[start:i]
		if len(tok) >= 3 && isIDSegment(tok) {
			dst = append(dst, "{id}"...)
		} else {
			dst = append(dst, tok...)
		}
		if i < len(seg) {
			dst = append(dst, seg[i])
		}
		start = i + 1
	}
	return dst
}

func isTokenSeparator(c byte) bool {
	return c == '.' || c == '-' || c == '_' || c == '~' || c == ','
}

func isIDSegment(s string) bool {
	if s == "" {
		return false
	}
	digits, hex, alnum := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
			alnum++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
			alnum++
		case c|0x20 >= 'g' && c|0x20 <= 'z':
			alnum++
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	switch {
	case digits == len(s):
		return true
	case len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' && hex == 32:
		return true
	case hex == len(s) && len(s) >= 8 && digits > 0:
		return true
	case len(s) >= 20 && digits >= 2 && alnum >= 16:
		return true
	}
	return false
}

func sortStableExchanges(s []*storage.Exchange) {
	slices.SortStableFunc(s, func(x, y *storage.Exchange) int { return x.Started.Compare(y.Started) })
}
