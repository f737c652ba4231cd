// Package redact replaces secrets in exchanges (cookie values, credentials,
// token-like parameters) with stable keyed hashes before they are stored.
package redact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/corscope/corscope/storage"
)

// Prefix starts every replacement; values that already carry it are left
// alone, so redacting twice (e.g. an exported, re-ingested HAR) is stable.
const Prefix = "redacted:"

// Redactor hashes secrets with one key: equal secrets give equal
// replacements, so pairing and analysis still see which values match.
type Redactor struct {
	key []byte
}

// New returns a Redactor using key (at least 16 bytes).
func New(key []byte) (*Redactor, error) {
	if len(key) < 16 {
		return nil, errors.New("redaction key shorter than 16 bytes")
	}
	return &Redactor{key: append([]byte(nil), key...)}, nil
}

// Open loads the key stored at keyPath (hex), creating it with mode 0600 and
// 32 random bytes when it does not exist; keyPath "" gives a random key kept
// only in memory (for a database that is not kept either).
func Open(keyPath string) (*Redactor, error) {
	if keyPath == "" {
		return random()
	}
	data, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return Open(keyPath) // created meanwhile by another process
		}
		if err != nil {
			return nil, fmt.Errorf("redaction key: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("redaction key %s: %w", keyPath, werr)
		}
		return New(key)
	}
	if err != nil {
		return nil, fmt.Errorf("redaction key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("redaction key %s: not a hex key of at least 16 bytes", keyPath)
	}
	return New(key)
}

func random() (*Redactor, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return New(key)
}

// Hash returns the replacement for secret: Prefix and the first 12 hex
// digits of HMAC-SHA256(key, secret).
func (r *Redactor) Hash(secret string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(secret))
	var sum [sha256.Size]byte
	return Prefix + hex.EncodeToString(m.Sum(sum[:0])[:6])
}

// replace hashes v unless it is empty or already redacted; n counts.
func (r *Redactor) replace(v string, n *int) string {
	if v == "" || strings.HasPrefix(v, Prefix) {
		return v
	}
	*n++
	return r.Hash(v)
}

// Exchange redacts ex in place and returns the number of values replaced:
// request and response headers, the URL query, and request and response
// bodies that are form-encoded or JSON (values of secret-named fields).
func (r *Redactor) Exchange(ex *storage.Exchange) int {
	n := 0
	r.headers(ex.RequestHeaders, &n)
	r.headers(ex.ResponseHeaders, &n)
	ex.Query = r.query(ex.Query, &n)
	ex.Path = r.pathParams(ex.Path, &n)
	for i, w := range ex.Warnings {
		ex.Warnings[i] = r.warning(w, &n)
	}
	if len(ex.RequestBody) > 0 {
		ex.RequestBody = r.body(ex.RequestBody, ex.RequestHeaders.Value("Content-Type"), &n)
	}
	if len(ex.ResponseBody) > 0 {
		ex.ResponseBody = r.body(ex.ResponseBody, ex.ResponseHeaders.Value("Content-Type"), &n)
	}
	return n
}

// Headers redacts a header list in place and returns the values replaced.
func (r *Redactor) Headers(h storage.Headers) int {
	n := 0
	r.headers(h, &n)
	return n
}

func (r *Redactor) headers(h storage.Headers, n *int) {
	for i := range h {
		name := strings.ToLower(h[i].Name)
		switch {
		case name == "cookie":
			h[i].Value = r.cookiePairs(h[i].Value, n)
		case name == "set-cookie":
			h[i].Value = r.setCookie(h[i].Value, n)
		case name == "authorization" || name == "proxy-authorization":
			h[i].Value = r.credentials(h[i].Value, n)
		case name == "referer" || name == "location" || name == "content-location" || name == ":path" ||
			name == "refresh" || name == "link":
			h[i].Value = r.urlQuery(h[i].Value, n)
		case secretHeader(name):
			h[i].Value = r.replace(h[i].Value, n)
		}
	}
}

// secretHeader reports header names that carry tokens by convention
// (X-Api-Key, X-Auth-Token, X-CSRF-Token, ...). CORS and fetch metadata
// headers are never secret: their values name headers, not hold them.
func secretHeader(name string) bool {
	if strings.HasPrefix(name, "access-control-") || strings.HasPrefix(name, "sec-") || strings.Contains(name, "authenticate") {
		return false
	}
	for _, s := range []string{"token", "secret", "api-key", "apikey", "api_key", "password", "session", "x-auth", "signature", "credential"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// credentials keeps the scheme of "Scheme credentials" (the analyzer and a
// reader need to know Basic from Bearer) and hashes the rest.
func (r *Redactor) credentials(v string, n *int) string {
	t := strings.TrimLeft(v, " \t")
	sp := strings.IndexAny(t, " \t")
	if sp < 0 {
		return r.replace(v, n)
	}
	rest := strings.TrimLeft(t[sp:], " \t")
	if rest == "" {
		return v
	}
	return v[:len(v)-len(rest)] + r.replace(rest, n)
}

// cookiePairs hashes the value of each name=value pair of a Cookie header,
// keeping names, order and separators.
func (r *Redactor) cookiePairs(v string, n *int) string {
	var b strings.Builder
	for i, part := range strings.Split(v, ";") {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(r.pairValue(part, n))
	}
	return b.String()
}

// setCookie hashes the cookie's value; the attributes (SameSite, Secure,
// Domain, ...) stay, the analyzer reads them.
func (r *Redactor) setCookie(v string, n *int) string {
	first, attrs, found := strings.Cut(v, ";")
	out := r.pairValue(first, n)
	if found {
		out += ";" + attrs
	}
	return out
}

// pairValue hashes what follows the first '=' of name=value (trimmed).
func (r *Redactor) pairValue(part string, n *int) string {
	eq := strings.IndexByte(part, '=')
	if eq < 0 {
		return part
	}
	// Only SP and HTAB surround a cookie value (RFC 6265): Unicode spaces
	// and stray bytes are part of it, and cutting inside a multi-byte
	// sequence would leave half of it outside the hash.
	val := part[eq+1:]
	trimmed := strings.TrimLeft(val, " \t")
	lead := val[:len(val)-len(trimmed)]
	trimmed = strings.TrimRight(trimmed, " \t")
	if trimmed == "" {
		return part
	}
	tail := val[len(lead)+len(trimmed):]
	return part[:eq+1] + lead + r.replace(trimmed, n) + tail
}

// secretParam reports query and form parameter (and JSON field) names that
// hold secrets by convention.
func secretParam(name string) bool {
	l := strings.ToLower(name)
	switch l {
	case "key", "sig", "code", "sid", "session", "auth", "jwt", "pass", "pwd", "otp", "ticket":
		return true
	}
	for _, s := range []string{"token", "secret", "passw", "passwd", "signature", "api_key", "apikey", "api-key",
		"sessionid", "session_id", "credential", "x-amz-security", "private_key", "auth_key"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// query hashes the values of secret parameters of a raw query string
// ("a=1&token=x"), keeping every other byte as it was.
func (r *Redactor) query(q string, n *int) string {
	if q == "" || !strings.Contains(q, "=") {
		return q
	}
	var b strings.Builder
	changed := false
	for i, part := range strings.Split(q, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		name, val, ok := strings.Cut(part, "=")
		if ok && val != "" && secretParam(unescapeName(name)) && !strings.HasPrefix(val, Prefix) {
			b.WriteString(name + "=" + r.replace(val, n))
			changed = true
			continue
		}
		b.WriteString(part)
	}
	if !changed {
		return q
	}
	return b.String()
}

// unescapeName decodes %XX and '+' in a parameter name, best effort.
func unescapeName(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// urlQuery redacts the query of a URL held in a header value (Referer,
// Location, Link, Refresh, :path), fragment kept.
func (r *Redactor) urlQuery(v string, n *int) string {
	q := strings.IndexByte(v, '?')
	if q < 0 {
		return v
	}
	end := len(v)
	if h := strings.IndexByte(v[q:], '#'); h >= 0 {
		end = q + h
	}
	if g := strings.IndexAny(v[q:end], "> "); g >= 0 { // Link: <url?x=y>; a request line's " HTTP/1.1"
		end = q + g
	}
	return v[:q+1] + r.query(v[q+1:end], n) + v[end:]
}

// body redacts form-encoded and JSON bodies; others pass unchanged.
func (r *Redactor) body(b []byte, contentType string, n *int) []byte {
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "application/x-www-form-urlencoded") || (ct == "" && looksLikeForm(b)):
		before := *n
		out := r.query(string(b), n)
		if *n == before {
			return b
		}
		return []byte(out)
	case strings.Contains(ct, "json") || looksLikeJSON(b):
		return r.json(b, n)
	}
	return b
}

func looksLikeJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// looksLikeForm reports a body without a Content-Type that reads as
// name=value pairs (HAR producers often keep the type only in postData).
func looksLikeForm(b []byte) bool {
	if len(b) == 0 || len(b) > 64<<10 {
		return false
	}
	eq := false
	for _, c := range b {
		switch {
		case c == '=':
			eq = true
		case c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '{' || c == '[':
			return false
		}
	}
	return eq
}

// pathParams hashes secret-named matrix parameters in a path
// ("/app;jsessionid=ABC").
func (r *Redactor) pathParams(p string, n *int) string {
	semi := strings.IndexByte(p, ';')
	if semi < 0 || !strings.Contains(p[semi:], "=") {
		return p
	}
	parts := strings.Split(p, ";")
	changed := false
	for i := 1; i < len(parts); i++ {
		seg := parts[i]
		end := strings.IndexByte(seg, '/') // the parameter ends where the next segment starts
		if end < 0 {
			end = len(seg)
		}
		name, val, ok := strings.Cut(seg[:end], "=")
		if !ok || val == "" || !secretParam(name) || strings.HasPrefix(val, Prefix) {
			continue
		}
		parts[i] = name + "=" + r.replace(val, n) + seg[end:]
		changed = true
	}
	if !changed {
		return p
	}
	return strings.Join(parts, ";")
}

// secretWords mark wire text quoted in a warning that may hold a secret.
var secretWords = []string{"cookie", "authorization", "token", "secret", "passw", "session", "api-key", "apikey", "api_key"}

// warning redacts wire text the parsers quote in warnings (malformed
// header or request lines, trailer fields): a quoted "Name: value" is
// redacted as that header, a quoted URL or request line by its query, and
// other quoted text naming a secret is hashed whole.
func (r *Redactor) warning(w string, n *int) string {
	if !strings.Contains(w, `"`) {
		return w
	}
	var b strings.Builder
	rest := w
	changed := false
	for {
		q := strings.IndexByte(rest, '"')
		if q < 0 {
			break
		}
		quoted, err := strconv.QuotedPrefix(rest[q:])
		if err != nil {
			break
		}
		text, _ := strconv.Unquote(quoted)
		red := r.wireText(text, n)
		b.WriteString(rest[:q])
		if red != text {
			b.WriteString(strconv.Quote(red))
			changed = true
		} else {
			b.WriteString(quoted)
		}
		rest = rest[q+len(quoted):]
	}
	if !changed {
		return w
	}
	b.WriteString(rest)
	return b.String()
}

func (r *Redactor) wireText(text string, n *int) string {
	if colon := strings.IndexByte(text, ':'); colon > 0 && isToken(text[:colon]) {
		h := storage.Headers{{Name: text[:colon], Value: strings.TrimLeft(text[colon+1:], " \t")}}
		before := *n
		r.headers(h, n)
		if *n != before {
			return text[:colon+1] + text[colon+1:len(text)-len(strings.TrimLeft(text[colon+1:], " \t"))] + h[0].Value
		}
	}
	if strings.Contains(text, "?") {
		before := *n
		out := r.urlQuery(text, n)
		if *n != before {
			return out
		}
	}
	if !strings.ContainsAny(strings.TrimSpace(text), "=: ") || strings.Contains(text, Prefix) {
		return text // a bare header name, or text redacted already
	}
	lower := strings.ToLower(text)
	for _, s := range secretWords {
		if strings.Contains(lower, s) {
			return r.replace(text, n)
		}
	}
	return text
}

// isToken reports whether s is an HTTP token (RFC 9110 tchar*): only then
// is "s: value" a header line. A URL such as "/?token=redacted:…" is not.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}
