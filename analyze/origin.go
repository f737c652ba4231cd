package analyze

import (
	"net"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// originClass classifies a request Origin (or an ACAO value) relative to
// the target origin T. The string forms are part of the JSON contract.
type originClass uint8

const (
	classNone originClass = iota // no Origin on the request
	classSameOrigin
	classSameSite
	classForeign
	classHTTP
	classNull
	classPrivate
	classUserContent
	classBypass
	classInvalid
	classAny // ACAO "*": the request's origin does not matter
)

var classNames = [...]string{
	classNone:        "none",
	classSameOrigin:  "same-origin",
	classSameSite:    "same-site",
	classForeign:     "foreign",
	classHTTP:        "http",
	classNull:        "null",
	classPrivate:     "private",
	classUserContent: "user-content",
	classBypass:      "bypass",
	classInvalid:     "invalid",
	classAny:         "any",
}

func (c originClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// crossSite reports whether trusting an origin of this class gives a
// different site access (SameSite cookies then matter).
func (c originClass) crossSite() bool {
	switch c {
	case classNone, classSameOrigin, classSameSite, classAny:
		return false
	}
	return true
}

// origin is a parsed serialized origin: scheme "://" host [":" port].
type origin struct {
	scheme, host string
	port         int // explicit or default
	explicitPort bool
	valid        bool // origin syntax
	canonical    bool // byte-equal to its own serialization
}

// parseOrigin parses s as a serialized origin. It never panics; valid is
// false for anything that is not scheme://host[:port] with a host free of
// the URL standard's forbidden domain code points.
func parseOrigin(s string) origin {
	var o origin
	i := strings.Index(s, "://")
	if i <= 0 {
		return o
	}
	scheme := s[:i]
	for j := 0; j < len(scheme); j++ {
		c := scheme[j]
		alpha := c|0x20 >= 'a' && c|0x20 <= 'z'
		if !(alpha || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return o
		}
	}
	rest := s[i+3:]
	host := rest
	portStr := ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return o
		}
		host = rest[:end+1]
		if ip := net.ParseIP(rest[1:end]); ip == nil || ip.To4() != nil && !strings.Contains(rest[1:end], ":") {
			return o
		}
		after := rest[end+1:]
		if after != "" {
			if after[0] != ':' {
				return o
			}
			portStr = after[1:]
			o.explicitPort = true
		}
	} else {
		if c := strings.LastIndexByte(rest, ':'); c >= 0 {
			host, portStr = rest[:c], rest[c+1:]
			o.explicitPort = true
		}
		if host == "" {
			return o
		}
		for j := 0; j < len(host); j++ {
			if forbiddenDomainByte(host[j]) {
				return o
			}
		}
	}
	o.scheme, o.host = scheme, host
	if o.explicitPort {
		if portStr == "" || len(portStr) > 5 {
			return o
		}
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 0 || p > 65535 || portStr[0] == '+' || portStr[0] == '-' {
			return o
		}
		o.port = p
	} else {
		o.port = defaultPort(strings.ToLower(scheme))
	}
	o.valid = true
	o.canonical = scheme == strings.ToLower(scheme) && host == strings.ToLower(host) &&
		!strings.ContainsAny(host, "*") &&
		!(o.explicitPort && (portStr != strconv.Itoa(o.port) || o.port == defaultPort(scheme))) &&
		!strings.HasSuffix(host, ".")
	return o
}

// forbiddenDomainByte: C0 controls, space, DEL, non-ASCII handled as bytes
// ≥ 0x80 being allowed (IDNs arrive punycoded on the wire, raw UTF-8 is odd
// but not forbidden), and the URL standard's forbidden host code points plus
// '%', which cannot survive host parsing.
func forbiddenDomainByte(c byte) bool {
	if c <= 0x20 || c == 0x7f {
		return true
	}
	switch c {
	case '#', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|', '%':
		return true
	}
	return false
}

func defaultPort(scheme string) int {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	}
	return 0
}

// hostname returns the host without IPv6 brackets.
func (o origin) hostname() string {
	return strings.TrimSuffix(strings.TrimPrefix(o.host, "["), "]")
}

// registrableDomain returns eTLD+1 of host, or host itself for IP literals,
// single labels and public suffixes (they are their own site).
func registrableDomain(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || net.ParseIP(strings.Trim(host, "[]")) != nil || !strings.Contains(host, ".") {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}

// userContentDomains are registrable domains where anyone can publish
// pages, beyond the public suffix list's private section.
var userContentDomains = map[string]bool{
	"github.io": true, "githubusercontent.com": true, "codepen.io": true, "cdpn.io": true,
	"jsfiddle.net": true, "jsbin.com": true, "repl.it": true, "repl.co": true, "replit.dev": true,
	"glitch.me": true, "stackblitz.io": true, "codesandbox.io": true, "csb.app": true,
	"gitlab.io": true, "netlify.app": true, "vercel.app": true, "pages.dev": true,
	"herokuapp.com": true, "firebaseapp.com": true, "web.app": true, "blogspot.com": true,
	"surge.sh": true, "ngrok.io": true, "ngrok-free.app": true, "azurewebsites.net": true,
	"appspot.com": true, "s3.amazonaws.com": true, "amazonaws.com": true, "googleusercontent.com": true,
}

// isUserContentHost reports whether host sits under a domain where anyone
// can publish: a PSL private-section suffix or one of the named hosts.
func isUserContentHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return false
	}
	if suffix, icann := publicsuffix.PublicSuffix(host); !icann && strings.Contains(suffix, ".") {
		return true
	}
	for h := host; h != ""; {
		if userContentDomains[h] {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return false
}

// isPrivateHost reports loopback, RFC 1918, link-local, unique-local
// addresses and names that only resolve locally (localhost, .local).
func isPrivateHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip := net.ParseIP(host); ip != nil {
		return isPrivateIP(ip)
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local")
}

func isPrivateIP(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
}

// isIntranetHost reports names that only make sense inside a network:
// single labels, .local, .internal, .lan, .corp, .home.arpa, private IPs.
func isIntranetHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if h == "" {
		return false
	}
	if ip := net.ParseIP(h); ip != nil {
		return isPrivateIP(ip)
	}
	if !strings.Contains(h, ".") {
		return true
	}
	for _, s := range []string{".local", ".localhost", ".internal", ".lan", ".corp", ".intranet", ".home.arpa", ".localdomain"} {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

// bypassSpecial are bytes some browsers accepted in hosts and that
// hand-written origin checks (regex, prefix, suffix) forget.
const bypassSpecial = "_`$~!'()*+,;=&{}\""

// isBypassShaped reports an origin host that contains the target's host,
// registrable domain or its leading label, but belongs to another
// registrable domain: what prefix/suffix/substring/unescaped-dot checks let
// through.
func isBypassShaped(oHost, oReg, tHost, tReg string) bool {
	if oReg == tReg || tReg == "" {
		return false
	}
	oHost = strings.ToLower(oHost)
	if strings.Contains(oHost, tHost) || strings.Contains(oHost, tReg) {
		return true
	}
	// Unescaped dot in a regex: www.example.com matches wwwxexample.com.
	if dotWildcardMatch(oHost, tHost) || dotWildcardMatch(oHost, tReg) {
		return true
	}
	label := tReg
	if i := strings.IndexByte(label, '.'); i > 0 {
		label = label[:i]
	}
	if len(label) >= 4 && strings.Contains(oHost, label) && strings.ContainsAny(oHost, bypassSpecial) {
		return true
	}
	// Prefix check: "https://example.com" matched as a prefix of
	// "https://example.company.tld" is covered above; a label-prefix like
	// example.attacker.tld needs the label to be distinctive.
	if len(label) >= 5 && (strings.HasPrefix(oHost, label+".") || strings.HasPrefix(oHost, label+"-")) {
		return true
	}
	return false
}

// dotWildcardMatch reports whether pattern, with each '.' read as any byte,
// occurs in s with at least one dot replaced by another byte.
func dotWildcardMatch(s, pattern string) bool {
	if !strings.Contains(pattern, ".") || len(pattern) > len(s) {
		return false
	}
	for i := 0; i+len(pattern) <= len(s); i++ {
		replaced := false
		ok := true
		for j := 0; j < len(pattern); j++ {
			c := s[i+j]
			if pattern[j] == '.' {
				if c != '.' {
					replaced = true
				}
				continue
			}
			if c != pattern[j] {
				ok = false
				break
			}
		}
		if ok && replaced {
			return true
		}
	}
	return false
}

// isProbeShaped reports origins that scanners and attackers use to test
// reflection: evil/attacker names, example domains, random-looking labels.
func isProbeShaped(host, reg string) bool {
	h := strings.ToLower(host)
	if strings.Contains(h, "evil") || strings.Contains(h, "attacker") {
		return true
	}
	switch reg {
	case "example.com", "example.org", "example.net":
		return true
	}
	return probeLabels(h)
}

// probeLabels reports evil/attacker names and random-looking labels.
func probeLabels(h string) bool {
	h = strings.ToLower(h)
	if strings.Contains(h, "evil") || strings.Contains(h, "attacker") {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if isRandomLabel(label) {
			return true
		}
	}
	return false
}

// isRandomLabel reports labels that look generated: long mixes of digits
// and letters, or long hex strings.
func isRandomLabel(l string) bool {
	if len(l) < 8 {
		return false
	}
	digits, letters, hex := 0, 0, 0
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'z':
			letters++
			if c <= 'f' {
				hex++
			}
		}
	}
	if hex == len(l) && len(l) >= 12 && digits > 0 {
		return true
	}
	return digits >= 3 && letters >= 3 && digits+letters == len(l) && len(l) >= 10
}

// targetInfo caches what rules need to know about a target origin.
type targetInfo struct {
	origin   string // scheme://host[:port]
	scheme   string // http or https (ws mapped)
	hostname string
	reg      string // registrable domain
	intranet bool
}

// classify places origin o (the request's Origin or an ACAO value) relative
// to the target t. probe is set for probe-shaped foreign origins.
func classify(raw string, t *targetInfo) (cls originClass, reg string, probe bool) {
	if raw == "null" {
		return classNull, "", false
	}
	if raw == t.origin {
		return classSameOrigin, t.reg, false
	}
	o := parseOrigin(raw)
	if !o.valid {
		return classInvalid, "", false
	}
	h := strings.ToLower(o.hostname())
	reg = registrableDomain(h)
	scheme := strings.ToLower(o.scheme)
	switch {
	case reg == t.reg && scheme == t.scheme:
		return classSameSite, reg, false
	case isPrivateHost(h):
		return classPrivate, reg, false
	case isBypassShaped(h, reg, t.hostname, t.reg):
		return classBypass, reg, true
	case reg != t.reg && isUserContentHost(h):
		return classUserContent, reg, false
	case t.scheme == "https" && scheme == "http":
		return classHTTP, reg, reg != t.reg && isProbeShaped(h, reg)
	}
	return classForeign, reg, isProbeShaped(h, reg)
}
