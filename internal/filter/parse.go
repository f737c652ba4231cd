// Package filter parses corscope's mitmproxy-style filter expressions and
// compiles them to SQL over the exchanges table (alias e) and to a Go matcher.
package filter

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/corscope/corscope/storage"
)

// MaxLength bounds an expression: filters are typed by people, and the
// bound keeps the recursive-descent parser and SQL size small.
const MaxLength = 4096

// maxDepth bounds nesting of ( and ! so hostile input cannot blow the stack.
const maxDepth = 64

// Error is a parse error at a 1-based column of the expression.
type Error struct {
	Col   int
	Token string
	Msg   string
}

func (e *Error) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("at %d: %s", e.Col, e.Msg)
	}
	return fmt.Sprintf("%s at %d: %s", e.Token, e.Col, e.Msg)
}

type tokKind uint8

const (
	tEOF  tokKind = iota
	tOp           // ~name
	tWord         // bare or quoted word
	tNot
	tAnd
	tOr
	tLParen
	tRParen
)

type token struct {
	kind   tokKind
	text   string // operator name without ~, or the word's value
	col    int    // 1-based rune column
	quoted bool
}

func lex(s string) ([]token, error) {
	var toks []token
	// Control bytes have no use in a filter and SQLite cuts text arguments
	// at NUL, which would turn a LIKE pattern into a match-all.
	col := 1
	for _, r := range s {
		if (r < 0x20 && r != ' ' && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return nil, &Error{Col: col, Msg: "control character in expression"}
		}
		col++
	}
	i := 0
	col = 1
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, &Error{Col: col, Msg: "invalid UTF-8"}
		}
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i += size
			col++
			continue
		case r == '!':
			toks = append(toks, token{kind: tNot, text: "!", col: col})
		case r == '&':
			toks = append(toks, token{kind: tAnd, text: "&", col: col})
		case r == '|':
			toks = append(toks, token{kind: tOr, text: "|", col: col})
		case r == '(':
			toks = append(toks, token{kind: tLParen, text: "(", col: col})
		case r == ')':
			toks = append(toks, token{kind: tRParen, text: ")", col: col})
		case r == '"' || r == '\'':
			start := col
			var b strings.Builder
			i += size
			col++
			closed := false
			for i < len(s) {
				c, n := utf8.DecodeRuneInString(s[i:])
				if c == utf8.RuneError && n == 1 {
					return nil, &Error{Col: col, Msg: "invalid UTF-8"}
				}
				i += n
				col++
				if c == '\\' && i < len(s) {
					c, n = utf8.DecodeRuneInString(s[i:])
					i += n
					col++
					b.WriteRune(c)
					continue
				}
				if c == r {
					closed = true
					break
				}
				b.WriteRune(c)
			}
			if !closed {
				return nil, &Error{Col: start, Msg: "unterminated quote"}
			}
			toks = append(toks, token{kind: tWord, text: b.String(), col: start, quoted: true})
			continue
		default:
			start, startCol := i, col
			for i < len(s) {
				c, n := utf8.DecodeRuneInString(s[i:])
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '&' || c == '|' || c == '(' || c == ')' {
					break
				}
				if c == utf8.RuneError && n == 1 {
					return nil, &Error{Col: col, Msg: "invalid UTF-8"}
				}
				i += n
				col++
			}
			w := s[start:i]
			if strings.HasPrefix(w, "~") {
				toks = append(toks, token{kind: tOp, text: w[1:], col: startCol})
			} else {
				toks = append(toks, token{kind: tWord, text: w, col: startCol})
			}
			continue
		}
		i += size
		col++
	}
	toks = append(toks, token{kind: tEOF, col: col})
	return toks, nil
}

// opSpec describes one ~operator: whether it takes an argument.
type opSpec struct {
	arg  bool
	help string
}

// Operators lists every ~operator with a short description (for help and
// completion in the UI).
var Operators = map[string]opSpec{
	"m":      {true, "request method, e.g. ~m PUT"},
	"u":      {true, "URL regex (case-insensitive), e.g. ~u /api/"},
	"d":      {true, "domain or any subdomain of it, e.g. ~d example.com"},
	"c":      {true, "response status, e.g. ~c 200 or ~c 4xx"},
	"origin": {true, "Origin request header contains TEXT"},
	"h":      {true, "header NAME present (request or response)"},
	"hq":     {true, "request header NAME[=VALUE] (value: substring)"},
	"hs":     {true, "response header NAME[=VALUE] (value: substring)"},
	"cred":   {false, "credentialed: Cookie/Authorization sent or ACAC true"},
	"pf":     {false, "CORS preflights"},
	"sev":    {true, "supports a finding of severity LEVEL or above"},
	"rule":   {true, "supports a finding of rule ID"},
}

// OperatorHelp returns "~name ARG  description" lines in a stable order.
func OperatorHelp() []string {
	order := []string{"m", "u", "d", "c", "origin", "h", "hq", "hs", "cred", "pf", "sev", "rule"}
	out := make([]string, 0, len(order))
	for _, name := range order {
		spec := Operators[name]
		arg := ""
		if spec.arg {
			arg = " ARG"
		}
		out = append(out, "~"+name+arg+"  "+spec.help)
	}
	return out
}

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

// Parse parses expr. The empty expression (only spaces) matches everything.
func Parse(expr string) (*Expr, error) {
	if len(expr) > MaxLength {
		return nil, &Error{Col: 1, Msg: fmt.Sprintf("expression longer than %d bytes", MaxLength)}
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return &Expr{src: expr, root: &node{kind: nTrue}}, nil
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &Error{Col: t.col, Token: tokText(t), Msg: "unexpected token"}
	}
	return &Expr{src: expr, root: root}, nil
}

func tokText(t token) string {
	switch t.kind {
	case tOp:
		return "~" + t.text
	case tEOF:
		return ""
	}
	return t.text
}

func (p *parser) parseOr() (*node, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOr {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &node{kind: nOr, l: left, r: right}
	}
	return left, nil
}

// parseAnd joins terms by & or by juxtaposition (mitmproxy's implicit and).
func (p *parser) parseAnd() (*node, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind == tAnd {
			p.next()
		} else if t.kind != tOp && t.kind != tWord && t.kind != tNot && t.kind != tLParen {
			return left, nil
		}
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = &node{kind: nAnd, l: left, r: right}
	}
}

func (p *parser) parseUnary() (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	t := p.peek()
	if p.depth > maxDepth {
		return nil, &Error{Col: t.col, Token: tokText(t), Msg: "nested too deeply"}
	}
	switch t.kind {
	case tNot:
		p.next()
		inner, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &node{kind: nNot, l: inner}, nil
	case tLParen:
		p.next()
		inner, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &Error{Col: c.col, Token: tokText(c), Msg: "expected )"}
		}
		return inner, nil
	case tWord:
		p.next()
		return &node{kind: nURLSub, s: t.text}, nil
	case tOp:
		p.next()
		return p.operator(t)
	case tEOF:
		return nil, &Error{Col: t.col, Msg: "expression incomplete"}
	}
	return nil, &Error{Col: t.col, Token: tokText(t), Msg: "unexpected token"}
}

func (p *parser) operator(op token) (*node, error) {
	spec, ok := Operators[op.text]
	if !ok {
		return nil, &Error{Col: op.col, Token: "~" + op.text, Msg: "unknown operator"}
	}
	var arg string
	if spec.arg {
		a := p.peek()
		if a.kind != tWord {
			return nil, &Error{Col: op.col, Token: "~" + op.text, Msg: "needs an argument"}
		}
		p.next()
		arg = a.text
		if arg == "" {
			return nil, &Error{Col: a.col, Token: "~" + op.text, Msg: "empty argument"}
		}
	}
	bad := func(msg string) error { return &Error{Col: op.col, Token: "~" + op.text, Msg: msg} }
	switch op.text {
	case "m":
		return &node{kind: nMethod, s: strings.ToUpper(arg)}, nil
	case "u":
		return urlRegexNode(arg, bad)
	case "d":
		return &node{kind: nDomain, s: strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(arg, "."), "."))}, nil
	case "c":
		return statusNode(arg, bad)
	case "origin":
		return &node{kind: nOrigin, s: arg}, nil
	case "h", "hq", "hs":
		n := &node{kind: nHeader, s: arg}
		if op.text != "h" {
			if name, val, ok := strings.Cut(arg, "="); ok {
				n.s, n.val, n.hasVal = name, val, true
			}
			if n.s == "" {
				return nil, bad("empty header name")
			}
		}
		n.dir = map[string]int{"h": dirBoth, "hq": dirRequest, "hs": dirResponse}[op.text]
		return n, nil
	case "cred":
		return &node{kind: nCred}, nil
	case "pf":
		return &node{kind: nPreflight}, nil
	case "sev":
		rank := storage.SeverityRank(strings.ToLower(arg))
		if rank == 0 {
			return nil, bad("unknown severity " + strconv.Quote(arg) + " (critical, high, medium, low, info)")
		}
		return &node{kind: nSeverity, n: rank}, nil
	case "rule":
		return &node{kind: nRule, s: arg}, nil
	}
	return nil, bad("unknown operator")
}

func statusNode(arg string, bad func(string) error) (*node, error) {
	a := strings.ToLower(arg)
	if len(a) == 3 && a[1:] == "xx" && a[0] >= '1' && a[0] <= '5' {
		lo := int(a[0]-'0') * 100
		return &node{kind: nStatus, n: lo, n2: lo + 99}, nil
	}
	v, err := strconv.Atoi(a)
	if err != nil || v < 0 || v > 999 {
		return nil, bad("status must be a number 0-999 or a class like 4xx")
	}
	return &node{kind: nStatus, n: v, n2: v}, nil
}

// urlRegexNode compiles ~u. A pattern that is a plain literal becomes a SQL
// LIKE; anything else is matched in Go after a SQL pre-selection.
func urlRegexNode(arg string, bad func(string) error) (*node, error) {
	if _, err := syntax.Parse(arg, syntax.Perl); err != nil {
		msg := err.Error()
		if e, ok := err.(*syntax.Error); ok {
			msg = string(e.Code) + ": `" + e.Expr + "`"
		}
		return nil, bad("bad regex: " + msg)
	}
	re, err := regexp.Compile("(?i)" + arg)
	if err != nil {
		return nil, bad("bad regex: " + err.Error())
	}
	if lit, ok := literalOf(arg); ok {
		return &node{kind: nURLSub, s: lit}, nil
	}
	return &node{kind: nURLRegex, s: arg, re: re}, nil
}

// literalOf reports whether pattern matches exactly one literal text.
func literalOf(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return "", false
		}
		for _, r := range re.Rune {
			if r == 0 {
				// An escaped NUL (\0, \x00): SQLite cuts text at NUL, so the
				// LIKE would match everything; decide it in Go instead.
				return "", false
			}
		}
		return string(re.Rune), true
	case syntax.OpEmptyMatch:
		return "", true
	}
	return "", false
}
