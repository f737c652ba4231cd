package filter

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/corscope/corscope/storage"
)

type nodeKind uint8

const (
	nTrue nodeKind = iota
	nAnd
	nOr
	nNot
	nMethod
	nURLSub   // case-insensitive (ASCII) substring of the URL: exact in SQL via LIKE
	nURLRegex // Go regex on the URL: not expressible in SQLite without REGEXP
	nDomain
	nStatus
	nOrigin
	nHeader
	nCred
	nPreflight
	nSeverity
	nRule
)

const (
	dirBoth = iota
	dirRequest
	dirResponse
)

type node struct {
	kind   nodeKind
	l, r   *node
	s      string
	val    string
	hasVal bool
	dir    int
	n, n2  int
	re     *regexp.Regexp
}

// Expr is a parsed filter expression.
//
// SQL and Go evaluation: SQLite (modernc) has no REGEXP function and none is
// registered, so a ~u whose pattern is not a plain literal cannot be decided
// in SQL. SQL then returns a superset condition (such a term counts as true,
// or as "unknown" under !) and Exact reports false: callers must run Match on
// each selected row. Every other operator is exact in SQL.
type Expr struct {
	src  string
	root *node
}

// String returns the source text.
func (e *Expr) String() string { return e.src }

// Exact reports whether SQL alone decides the expression (no Match needed).
func (e *Expr) Exact() bool { return exact(e.root) }

func exact(n *node) bool {
	switch n.kind {
	case nAnd, nOr:
		return exact(n.l) && exact(n.r)
	case nNot:
		return exact(n.l)
	case nURLRegex:
		return false
	}
	return true
}

// NeedsFindings reports whether the expression uses ~sev or ~rule, whose Go
// evaluation needs the exchange's findings (MatchWith).
func (e *Expr) NeedsFindings() bool { return needsFindings(e.root) }

func needsFindings(n *node) bool {
	switch n.kind {
	case nAnd, nOr:
		return needsFindings(n.l) || needsFindings(n.r)
	case nNot:
		return needsFindings(n.l)
	case nSeverity, nRule:
		return true
	}
	return false
}

// urlSQL rebuilds storage.Exchange.URL() in SQL.
const urlSQL = `(e.scheme || '://' || CASE WHEN instr(e.host, ':') > 0 AND substr(e.host, 1, 1) != '[' THEN '[' || e.host || ']' ELSE e.host END ||
 CASE WHEN e.port != 0 AND e.port != (CASE e.scheme WHEN 'http' THEN 80 WHEN 'ws' THEN 80 WHEN 'https' THEN 443 WHEN 'wss' THEN 443 ELSE 0 END) THEN ':' || e.port ELSE '' END ||
 CASE WHEN e.path = '' THEN '/' ELSE e.path END || CASE WHEN e.query != '' THEN '?' || e.query ELSE '' END)`

// likeEscape escapes LIKE wildcards with backslash (used with ESCAPE '\').
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func headerExists(column, name string, args *[]any, val string, hasVal bool) string {
	*args = append(*args, strings.ToLower(name))
	cond := `lower(json_extract(j.value, '$[0]')) = ?`
	if hasVal {
		*args = append(*args, "%"+likeEscape(val)+"%")
		cond += ` AND json_extract(j.value, '$[1]') LIKE ? ESCAPE '\'`
	}
	return `EXISTS (SELECT 1 FROM json_each(e.` + column + `) j WHERE ` + cond + `)`
}

// SQL returns a condition over exchanges aliased e, with positional args.
// When Exact is false the condition selects a superset; filter it with Match.
func (e *Expr) SQL() (where string, args []any) {
	var b strings.Builder
	e.root.sql(&b, &args, false)
	return b.String(), args
}

// sql writes n; negated tells whether an odd number of ! surround it, so
// that an inexact term is replaced by the value that keeps a superset.
func (n *node) sql(b *strings.Builder, args *[]any, negated bool) {
	switch n.kind {
	case nTrue:
		b.WriteString("1")
	case nAnd, nOr:
		op := " AND "
		if n.kind == nOr {
			op = " OR "
		}
		b.WriteString("(")
		n.l.sql(b, args, negated)
		b.WriteString(op)
		n.r.sql(b, args, negated)
		b.WriteString(")")
	case nNot:
		b.WriteString("NOT ")
		n.l.sql(b, args, !negated)
	case nURLRegex:
		// Unknown in SQL: true keeps a superset; under ! false does.
		if negated {
			b.WriteString("(0)")
		} else {
			b.WriteString("(1)")
		}
	case nMethod:
		b.WriteString("(upper(e.method) = ?)")
		*args = append(*args, n.s)
	case nURLSub:
		b.WriteString("(" + urlSQL + ` LIKE ? ESCAPE '\')`)
		*args = append(*args, "%"+likeEscape(n.s)+"%")
	case nDomain:
		b.WriteString(`(lower(e.host) = ? OR lower(e.host) LIKE ? ESCAPE '\')`)
		*args = append(*args, n.s, "%."+likeEscape(n.s))
	case nStatus:
		if n.n == n.n2 {
			b.WriteString("(e.status = ?)")
			*args = append(*args, n.n)
		} else {
			b.WriteString("(e.status BETWEEN ? AND ?)")
			*args = append(*args, n.n, n.n2)
		}
	case nOrigin:
		b.WriteString(`(e.origin IS NOT NULL AND e.origin LIKE ? ESCAPE '\')`)
		*args = append(*args, "%"+likeEscape(n.s)+"%")
	case nHeader:
		switch n.dir {
		case dirRequest:
			b.WriteString("(" + headerExists("request_headers", n.s, args, n.val, n.hasVal) + ")")
		case dirResponse:
			b.WriteString("(" + headerExists("response_headers", n.s, args, n.val, n.hasVal) + ")")
		default:
			b.WriteString("(" + headerExists("request_headers", n.s, args, "", false) + " OR " +
				headerExists("response_headers", n.s, args, "", false) + ")")
		}
	case nCred:
		b.WriteString(`((e.acac IS NOT NULL AND lower(trim(e.acac)) = 'true') OR EXISTS (SELECT 1 FROM json_each(e.request_headers) j WHERE lower(json_extract(j.value, '$[0]')) IN ('cookie', 'authorization')))`)
	case nPreflight:
		b.WriteString(`(e.method = 'OPTIONS' AND e.origin IS NOT NULL AND e.acrm IS NOT NULL)`)
	case nSeverity:
		b.WriteString(`(e.id IN (SELECT j.value FROM findings f, json_each(f.exchange_ids) j WHERE f.severity_rank >= ?))`)
		*args = append(*args, n.n)
	case nRule:
		b.WriteString(`(e.id IN (SELECT j.value FROM findings f, json_each(f.exchange_ids) j WHERE f.rule = ?))`)
		*args = append(*args, n.s)
	}
}

// FindingRef is what Go evaluation needs to know of a finding an exchange
// supports.
type FindingRef struct {
	Rule     string
	Severity string
}

// Match evaluates the expression on ex in Go. ~sev and ~rule see no
// findings here; use MatchWith when NeedsFindings reports true.
func (e *Expr) Match(ex *storage.Exchange) bool { return e.root.match(ex, nil) }

// MatchWith evaluates the expression on ex, which supports findings.
func (e *Expr) MatchWith(ex *storage.Exchange, findings []FindingRef) bool {
	return e.root.match(ex, findings)
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// containsFold is SQLite LIKE's notion of case-insensitive: ASCII only.
func containsFold(s, sub string) bool { return strings.Contains(asciiLower(s), asciiLower(sub)) }

func (n *node) match(ex *storage.Exchange, fs []FindingRef) bool {
	switch n.kind {
	case nTrue:
		return true
	case nAnd:
		return n.l.match(ex, fs) && n.r.match(ex, fs)
	case nOr:
		return n.l.match(ex, fs) || n.r.match(ex, fs)
	case nNot:
		return !n.l.match(ex, fs)
	case nMethod:
		return strings.ToUpper(ex.Method) == n.s
	case nURLSub:
		return containsFold(ex.URL(), n.s)
	case nURLRegex:
		return n.re.MatchString(ex.URL())
	case nDomain:
		h := strings.ToLower(ex.Host)
		return h == n.s || strings.HasSuffix(h, "."+n.s)
	case nStatus:
		return ex.Status >= n.n && ex.Status <= n.n2
	case nOrigin:
		o, ok := ex.RequestHeaders.Get("Origin")
		return ok && containsFold(o, n.s)
	case nHeader:
		switch n.dir {
		case dirRequest:
			return headerMatch(ex.RequestHeaders, n)
		case dirResponse:
			return headerMatch(ex.ResponseHeaders, n)
		}
		return headerMatch(ex.RequestHeaders, n) || headerMatch(ex.ResponseHeaders, n)
	case nCred:
		if v, ok := ex.ResponseHeaders.Get("Access-Control-Allow-Credentials"); ok && strings.EqualFold(strings.TrimSpace(v), "true") {
			return true
		}
		_, c := ex.RequestHeaders.Get("Cookie")
		_, a := ex.RequestHeaders.Get("Authorization")
		return c || a
	case nPreflight:
		return ex.IsPreflight()
	case nSeverity:
		for _, f := range fs {
			if storage.SeverityRank(f.Severity) >= n.n {
				return true
			}
		}
		return false
	case nRule:
		for _, f := range fs {
			if f.Rule == n.s {
				return true
			}
		}
		return false
	}
	return false
}

func headerMatch(h storage.Headers, n *node) bool {
	for _, f := range h {
		if !strings.EqualFold(f.Name, n.s) {
			continue
		}
		if !n.hasVal || containsFold(f.Value, n.val) {
			return true
		}
	}
	return false
}

// Describe returns a normalised rendering of the parsed tree (for tests and
// the UI's "filter:" label).
func (e *Expr) Describe() string {
	var b strings.Builder
	e.root.describe(&b)
	return b.String()
}

func (n *node) describe(b *strings.Builder) {
	switch n.kind {
	case nTrue:
		b.WriteString("true")
	case nAnd, nOr:
		op := " & "
		if n.kind == nOr {
			op = " | "
		}
		b.WriteString("(")
		n.l.describe(b)
		b.WriteString(op)
		n.r.describe(b)
		b.WriteString(")")
	case nNot:
		b.WriteString("!")
		n.l.describe(b)
	case nMethod:
		b.WriteString("~m " + strconv.Quote(n.s))
	case nURLSub:
		b.WriteString("url~" + strconv.Quote(n.s))
	case nURLRegex:
		b.WriteString("~u " + strconv.Quote(n.s))
	case nDomain:
		b.WriteString("~d " + strconv.Quote(n.s))
	case nStatus:
		b.WriteString("~c " + strconv.Itoa(n.n) + "-" + strconv.Itoa(n.n2))
	case nOrigin:
		b.WriteString("~origin " + strconv.Quote(n.s))
	case nHeader:
		b.WriteString([]string{"~h ", "~hq ", "~hs "}[n.dir] + strconv.Quote(n.s))
		if n.hasVal {
			b.WriteString("=" + strconv.Quote(n.val))
		}
	case nCred:
		b.WriteString("~cred")
	case nPreflight:
		b.WriteString("~pf")
	case nSeverity:
		b.WriteString("~sev " + strconv.Itoa(n.n))
	case nRule:
		b.WriteString("~rule " + strconv.Quote(n.s))
	}
}

// And returns an expression true where both a and b are (either may be nil).
func And(a, b *Expr) *Expr {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &Expr{src: "(" + a.src + ") & (" + b.src + ")", root: &node{kind: nAnd, l: a.root, r: b.root}}
}

// URLRegex returns the expression of the UI's quick filter: pattern is a
// URL regex (case-insensitive); a leading "!" inverts it.
func URLRegex(pattern string) (*Expr, error) {
	invert := strings.HasPrefix(pattern, "!")
	if invert {
		pattern = pattern[1:]
	}
	if pattern == "" {
		return nil, nil
	}
	n, err := urlRegexNode(pattern, func(msg string) error { return &Error{Col: 1, Msg: msg} })
	if err != nil {
		return nil, err
	}
	if invert {
		n = &node{kind: nNot, l: n}
	}
	src := pattern
	if invert {
		src = "!" + pattern
	}
	return &Expr{src: "/" + src, root: n}, nil
}

// Shallow reports whether Match reads only the exchange's method, status
// and URL fields (Scheme, Host, Port, Path, Query): callers may then match
// on rows loaded without headers, which is far cheaper on big stores.
func (e *Expr) Shallow() bool { return shallow(e.root) }

func shallow(n *node) bool {
	switch n.kind {
	case nAnd, nOr:
		return shallow(n.l) && shallow(n.r)
	case nNot:
		return shallow(n.l)
	case nTrue, nMethod, nURLSub, nURLRegex, nDomain, nStatus:
		return true
	}
	return false
}
