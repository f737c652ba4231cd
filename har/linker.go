package har

import (
	"fmt"
	"strings"
	"time"

	"github.com/corscope/corscope/storage"
)

// Pairing kinds set by the Linker.
const (
	KindHint      = "hint"      // the producer's ids link the two entries
	KindHeuristic = "heuristic" // same Origin and URL, ACRM = method, nearest in time
)

// Reasons a preflight stays unlinked.
const (
	ReasonNoActual      = "no actual request in the HAR with the same Origin, URL and method"
	ReasonFailed        = "preflight failed or was blocked: the browser sent no actual request"
	ReasonNoACRM        = "preflight without Access-Control-Request-Method"
	ReasonWindow        = "no actual request within the linking window"
	ReasonHintUnmatched = "the actual request named by _initiator.requestId is not in the HAR"
	ReasonCrowded       = "more preflights pending for one URL than the linker tracks"
)

// Linker pairs HAR preflights with their actual requests while a file is
// ingested. Observe the exchanges in file order after the store gave them
// IDs. Chrome lists the actual request first (it is issued before its
// preflight) and a preflight's _initiator.requestId names it; an actual
// the browser then blocked has status 0 and lacks its Origin header;
// Playwright records no preflights at all. Memory is bounded by Window of
// HAR time.
type Linker struct {
	// Window is how far apart in HAR time a preflight and its actual may
	// be; older pending preflights are dropped as unlinked.
	Window time.Duration
	// Settle is how long an actual request waits for a preflight listed
	// after it before it takes the best earlier one.
	Settle time.Duration

	pending  map[string][]*lpre // unlinked preflights by key
	byHint   map[string]*lpre   // unlinked preflights by the actual's producer id
	waiting  map[string][]*lact // actuals not yet settled, by key
	actualID map[string]lactRef // recent actuals by their producer id
	// expiry queues in observation order: actuals settle after Settle,
	// preflights and producer ids expire after Window
	acts     queue[*lact]
	expires  queue[lref]
	latest   time.Time
	links    []storage.Pairing
	unlinked map[string]int
	linked   int
	// sawIDs: some entry carried its own producer id, so a preflight's
	// unresolved _initiator.requestId really names a missing entry.
	sawIDs bool
}

type lpre struct {
	id      int64
	key     string
	origin  string
	started time.Time
	hint    string
	status  int
	done    bool
}

type lact struct {
	id        int64
	key       string
	origin    string
	anyOrigin bool
	src       string // producer id, "" when none
	started   time.Time
	done      bool
}

type lactRef struct {
	id      int64
	key     string
	started time.Time
}

type lref struct {
	pre *lpre
	src string // producer id kept in actualID, when pre is nil
	at  time.Time
}

// queue is a FIFO that reuses its backing array.
type queue[T any] struct {
	items []T
	head  int
}

func (q *queue[T]) push(v T)  { q.items = append(q.items, v) }
func (q *queue[T]) len() int  { return len(q.items) - q.head }
func (q *queue[T]) front() T  { return q.items[q.head] }
func (q *queue[T]) rest() []T { return q.items[q.head:] }
func (q *queue[T]) pop() {
	var zero T
	q.items[q.head] = zero
	q.head++
	// compact once the consumed prefix is the larger part
	if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
}

// maxTracked caps the pending state regardless of time, for HARs whose
// times are missing or identical.
const maxTracked = 1 << 15

// maxPerKey caps the preflights (and actuals) waiting for one method and
// URL.
const maxPerKey = 256

// NewLinker returns a Linker with a 10-minute window.
func NewLinker() *Linker {
	return &Linker{
		Window:   10 * time.Minute,
		Settle:   2 * time.Second,
		pending:  make(map[string][]*lpre),
		byHint:   make(map[string]*lpre),
		waiting:  make(map[string][]*lact),
		actualID: make(map[string]lactRef),
		unlinked: make(map[string]int),
	}
}

func linkKey(method, url string) string {
	return method + " " + url
}

// sameOrigin: a request the browser blocked before sending it (status 0)
// may be recorded without its Origin header; it matches any preflight.
func sameOrigin(p *lpre, a *lact) bool {
	return a.anyOrigin || a.origin == p.origin
}

// isPreflight reports whether ex is a CORS preflight: marked so by the
// producer or an OPTIONS with Origin and Access-Control-Request-Method.
func isPreflight(ex *storage.Exchange) bool {
	return ex.ResourceType == "preflight" || ex.IsPreflight()
}

// Observe records ex (its ID set) and links what can be linked.
func (l *Linker) Observe(ex *storage.Exchange) {
	if ex.Started.After(l.latest) {
		l.latest = ex.Started
	}
	l.expire(false)
	if ex.SourceRequestID != "" {
		l.sawIDs = true
	}
	if isPreflight(ex) {
		l.observePreflight(ex)
		return
	}
	origin, ok := ex.RequestHeaders.Get("Origin")
	blocked := !ok && ex.Status == 0
	if !ok && !blocked && ex.SourceRequestID == "" {
		return // not a CORS request: no preflight to find
	}
	key := linkKey(ex.Method, ex.URL())
	if ex.SourceRequestID != "" {
		if p := l.byHint[ex.SourceRequestID]; p != nil && !p.done {
			l.link(p, ex.ID, KindHint)
			return
		}
		l.actualID[ex.SourceRequestID] = lactRef{id: ex.ID, key: key, started: ex.Started}
		l.expires.push(lref{src: ex.SourceRequestID, at: ex.Started})
	}
	if !ok && !blocked {
		return
	}
	l.addWaiting(&lact{id: ex.ID, key: key, origin: origin, anyOrigin: blocked, src: ex.SourceRequestID, started: ex.Started})
}

func (l *Linker) observePreflight(ex *storage.Exchange) {
	origin := ex.RequestHeaders.Value("Origin")
	acrm, ok := ex.RequestHeaders.Get("Access-Control-Request-Method")
	acrm = strings.TrimSpace(acrm)
	if !ok || acrm == "" {
		l.unlinked[ReasonNoACRM]++
		return
	}
	p := &lpre{id: ex.ID, key: linkKey(acrm, ex.URL()), origin: origin, started: ex.Started, hint: ex.InitiatorRequestID, status: ex.Status}
	// the producer's own link wins
	if p.hint != "" {
		if a, ok := l.actualID[p.hint]; ok {
			delete(l.actualID, p.hint)
			l.link(p, a.id, KindHint)
			l.dropWaiting(a.key, a.id)
			return
		}
	}
	// an actual listed just before its preflight (Chrome's order)
	if a := l.bestWaiting(p); a != nil {
		l.linkActual(p, a)
		return
	}
	l.addPending(p)
}

// bestWaiting finds the unsettled actual nearest in time to p that may
// belong to it: started no more than Settle before p.
func (l *Linker) bestWaiting(p *lpre) *lact {
	var best *lact
	var bestD time.Duration
	for _, a := range l.waiting[p.key] {
		if a.done || !sameOrigin(p, a) {
			continue
		}
		d := a.started.Sub(p.started)
		if d < -l.Settle || d > l.Window {
			continue
		}
		if d < 0 {
			d = -d
		}
		if best == nil || d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

// settle links an actual whose wait is over to the nearest earlier
// pending preflight, if any.
func (l *Linker) settle(a *lact) {
	if a.done {
		return
	}
	a.done = true
	var best *lpre
	var bestD time.Duration
	for _, p := range l.pending[a.key] {
		if p.done || !sameOrigin(p, a) {
			continue
		}
		d := a.started.Sub(p.started)
		if d < -l.Settle || d > l.Window {
			continue
		}
		if d < 0 {
			d = -d
		}
		if best == nil || d < bestD {
			best, bestD = p, d
		}
	}
	if best != nil {
		l.linkActual(best, a)
	}
}

// linkActual links a waiting actual by the heuristic; its producer id can
// then no longer be claimed by another preflight's hint.
func (l *Linker) linkActual(p *lpre, a *lact) {
	a.done = true
	if a.src != "" {
		if r, ok := l.actualID[a.src]; ok && r.id == a.id {
			delete(l.actualID, a.src)
		}
	}
	l.link(p, a.id, KindHeuristic)
}

func (l *Linker) link(p *lpre, actual int64, kind string) {
	p.done = true
	if p.hint != "" && l.byHint[p.hint] == p {
		delete(l.byHint, p.hint)
	}
	l.linked++
	l.links = append(l.links, storage.Pairing{PreflightID: p.id, ActualID: actual, Kind: kind})
}

func (l *Linker) dropWaiting(key string, id int64) {
	for _, a := range l.waiting[key] {
		if a.id == id {
			a.done = true
		}
	}
}

// expire settles actuals whose wait is over and drops preflights older
// than the window. With all set, everything pending is finished.
func (l *Linker) expire(all bool) {
	// actuals first, so that a preflight never expires before the actual
	// that was waiting for it
	for l.acts.len() > 0 {
		a := l.acts.front()
		if !all && !a.done && l.acts.len() <= maxTracked && l.latest.Sub(a.started) <= l.Settle {
			break
		}
		l.settle(a)
		l.trim(a.key)
		l.acts.pop()
	}
	for l.expires.len() > 0 {
		r := l.expires.front()
		if !all && l.expires.len() <= maxTracked && l.latest.Sub(r.at) <= l.Window && (r.pre == nil || !r.pre.done) {
			break
		}
		if r.pre != nil {
			if !r.pre.done {
				r.pre.done = true
				l.unlinked[l.reason(r.pre, all)]++
				if r.pre.hint != "" && l.byHint[r.pre.hint] == r.pre {
					delete(l.byHint, r.pre.hint)
				}
			}
			l.trimPre(r.pre.key)
		} else if a, ok := l.actualID[r.src]; ok && !a.started.After(r.at) {
			delete(l.actualID, r.src)
		}
		l.expires.pop()
	}
}

func (l *Linker) reason(p *lpre, atEnd bool) string {
	switch {
	case p.status == 0 || p.status >= 300:
		return ReasonFailed
	case p.hint != "" && l.sawIDs:
		return ReasonHintUnmatched
	case !atEnd:
		return ReasonWindow
	}
	return ReasonNoActual
}

// trim drops the settled actuals at the front of a key's list. Actuals
// settle in observation order, so the front is where they are; one linked
// early by a preflight waits there until its turn, which keeps this O(1).
func (l *Linker) trim(key string) {
	list := l.waiting[key]
	i := 0
	for i < len(list) && list[i].done {
		list[i] = nil
		i++
	}
	if i == len(list) {
		delete(l.waiting, key)
	} else if i > 0 {
		l.waiting[key] = list[i:]
	}
}

// trimPre is trim for pending preflights.
func (l *Linker) trimPre(key string) {
	list := l.pending[key]
	i := 0
	for i < len(list) && list[i].done {
		list[i] = nil
		i++
	}
	if i == len(list) {
		delete(l.pending, key)
	} else if i > 0 {
		l.pending[key] = list[i:]
	}
}

// compactActs and compactPres drop every finished item of a key's list;
// they run only when a list reaches maxPerKey.
func compactActs(list []*lact) []*lact {
	n := 0
	for _, a := range list {
		if !a.done {
			list[n] = a
			n++
		}
	}
	clear(list[n:])
	return list[:n]
}

func compactPres(list []*lpre) []*lpre {
	n := 0
	for _, p := range list {
		if !p.done {
			list[n] = p
			n++
		}
	}
	clear(list[n:])
	return list[:n]
}

// addWaiting appends a to its key's list. A list at maxPerKey settles its
// oldest actual first, so that matching stays O(maxPerKey) per request
// even in HARs whose times never advance.
func (l *Linker) addWaiting(a *lact) {
	list := l.waiting[a.key]
	if len(list) >= maxPerKey {
		list = compactActs(list)
		l.waiting[a.key] = list
		for len(list) >= maxPerKey {
			l.settle(list[0])
			list = compactActs(list)
			l.waiting[a.key] = list
		}
	}
	l.waiting[a.key] = append(list, a)
	l.acts.push(a)
}

// addPending appends p to its key's list, giving up on the oldest pending
// preflight of a full list.
func (l *Linker) addPending(p *lpre) {
	list := l.pending[p.key]
	if len(list) >= maxPerKey {
		list = compactPres(list)
		for len(list) >= maxPerKey {
			old := list[0]
			old.done = true
			l.unlinked[ReasonCrowded]++
			if old.hint != "" && l.byHint[old.hint] == old {
				delete(l.byHint, old.hint)
			}
			list = compactPres(list)
		}
	}
	l.pending[p.key] = append(list, p)
	if p.hint != "" {
		l.byHint[p.hint] = p
	}
	l.expires.push(lref{pre: p, at: p.started})
}

// Links finishes pending work and returns the pairings found so far (all
// of them unless Drain took some).
func (l *Linker) Links() []storage.Pairing {
	l.expire(true)
	return l.links
}

// Drain finishes nothing: it returns the pairings found so far and forgets
// them, for callers that store pairings while the file is still read.
func (l *Linker) Drain() []storage.Pairing {
	out := l.links
	l.links = nil
	return out
}

// Unlinked finishes pending work and returns the preflights left without
// an actual request, counted by reason.
func (l *Linker) Unlinked() map[string]int {
	l.expire(true)
	return l.unlinked
}

// Summary is a one-line account of the linking, for ingest reports.
func (l *Linker) Summary() string {
	l.expire(true)
	n := 0
	for _, c := range l.unlinked {
		n += c
	}
	return fmt.Sprintf("%d preflights linked, %d unlinked", l.linked, n)
}
