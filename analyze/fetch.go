package analyze

import (
	"strings"

	"github.com/corscope/corscope/storage"
)

// This file emulates the Fetch standard's CORS decisions as Chromium makes
// them: which requests need a preflight, and whether a response is shared.

// Chrome's CORS error names (network::mojom::CorsError), used as
// storage.Verdict.Reason.
const (
	reasonMissingAllowOrigin       = "MissingAllowOriginHeader"
	reasonMultipleAllowOrigin      = "MultipleAllowOriginValues"
	reasonInvalidAllowOrigin       = "InvalidAllowOriginValue"
	reasonAllowOriginMismatch      = "AllowOriginMismatch"
	reasonWildcardNotAllowed       = "WildcardOriginNotAllowed"
	reasonInvalidAllowCredentials  = "InvalidAllowCredentials"
	reasonPreflightInvalidStatus   = "PreflightInvalidStatus"
	reasonInvalidAllowMethods      = "InvalidAllowMethodsPreflightResponse"
	reasonInvalidAllowHeaders      = "InvalidAllowHeadersPreflightResponse"
	reasonMethodDisallowed         = "MethodDisallowedByPreflightResponse"
	reasonHeaderDisallowed         = "HeaderDisallowedByPreflightResponse"
	reasonPreflightMissingAllowPNA = "PreflightMissingAllowPrivateNetwork"
	reasonPreflightInvalidAllowPNA = "PreflightInvalidAllowPrivateNetwork"
	reasonNoResponse               = "NoResponse"
)

// preflightReason maps an access-check error to its preflight variant.
func preflightReason(r string) string {
	switch r {
	case reasonMissingAllowOrigin:
		return "PreflightMissingAllowOriginHeader"
	case reasonMultipleAllowOrigin:
		return "PreflightMultipleAllowOriginValues"
	case reasonInvalidAllowOrigin:
		return "PreflightInvalidAllowOriginValue"
	case reasonAllowOriginMismatch:
		return "PreflightAllowOriginMismatch"
	case reasonInvalidAllowCredentials:
		return "PreflightInvalidAllowCredentials"
	case reasonWildcardNotAllowed:
		return "PreflightWildcardOriginNotAllowed"
	}
	return r
}

// checkAccess is the CORS check of one response, in Chromium's order.
// acao is the combined value of every ACAO field (", "-joined, as the
// Fetch standard's "get" does); acaoN the number of fields.
func checkAccess(reqOrigin, acao string, acaoN int, acac string, hasACAC, include bool) string {
	if acaoN == 0 {
		return reasonMissingAllowOrigin
	}
	if acao == "*" {
		if include {
			return reasonWildcardNotAllowed
		}
		return ""
	}
	if acao != reqOrigin {
		if strings.ContainsAny(acao, " ,") {
			return reasonMultipleAllowOrigin
		}
		if acao != "null" && !parseOrigin(acao).valid {
			return reasonInvalidAllowOrigin
		}
		return reasonAllowOriginMismatch
	}
	if include && (!hasACAC || acac != "true") {
		return reasonInvalidAllowCredentials
	}
	return ""
}

// isOKStatus: the Fetch standard's ok status.
func isOKStatus(s int) bool { return s >= 200 && s <= 299 }

// parseTokenList splits a header list value into tokens; ok is false when
// an element is not a token (the browser then fails the preflight).
func parseTokenList(v string) (out []string, ok bool) {
	ok = true
	forEachElement(v, func(p string) {
		if !isToken(p) {
			ok = false
		}
		if ok {
			out = append(out, p)
		}
	})
	return out, ok
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func isSafelistedMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "POST" }

// methodAllowed applies the preflight's method check.
func methodAllowed(method string, methods []string, include bool) bool {
	if isSafelistedMethod(method) {
		return true
	}
	for _, m := range methods {
		if m == method || m == "*" && !include {
			return true
		}
	}
	return false
}

// headerAllowed applies the preflight's header check to one lower-case
// header name. Authorization is never covered by "*".
func headerAllowed(name string, headers []string, include bool) bool {
	for _, h := range headers {
		if strings.EqualFold(h, name) || h == "*" && !include && name != "authorization" {
			return true
		}
	}
	return false
}

// browserControlled reports request headers that a page cannot set or that
// the browser and its network stack add themselves: they never appear in
// Access-Control-Request-Headers and never trigger a preflight.
func browserControlled(lower string) bool {
	if strings.HasPrefix(lower, ":") || strings.HasPrefix(lower, "sec-") || strings.HasPrefix(lower, "proxy-") {
		return true
	}
	switch lower {
	case "accept-charset", "accept-encoding", "access-control-request-headers",
		"access-control-request-method", "access-control-request-private-network",
		"connection", "content-length", "cookie", "cookie2", "date", "dnt", "expect",
		"host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer",
		"transfer-encoding", "upgrade", "via", "user-agent", "priority",
		"cache-control", "pragma", "if-none-match", "if-modified-since", "if-match",
		"if-unmodified-since", "if-range", "x-client-data", "purpose",
		"upgrade-insecure-requests", "authority", "x-forwarded-for", "x-forwarded-proto",
		"x-forwarded-host", "x-forwarded-port", "x-real-ip", "forwarded":
		return true
	}
	return false
}

// unsafeHeaderByte: the Fetch standard's CORS-unsafe request-header byte.
func unsafeHeaderByte(c byte) bool {
	if c < 0x20 && c != '\t' || c == 0x7f {
		return true
	}
	return strings.IndexByte("\"():<>?@[\\]{}", c) >= 0
}

func hasUnsafeByte(v string) bool {
	for i := 0; i < len(v); i++ {
		if unsafeHeaderByte(v[i]) {
			return true
		}
	}
	return false
}

// mimeEssence returns the lower-case type/subtype of a Content-Type value.
func mimeEssence(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.Trim(v, " \t"))
}

func isSafelistedContentType(v string) bool {
	if hasUnsafeByte(v) {
		return false
	}
	switch mimeEssence(v) {
	case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
		return true
	}
	return false
}

// safelistedValue applies the per-name value rules of the CORS-safelisted
// request-header definition.
func safelistedValue(lower, v string) (named, ok bool) {
	if len(v) > 128 {
		return lower == "accept" || lower == "accept-language" || lower == "content-language" ||
			lower == "content-type" || lower == "range", false
	}
	switch lower {
	case "accept":
		return true, !hasUnsafeByte(v)
	case "accept-language", "content-language":
		for i := 0; i < len(v); i++ {
			c := v[i]
			if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || strings.IndexByte(" *,-.;=", c) >= 0) {
				return true, false
			}
		}
		return true, true
	case "content-type":
		return true, isSafelistedContentType(v)
	case "range":
		return true, isSimpleRange(v)
	}
	return false, false
}

// isSimpleRange: "bytes=" start "-" [end], digits only.
func isSimpleRange(v string) bool {
	rest, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return false
	}
	start, end, ok := strings.Cut(rest, "-")
	if !ok || start == "" || !allDigits(start) || end != "" && !allDigits(end) {
		return false
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// unsafeRequestHeaders appends to dst the lower-case names of the request's
// CORS-unsafe headers (what a browser lists in ACRH), sorted and unique.
func unsafeRequestHeaders(dst []string, h storage.Headers) []string {
	total := 0
	start := len(dst)
	for _, f := range h {
		lower := asciiLower(f.Name)
		if browserControlled(lower) {
			continue
		}
		named, ok := safelistedValue(lower, f.Value)
		if named && ok {
			total += len(f.Value)
			continue
		}
		dst = appendUnique(dst, start, lower)
	}
	if total > 1024 {
		for _, f := range h {
			lower := asciiLower(f.Name)
			if named, _ := safelistedValue(lower, f.Value); named {
				dst = appendUnique(dst, start, lower)
			}
		}
	}
	sortStrings(dst[start:])
	return dst
}

func appendUnique(dst []string, start int, s string) []string {
	for _, x := range dst[start:] {
		if x == s {
			return dst
		}
	}
	return append(dst, s)
}

// sortStrings is an insertion sort: header lists are short.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// asciiLower lower-cases ASCII without allocating when s already is.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// parseRequestedHeaders turns an ACRH value into sorted lower-case names.
func parseRequestedHeaders(v string) []string {
	toks, _ := parseTokenList(v)
	for i, t := range toks {
		toks[i] = asciiLower(t)
	}
	sortStrings(toks)
	return toks
}

// subset reports whether every element of a (sorted) is in b (sorted).
func subset(a, b []string) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j >= len(b) || b[j] != x {
			return false
		}
	}
	return true
}
