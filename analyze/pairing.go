package analyze

import (
	"strconv"
	"strings"
	"time"

	"github.com/corscope/corscope/storage"
)

// directWindow bounds how long after its preflight an actual request may
// start and still be the request the preflight was made for. Browsers send
// it as soon as the preflight response arrives; captures add jitter.
const directWindow = 10 * time.Second

// sweepEvery is how many exchanges pass between expiry sweeps of the
// preflight table; it keeps the table bounded by the cache window.
const sweepEvery = 4096

// Pairing kinds as stored in storage.Pairing.Kind.
const (
	pairDirect = "direct"
	pairCached = "cached"
	pairHint   = "hint"
)

// pfKey groups preflights that can serve the same actual requests: same
// Origin and same URL (hash of scheme, host, port, path and query).
type pfKey struct {
	origin uint32
	url    uint64
}

// pfEntry is one preflight and, once it passed, its preflight cache entry
// (Fetch: one entry per allowed method and header name, all sharing the
// preflight's max-age and credentials).
type pfEntry struct {
	id      int64
	key     pfKey
	client  uint32 // client IP, 0 when unknown
	start   time.Time
	ready   time.Time // response time: the cache entry starts here
	maxAge  time.Duration
	origin  string
	acrm    string
	acrh    []string // sorted lower-case
	methods []string
	headers []string
	mOK     bool
	hOK     bool
	status  int

	acao, acac   string
	acaoN, acacN int
	pna          bool
	acapn        string

	cred       bool // credentials of the cache entry (from the direct actual)
	reason     string
	directed   bool
	actuals    int
	verdictIdx int
	srcID      string
}

func (p *pfEntry) passed() bool { return p.reason == "" }

func (p *pfEntry) expires() time.Time { return p.ready.Add(p.maxAge) }

// evaluate runs the browser's preflight check with the given credentials
// mode (Chromium's order: origin, credentials, status, methods, headers,
// private network).
func (p *pfEntry) evaluate(include bool) string {
	if p.status == 0 {
		return reasonNoResponse
	}
	if r := checkAccess(p.origin, p.acao, p.acaoN, p.acac, p.acacN > 0, include); r != "" {
		return preflightReason(r)
	}
	if !isOKStatus(p.status) {
		return reasonPreflightInvalidStatus
	}
	if !p.mOK {
		return reasonInvalidAllowMethods
	}
	if !p.hOK {
		return reasonInvalidAllowHeaders
	}
	if !methodAllowed(p.acrm, p.methods, include) {
		return reasonMethodDisallowed
	}
	for _, h := range p.acrh {
		if !headerAllowed(h, p.headers, include) {
			return reasonHeaderDisallowed
		}
	}
	if p.pna {
		switch p.acapn {
		case "true":
		case "":
			return reasonPreflightMissingAllowPNA
		default:
			return reasonPreflightInvalidAllowPNA
		}
	}
	return ""
}

// coversCached reports whether p's cache entry serves an actual request
// with this method, these unsafe header names and credentials mode at t.
func (p *pfEntry) coversCached(method string, unsafe []string, include bool, t time.Time) bool {
	if !p.passed() || p.maxAge <= 0 || t.After(p.expires()) || t.Before(p.start) {
		return false
	}
	if include && !p.cred {
		return false
	}
	if !isSafelistedMethod(method) && !methodAllowed(method, p.methods, include) && method != p.acrm {
		return false
	}
	for _, h := range unsafe {
		if !headerAllowed(h, p.headers, include) && !containsSorted(p.acrh, h) {
			return false
		}
	}
	return true
}

func containsSorted(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// pairer is the preflight table: live preflights by key, by id (for ingest
// hints) and by producer request id (Chrome's initiator link).
type pairer struct {
	a        *analyzer
	byKey    map[pfKey][]*pfEntry
	byID     map[int64]*pfEntry
	bySource map[string]*pfEntry
	seen     int
	sweepAt  int // sweep once the table has grown to this many keys

	pending      []*pendingActual // FIFO by Started
	pendingByKey map[pfKey][]*pendingActual
	pendingByPF  map[int64]*pendingActual
	pendingBySrc map[string]*pendingActual
}

func newPairer(a *analyzer) *pairer {
	return &pairer{
		a:        a,
		byKey:    make(map[pfKey][]*pfEntry),
		byID:     make(map[int64]*pfEntry),
		bySource: make(map[string]*pfEntry),

		pendingByKey: make(map[pfKey][]*pendingActual),
		pendingByPF:  make(map[int64]*pendingActual),
		pendingBySrc: make(map[string]*pendingActual),
	}
}

// perKeyCap bounds the preflights kept per (origin, URL): the newest win.
const perKeyCap = 8

func urlHash(ex *storage.Exchange) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0xff
		h *= prime
	}
	mix(ex.Scheme)
	mix(ex.Host)
	port := ex.Port
	if port == storage.DefaultPort(ex.Scheme) {
		port = 0
	}
	h ^= uint64(port)
	h *= prime
	mix(ex.Path)
	mix(ex.Query)
	return h
}

func (p *pairer) clientID(ex *storage.Exchange) uint32 {
	c := ex.Client
	if c == "" {
		return 0
	}
	if i := strings.LastIndexByte(c, ':'); i > 0 && !strings.HasSuffix(c, "]") {
		if _, err := strconv.Atoi(c[i+1:]); err == nil {
			c = c[:i]
		}
	}
	return p.a.in.id(strings.Trim(c, "[]"))
}

func (p *pairer) maxAge(v *exView) time.Duration {
	cfg := p.a.cfg
	if !v.hasACMA {
		return cfg.cacheDefault()
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.acma), 10, 64)
	if err != nil || n < 0 {
		return cfg.cacheDefault()
	}
	d := time.Duration(n) * time.Second
	if n > int64(cfg.maxAgeCap()/time.Second) {
		d = cfg.maxAgeCap()
	}
	return d
}

// addPreflight records a preflight and returns its entry.
func (p *pairer) addPreflight(v *exView) *pfEntry {
	ex := v.ex
	e := &pfEntry{
		id:     ex.ID,
		key:    pfKey{origin: v.originID, url: urlHash(ex)},
		client: p.clientID(ex),
		start:  ex.Started,
		ready:  ex.RespStarted,
		origin: v.origin,
		acrm:   v.acrm,
		acrh:   parseRequestedHeaders(v.acrh),
		status: v.status,
		acao:   v.acaoJoined, acaoN: v.acaoN,
		acac: v.acac, acacN: v.acacN,
		pna: v.acrpn, acapn: v.acapn,
		srcID: ex.InitiatorRequestID,
	}
	if e.ready.IsZero() {
		e.ready = ex.Started
	}
	e.methods, e.mOK = parseTokenList(v.acam)
	e.headers, e.hOK = parseTokenList(v.acah)
	e.maxAge = p.maxAge(v)
	e.reason = e.evaluate(false)
	list := p.byKey[e.key]
	if len(list) >= perKeyCap {
		old := list[0]
		p.forget(old)
		list = append(list[:0], list[1:]...)
	}
	p.byKey[e.key] = append(list, e)
	p.byID[e.id] = e
	if e.srcID != "" {
		p.bySource[e.srcID] = e
	}
	return e
}

func (p *pairer) forget(e *pfEntry) {
	if p.byID[e.id] == e {
		delete(p.byID, e.id)
	}
	if e.srcID != "" && p.bySource[e.srcID] == e {
		delete(p.bySource, e.srcID)
	}
}

// tick sweeps expired preflights now and then.
func (p *pairer) tick(now time.Time) {
	if len(p.pending) > 0 && p.pending[0].v.ex.Started.Before(now.Add(-pendingWindow)) {
		p.expire(now)
	}
	p.seen++
	if p.seen%sweepEvery != 0 || len(p.byKey) < p.sweepAt {
		return
	}
	defer func() { p.sweepAt = max(sweepEvery, 2*len(p.byKey)) }() // amortised O(1) per preflight
	for k, list := range p.byKey {
		keep := list[:0]
		for _, e := range list {
			end := e.start.Add(directWindow)
			if x := e.expires(); x.After(end) {
				end = x
			}
			if end.Before(now) {
				p.forget(e)
				continue
			}
			keep = append(keep, e)
		}
		if len(keep) == 0 {
			delete(p.byKey, k)
		} else {
			p.byKey[k] = keep
		}
	}
}

// pendingWindow is how long an unpaired actual request waits for a
// preflight that the producer timed after it (Chrome stamps the actual
// request first; the preflight follows within milliseconds).
const pendingWindow = 2 * time.Second

// maxPending bounds the waiting actual requests; the oldest are concluded
// unpaired when it is reached.
const maxPending = 1 << 16

// pendingActual is an actual request waiting for its preflight: a copy of
// its view over a trimmed copy of the exchange (only what the pairing rules
// and their evidence read).
type pendingActual struct {
	v      exView
	key    pfKey
	client uint32
	srcID  string
	done   bool
}

var pendingHeaders = []string{"origin", "cookie", "authorization", "content-type", "sec-fetch-mode",
	"access-control-allow-origin", "access-control-allow-credentials"}

func trimHeaders(h storage.Headers) storage.Headers {
	var out storage.Headers
	for _, f := range h {
		for _, n := range pendingHeaders {
			if strings.EqualFold(f.Name, n) {
				out = append(out, storage.Header{Name: strings.Clone(f.Name), Value: strings.Clone(f.Value)})
				break
			}
		}
	}
	return out
}

// defer_ parks the actual request v until a preflight claims it or the
// pending window passes.
func (p *pairer) defer_(v *exView) {
	ex := v.ex
	cp := &storage.Exchange{
		ID: ex.ID, Method: strings.Clone(ex.Method), Scheme: ex.Scheme, Host: ex.Host, Port: ex.Port,
		Path: ex.Path, Status: ex.Status, Started: ex.Started, PreflightID: ex.PreflightID,
		RequestHeaders: trimHeaders(ex.RequestHeaders), ResponseHeaders: trimHeaders(ex.ResponseHeaders),
	}
	pa := &pendingActual{v: *v, key: pfKey{origin: v.originID, url: urlHash(ex)}, client: p.clientID(ex)}
	pa.v.ex = cp
	pa.v.origin = strings.Clone(v.origin)
	pa.v.acao = strings.Clone(v.acao)
	pa.v.acaoJoined = strings.Clone(v.acaoJoined)
	pa.v.acac = strings.Clone(v.acac)
	pa.v.unsafeHeaders = append([]string(nil), v.unsafeHeaders...)
	for i, h := range pa.v.unsafeHeaders {
		pa.v.unsafeHeaders[i] = strings.Clone(h)
	}
	pa.v.pathT = p.a.in.str(v.path)
	// Fields that point into the exchange and are not used later.
	pa.v.acam, pa.v.acah, pa.v.aceh, pa.v.acma, pa.v.acapn, pa.v.reqCT, pa.v.respCT = "", "", "", "", "", "", ""
	pa.v.sfs, pa.v.sfm, pa.v.acrm, pa.v.acrh = "", "", "", ""
	if len(p.pending) >= maxPending {
		p.expire(p.pending[0].v.ex.Started.Add(pendingWindow + time.Nanosecond))
	}
	p.pending = append(p.pending, pa)
	p.pendingByKey[pa.key] = append(p.pendingByKey[pa.key], pa)
	if ex.PreflightID != 0 {
		p.pendingByPF[ex.PreflightID] = pa
	}
	if ex.SourceRequestID != "" {
		pa.srcID = strings.Clone(ex.SourceRequestID)
		p.pendingBySrc[pa.srcID] = pa
	}
}

// claim finds a waiting actual request that preflight e was made for.
func (p *pairer) claim(e *pfEntry) (*pendingActual, string) {
	if pa := p.pendingByPF[e.id]; pa != nil && !pa.done {
		return pa, pairHint
	}
	if e.srcID != "" {
		if pa := p.pendingBySrc[e.srcID]; pa != nil && !pa.done && pa.v.origin == e.origin {
			return pa, pairHint
		}
	}
	list := p.pendingByKey[e.key]
	for i := len(list) - 1; i >= 0; i-- {
		pa := list[i]
		if pa.done || pa.v.ex.PreflightID != 0 {
			continue
		}
		if pa.client != 0 && e.client != 0 && pa.client != e.client {
			continue
		}
		if pa.v.ex.Method == e.acrm && subset(pa.v.unsafeHeaders, e.acrh) && !pa.v.ex.Started.Before(e.start.Add(-pendingWindow)) {
			return pa, pairDirect
		}
	}
	return nil, ""
}

// resolvePending pairs a new preflight with an actual request that was
// timed before it.
func (p *pairer) resolvePending(e *pfEntry) {
	if len(p.pending) == 0 {
		return
	}
	pa, kind := p.claim(e)
	if pa == nil {
		return
	}
	p.finish(pa)
	pa.v.pairedPF, pa.v.pairKind = e, kind
	p.a.afterPair(&pa.v, e, kind)
}

// finish removes pa from the indexes.
func (p *pairer) finish(pa *pendingActual) {
	pa.done = true
	list := p.pendingByKey[pa.key]
	for i, x := range list {
		if x == pa {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.pendingByKey, pa.key)
	} else {
		p.pendingByKey[pa.key] = list
	}
	if id := pa.v.ex.PreflightID; id != 0 && p.pendingByPF[id] == pa {
		delete(p.pendingByPF, id)
	}
	if pa.srcID != "" && p.pendingBySrc[pa.srcID] == pa {
		delete(p.pendingBySrc, pa.srcID)
	}
}

// expire concludes waiting actual requests started before now-window.
func (p *pairer) expire(now time.Time) {
	cut := now.Add(-pendingWindow)
	n := 0
	for n < len(p.pending) && (p.pending[n].done || p.pending[n].v.ex.Started.Before(cut)) {
		pa := p.pending[n]
		if !pa.done {
			p.finish(pa)
			p.a.unpaired(&pa.v)
		}
		p.pending[n] = nil
		n++
	}
	if n > 0 {
		p.pending = append(p.pending[:0], p.pending[n:]...)
	}
}

// flush concludes every waiting actual request (end of input).
func (p *pairer) flush() {
	for _, pa := range p.pending {
		if !pa.done {
			p.finish(pa)
			p.a.unpaired(&pa.v)
		}
	}
	p.pending = nil
}

// pairActual finds the preflight that authorised the actual request v:
// an ingest hint, the producer's initiator link, the preflight sent for it
// (direct), or a live preflight cache entry (cached).
func (p *pairer) pairActual(v *exView) (*pfEntry, string) {
	ex := v.ex
	if ex.PreflightID != 0 {
		if e := p.byID[ex.PreflightID]; e != nil {
			return e, pairHint
		}
		return nil, ""
	}
	if ex.SourceRequestID != "" {
		if e := p.bySource[ex.SourceRequestID]; e != nil && e.origin == v.origin {
			return e, pairHint
		}
	}
	key := pfKey{origin: v.originID, url: urlHash(ex)}
	list := p.byKey[key]
	if len(list) == 0 {
		return nil, ""
	}
	client := p.clientID(ex)
	method := ex.Method
	for i := len(list) - 1; i >= 0; i-- {
		e := list[i]
		if e.client != 0 && client != 0 && e.client != client {
			continue
		}
		if !e.directed && e.acrm == method && subset(v.unsafeHeaders, e.acrh) &&
			!ex.Started.Before(e.start) && ex.Started.Sub(e.start) <= directWindow {
			return e, pairDirect
		}
	}
	for i := len(list) - 1; i >= 0; i-- {
		e := list[i]
		if e.client != 0 && client != 0 && e.client != client {
			continue
		}
		if e.coversCached(method, v.unsafeHeaders, v.include, ex.Started) {
			return e, pairCached
		}
	}
	return nil, ""
}
