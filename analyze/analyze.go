// Package analyze decides what is risky in recorded CORS traffic: it pairs
// preflights with actual requests, emulates the browser's checks and runs the rule catalogue.
package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/corscope/corscope/storage"
)

// Browsers whose preflight cache caps the analyzer can emulate.
const (
	BrowserChromium = "chromium"
	BrowserFirefox  = "firefox"
	BrowserWebKit   = "webkit"
)

// Config tunes the analysis. The zero value is usable.
type Config struct {
	// TrustedOrigins match origins the operator trusts; echoes of them are
	// not origin-trust findings.
	TrustedOrigins []*regexp.Regexp
	// PreflightCacheDefault is the preflight cache lifetime without
	// Access-Control-Max-Age (Fetch: 5 s).
	PreflightCacheDefault time.Duration
	// Browser selects the Max-Age cap: chromium (7200 s, default),
	// firefox (86400 s), webkit (600 s).
	Browser string
}

// Result is everything one analysis produced.
type Result struct {
	Findings []storage.Finding
	Pairings []storage.Pairing
	Verdicts []storage.Verdict
	Hosts    []storage.HostPolicy
	// Stats: exchanges, preflights, paired_preflights, pairings_direct,
	// pairings_cached, pairings_hint, cors_requests, cors_blocked,
	// needs_preflight_unpaired, websocket_handshakes, findings.
	Stats map[string]int64
}

func (c Config) maxAgeCap() time.Duration {
	switch strings.ToLower(c.Browser) {
	case BrowserFirefox:
		return 86400 * time.Second
	case BrowserWebKit:
		return 600 * time.Second
	}
	return 7200 * time.Second
}

func (c Config) cacheDefault() time.Duration {
	if c.PreflightCacheDefault > 0 {
		return c.PreflightCacheDefault
	}
	return 5 * time.Second
}

// Validate reports a configuration error (an unknown browser).
func (c Config) Validate() error {
	switch strings.ToLower(c.Browser) {
	case "", BrowserChromium, BrowserFirefox, BrowserWebKit:
		return nil
	}
	return fmt.Errorf("analyze: unknown browser %q (want chromium, firefox or webkit)", c.Browser)
}

// Analyze reads exchanges from next until io.EOF and returns the findings,
// pairings, verdicts and host policies. next must yield exchanges ordered by
// Started (actual requests timed up to 2 s before their preflight, as Chrome
// records them, still pair). Analyze keeps no pointer to an exchange after
// the next call; it may keep (immutable) strings of it.
// Memory grows with distinct hosts, endpoints and origins and with the
// output (one verdict per CORS exchange, one id per supporting exchange),
// not with header or body bytes.
func Analyze(ctx context.Context, next func() (*storage.Exchange, error), cfg Config) (*Result, error) {
	return AnalyzeScanned(ctx, func() (*storage.Exchange, *Scan, error) {
		ex, err := next()
		return ex, nil, err
	}, cfg)
}

// AnalyzeScanned is Analyze over exchanges that may come with their Scan
// already filled (nil: the analyzer scans). Each exchange and its Scan
// must stay unchanged until next is called again.
func AnalyzeScanned(ctx context.Context, next func() (*storage.Exchange, *Scan, error), cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := newAnalyzer(cfg)
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ex, scan, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("analyze: read exchange %d: %w", n+1, err)
		}
		if ex == nil {
			continue
		}
		a.add(ex, scan)
	}
	return a.finish(), nil
}

// AnalyzeSlice is Analyze over exchanges already in memory (tests, small
// inputs). The slice is sorted by Started first (stable).
func AnalyzeSlice(ctx context.Context, exs []*storage.Exchange, cfg Config) (*Result, error) {
	sorted := make([]*storage.Exchange, len(exs))
	copy(sorted, exs)
	sortStableExchanges(sorted)
	i := 0
	return Analyze(ctx, func() (*storage.Exchange, error) {
		if i >= len(sorted) {
			return nil, io.EOF
		}
		i++
		return sorted[i-1], nil
	}, cfg)
}

// interner maps strings to dense ids so that per-exchange state holds
// integers, and copies each distinct string once. Hostile input cannot make
// it grow without bound: values are cut at maxInternLen and, past the byte
// budget, new values share one overflow id (counted in Stats).
type interner struct {
	ids      map[string]uint32
	strs     []string
	bytes    int
	budget   int
	overflow int64
}

const (
	maxInternLen   = 1024
	internBudget   = 128 << 20
	overflowString = "(value not kept: analyzer memory budget reached)"
)

func newInterner() *interner {
	in := &interner{ids: make(map[string]uint32, 1024), strs: []string{""}, budget: internBudget}
	in.id(overflowString)
	return in
}

func (in *interner) id(s string) uint32 {
	if len(s) > maxInternLen {
		s = s[:maxInternLen]
	}
	if id, ok := in.ids[s]; ok {
		return id
	}
	if in.bytes+len(s) > in.budget {
		in.overflow++
		return 1
	}
	s = strings.Clone(s)
	id := uint32(len(in.strs))
	in.strs = append(in.strs, s)
	in.ids[s] = id
	in.bytes += len(s) + 64 // map and slice overhead, roughly
	return id
}

func (in *interner) str(id uint32) string { return in.strs[id] }

// idBytes interns a byte slice without allocating when it is known.
func (in *interner) idBytes(b []byte) uint32 {
	if len(b) > maxInternLen {
		b = b[:maxInternLen]
	}
	if id, ok := in.ids[string(b)]; ok {
		return id
	}
	return in.id(string(b))
}

// hostState is everything learned about one target origin.
type hostState struct {
	id            uint32
	t             targetInfo
	exchanges     int
	serverPrivate bool

	allowed      map[string]*storage.AllowedOrigin
	allowedOrder []string
	wildcard     bool
	credentials  bool
	varyYes      int
	varyNo       int

	sameSiteEchoHosts smallSet // hostnames of echoed same-site origins
	refusedSameSite   bool
	reflectSigs       smallSet // "ACRM|ACRH" signatures echoed verbatim by preflights

	// origin → endpoints that allowed or refused it (inconsistency)
	originEndpoints map[uint32]*originUse

	reflect      bool // decided at finish
	anySubdomain bool
	aFindings    bool
	aCredFinding bool // A1 or null-trusted with credentials
}

type originUse struct {
	allowedAt, refusedAt idSet // method<<32 | path template id
}

// idSet is a capped set of ids.
type idSet []uint64

func (s *idSet) add(v uint64) {
	for _, x := range *s {
		if x == v {
			return
		}
	}
	if len(*s) < smallSetCap {
		*s = append(*s, v)
	}
}

// endpointState is per (target origin, path template).
type endpointState struct {
	host *hostState
	path uint32

	echoRegs       smallSet // registrable domains of echoed cross-site origins
	probeEcho      bool
	bypassEcho     bool
	refusedForeign bool

	// Vary / dynamic ACAO
	firstACAO        uint32
	acaoSeen         bool
	acaoDiffers      bool
	echoSeen         bool
	acaoWithOrigin   bool
	acaoNoOrigin     bool
	noACAONoOrigin   bool
	acaoOrigins      smallSet // distinct request origins answered with an ACAO
	noACAOWithOrigin bool

	wsSites        smallSet
	wsCrossAccept  bool
	wsRefusedCross bool

	reflect bool // decided at finish
}

func (e *endpointState) dynamicACAO() bool {
	// An echo alone may be a static ACAO that happens to match the one
	// Origin seen; the same ACAO sent without an Origin proves it static.
	return e.acaoDiffers || e.acaoWithOrigin && e.noACAONoOrigin || e.echoSeen && !e.acaoNoOrigin
}

// smallSet is a capped set of strings: enough to count "at least N".
type smallSet []string

const smallSetCap = 16

func (s *smallSet) add(v string) {
	for _, x := range *s {
		if x == v {
			return
		}
	}
	if len(*s) < smallSetCap {
		*s = append(*s, v)
	}
}

func (s smallSet) has(v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

type epKey struct{ host, path uint32 }

type csrfKey struct{ host, path, method uint32 }

type csrfState struct{ foreign, sameSite bool }

// cookieInfo is one Set-Cookie name seen on a host.
type cookieInfo struct {
	name     string
	sameSite string // "none", "lax", "strict" or "" (absent)
	session  bool
	line     string // redacted Set-Cookie line
	ids      []int64
	host     *hostState
	method   uint32
	path     uint32
}

type analyzer struct {
	cfg       Config
	in        *interner
	hosts     map[uint32]*hostState
	hostByKey map[hostKey]*hostState
	eps       map[epKey]*endpointState
	// per-string caches of facts that cost a parse or a regex
	privateServer map[string]bool
	trustedOrigin map[uint32]bool
	csrf          map[csrfKey]*csrfState

	hostOrder       []*hostState
	servedHostnames map[string]bool

	cookies       map[string]map[string]*cookieInfo // hostname → cookie name → info
	domainCookies map[string]map[string]*cookieInfo // Domain attribute → …

	classCache map[[2]uint32]classEntry
	groups     map[groupKey]*group
	groupOrder []*group

	pair     *pairer
	verdicts []storage.Verdict
	pairings []storage.Pairing
	stats    stats

	v      exView // reused per exchange
	scan   Scan   // for exchanges that come without one
	hdrBuf []string
}

type classEntry struct {
	cls   originClass
	probe bool
	reg   string
}

type stats struct {
	exchanges, preflights, pairedPreflights, direct, cached, hint int64
	corsRequests, corsBlocked, unpairedNeedsPreflight, websocket  int64
	withOrigin                                                    int64
}

func newAnalyzer(cfg Config) *analyzer {
	a := &analyzer{
		cfg:             cfg,
		in:              newInterner(),
		hosts:           make(map[uint32]*hostState),
		hostByKey:       make(map[hostKey]*hostState),
		privateServer:   make(map[string]bool),
		trustedOrigin:   make(map[uint32]bool),
		eps:             make(map[epKey]*endpointState),
		csrf:            make(map[csrfKey]*csrfState),
		servedHostnames: make(map[string]bool),
		cookies:         make(map[string]map[string]*cookieInfo),
		domainCookies:   make(map[string]map[string]*cookieInfo),
		classCache:      make(map[[2]uint32]classEntry),
		groups:          make(map[groupKey]*group),
	}
	a.pair = newPairer(a)
	return a
}

// hostKey finds a host without building its origin string.
type hostKey struct {
	scheme, host string
	port         int
}

func (a *analyzer) host(ex *storage.Exchange) *hostState {
	hk := hostKey{ex.Scheme, ex.Host, ex.Port}
	if h := a.hostByKey[hk]; h != nil {
		return h
	}
	to := ex.TargetOrigin()
	id := a.in.id(to)
	if h := a.hosts[id]; h != nil {
		a.hostByKey[hostKey{strings.Clone(ex.Scheme), strings.Clone(ex.Host), ex.Port}] = h
		return h
	}
	scheme := ex.Scheme
	switch scheme {
	case "ws":
		scheme = "http"
	case "wss":
		scheme = "https"
	}
	h := &hostState{
		id: id,
		t: targetInfo{
			origin:   a.in.str(id),
			scheme:   scheme,
			hostname: strings.ToLower(strings.Trim(ex.Host, "[]")),
			reg:      registrableDomain(strings.Trim(ex.Host, "[]")),
		},
		allowed:         make(map[string]*storage.AllowedOrigin),
		originEndpoints: make(map[uint32]*originUse),
	}
	h.t.intranet = isIntranetHost(h.t.hostname)
	a.hosts[id] = h
	a.hostByKey[hostKey{strings.Clone(ex.Scheme), strings.Clone(ex.Host), ex.Port}] = h
	a.hostOrder = append(a.hostOrder, h)
	a.servedHostnames[h.t.hostname] = true
	return h
}

func (a *analyzer) endpoint(h *hostState, path uint32) *endpointState {
	k := epKey{h.id, path}
	if e := a.eps[k]; e != nil {
		return e
	}
	e := &endpointState{host: h, path: path}
	a.eps[k] = e
	return e
}

// classOf classifies an origin string relative to host h, cached per pair.
func (a *analyzer) classOf(originID uint32, h *hostState) classEntry {
	k := [2]uint32{originID, h.id}
	if c, ok := a.classCache[k]; ok {
		return c
	}
	cls, reg, probe := classify(a.in.str(originID), &h.t)
	c := classEntry{cls: cls, probe: probe, reg: reg}
	if len(a.classCache) >= 1<<20 {
		clear(a.classCache) // a cache: bounded, recomputed on demand
	}
	a.classCache[k] = c
	return c
}

func (a *analyzer) trusted(o string) bool {
	if len(a.cfg.TrustedOrigins) == 0 {
		return false
	}
	id := a.in.id(o)
	if t, ok := a.trustedOrigin[id]; ok {
		return t
	}
	t := false
	for _, re := range a.cfg.TrustedOrigins {
		if re != nil && re.MatchString(o) {
			t = true
			break
		}
	}
	a.trustedOrigin[id] = t
	return t
}

// serverIsPrivate caches whether a server address is private.
func (a *analyzer) serverIsPrivate(ex *storage.Exchange) bool {
	if ex.Server == "" {
		return false
	}
	if p, ok := a.privateServer[ex.Server]; ok {
		return p
	}
	ip := ex.ServerIP()
	p := ip != nil && isPrivateIP(ip)
	a.privateServer[strings.Clone(ex.Server)] = p
	return p
}

// finish decides everything that needs the whole input and builds Result.
func (a *analyzer) finish() *Result {
	a.pair.flush()
	a.decideHosts()
	res := &Result{
		Pairings: a.pairings,
		Verdicts: a.verdicts,
	}
	res.Findings = a.buildFindings()
	res.Hosts = a.buildHostPolicies()
	s := a.stats
	res.Stats = map[string]int64{
		"exchanges":                s.exchanges,
		"preflights":               s.preflights,
		"paired_preflights":        s.pairedPreflights,
		"pairings_direct":          s.direct,
		"pairings_cached":          s.cached,
		"pairings_hint":            s.hint,
		"cors_requests":            s.corsRequests,
		"cors_blocked":             s.corsBlocked,
		"needs_preflight_unpaired": s.unpairedNeedsPreflight,
		"websocket_handshakes":     s.websocket,
		"with_origin":              s.withOrigin,
		"hosts":                    int64(len(a.hosts)),
		"findings":                 int64(len(res.Findings)),
		"interner_overflow":        a.in.overflow,
	}
	return res
}

// StoreQuery is how exchanges should be streamed from the store into
// Analyze: in start order, with the first bytes of request bodies (rules
// such as csrf-json-as-text-plain judge a body's shape).
func StoreQuery() storage.Query {
	return storage.Query{RequestBodyPrefix: 4096, IngestHints: true, Lean: true}
}
