package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/corscope/corscope/storage"
)

// originClasses are the policy model's origin classes; a suppression's
// origin may name one instead of an origin glob.
var originClasses = map[string]bool{
	"same-site": true, "foreign": true, "http": true, "null": true,
	"private": true, "user-content": true, "bypass": true,
}

// Expired reports whether the suppression has lapsed at now: it applies
// through the whole of its expiry day (UTC).
func (s *Suppression) Expired(now time.Time) bool {
	return !now.Before(s.Expires.AddDate(0, 0, 1))
}

// Matches reports whether the suppression covers finding f, ignoring expiry.
func (s *Suppression) Matches(f *storage.Finding) bool {
	if s.Rule != f.Rule {
		return false
	}
	if s.host != nil {
		target := strings.ToLower(f.Host)
		if !strings.Contains(s.Host, "://") {
			target = hostOnly(target) // a bare host name covers every scheme and port
		}
		if !s.host.MatchString(target) {
			return false
		}
	}
	if s.path != nil && !s.path.MatchString(findingPath(f)) {
		return false
	}
	if s.Origin != "" {
		if s.origin == nil { // an origin class
			return f.OriginClass == s.Origin
		}
		return s.origin.MatchString(f.Origin)
	}
	return true
}

// hostOnly strips scheme and port from "scheme://host[:port]".
func hostOnly(origin string) string {
	if i := strings.Index(origin, "://"); i >= 0 {
		origin = origin[i+3:]
	}
	if strings.HasPrefix(origin, "[") { // IPv6 literal
		if i := strings.IndexByte(origin, ']'); i >= 0 {
			return origin[:i+1]
		}
		return origin
	}
	if i := strings.IndexByte(origin, ':'); i >= 0 {
		return origin[:i]
	}
	return origin
}

// findingPath is the path template of f, or the path part of its endpoint.
func findingPath(f *storage.Finding) string {
	if f.PathTemplate != "" {
		return f.PathTemplate
	}
	p := f.Endpoint
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			return p[j:]
		}
		return "/"
	}
	return p
}

// Apply drops the findings an active suppression covers and returns the
// rest in their original order. Warnings name every expired suppression
// (its findings are kept and reported again) and every suppression that
// matched nothing. A nil Config keeps everything.
func (c *Config) Apply(fs []storage.Finding, now time.Time) (kept []storage.Finding, warnings []string) {
	kept, _, warnings = c.Split(fs, now)
	return kept, warnings
}

// Split is Apply that also returns the suppressed findings, each with
// Suppressed set to its suppression's reason, for reports that list them.
func (c *Config) Split(fs []storage.Finding, now time.Time) (kept, suppressed []storage.Finding, warnings []string) {
	if c == nil || len(c.Suppressions) == 0 {
		return fs, nil, nil
	}
	used := make([]int, len(c.Suppressions))
	kept = make([]storage.Finding, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		by := -1
		for j := range c.Suppressions {
			s := &c.Suppressions[j]
			if !s.Matches(f) {
				continue
			}
			used[j]++
			if !s.Expired(now) {
				by = j
				break
			}
		}
		if by < 0 {
			kept = append(kept, *f)
			continue
		}
		sf := *f
		sf.Suppressed = c.Suppressions[by].Reason
		suppressed = append(suppressed, sf)
	}
	for j := range c.Suppressions {
		s := &c.Suppressions[j]
		where := fmt.Sprintf("%s:%d:%d", c.Source, s.Line, s.Column)
		switch {
		case s.Expired(now):
			warnings = append(warnings, fmt.Sprintf("%s: suppression of %s (%q) expired on %s; %s reported again",
				where, s.Rule, s.Reason, s.Expires.Format(time.DateOnly), plural(used[j], "finding is", "findings are")))
		case used[j] == 0:
			warnings = append(warnings, fmt.Sprintf("%s: suppression of %s%s matched no finding; remove it or correct it",
				where, s.Rule, s.scope()))
		}
	}
	return kept, suppressed, warnings
}

// scope describes the suppression's narrowing for messages.
func (s *Suppression) scope() string {
	var parts []string
	if s.Host != "" {
		parts = append(parts, "host "+s.Host)
	}
	if s.Path != "" {
		parts = append(parts, "path "+s.Path)
	}
	if s.Origin != "" {
		parts = append(parts, "origin "+s.Origin)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
