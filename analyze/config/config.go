// Package config reads corscope.yaml (trusted origins, suppressions with
// reason and expiry, baseline file) and applies it to analysis findings.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/corscope/corscope/analyze/catalog"
)

// MaxConfigSize caps corscope.yaml: a configuration file is hand-written and
// small; anything larger is a mistake or an attack on the YAML parser.
const MaxConfigSize = 1 << 20

// maxPatternLen bounds one regex or glob so that matching stays cheap.
const maxPatternLen = 1024

// DefaultName is the file corscope looks for when --config is not given.
const DefaultName = "corscope.yaml"

// Config is a parsed corscope.yaml.
type Config struct {
	// Source names the file in warnings and errors ("corscope.yaml").
	Source string
	// TrustedOrigins are origins (full-string regexes) the user declared
	// legitimate; the analyzer does not report them as findings.
	TrustedOrigins []TrustedOrigin
	Suppressions   []Suppression
	// Baseline is the baseline file as written in the config, resolved
	// against the config file's directory by BaselinePath.
	Baseline string
	// Browser whose preflight cache is emulated: chromium (default),
	// firefox or webkit (their Access-Control-Max-Age caps differ).
	Browser string

	dir string // directory of the config file, for relative paths
}

// TrustedOrigin is one trusted_origins entry.
type TrustedOrigin struct {
	Pattern string
	Line    int
	re      *regexp.Regexp
}

// Suppression silences findings of one rule, optionally narrowed to a host,
// a path glob and an origin, until it expires.
type Suppression struct {
	Rule   string
	Host   string // "https://cdn.example.com", "cdn.example.com" or a glob of either; "" any
	Path   string // glob over the finding's path template; "*" one segment, "**" any; "" any
	Origin string // glob over the finding's Origin, or an origin class ("foreign", "null", ...); "" any
	Reason string
	// Expires is the last day (UTC) the suppression applies; it lapses at
	// the end of that day.
	Expires time.Time
	Line    int
	Column  int

	host, path, origin *regexp.Regexp // compiled globs; nil matches anything
}

// Parse reads a configuration from bytes; errors name line and column.
func Parse(data []byte) (*Config, error) {
	return parse(DefaultName, data)
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	c.dir = filepath.Dir(path)
	return c, nil
}

// BaselinePath returns the baseline file resolved against the directory of
// the config file, or "" when none is configured.
func (c *Config) BaselinePath() string {
	if c == nil || c.Baseline == "" {
		return ""
	}
	if filepath.IsAbs(c.Baseline) || c.dir == "" {
		return c.Baseline
	}
	return filepath.Join(c.dir, c.Baseline)
}

// Trusted reports whether origin fully matches one of the trusted_origins
// patterns. A nil Config trusts nothing.
func (c *Config) Trusted(origin string) bool {
	if c == nil {
		return false
	}
	for i := range c.TrustedOrigins {
		if c.TrustedOrigins[i].re.MatchString(origin) {
			return true
		}
	}
	return false
}

// Regexp returns the compiled, fully anchored pattern.
func (t TrustedOrigin) Regexp() *regexp.Regexp { return t.re }

// TrustedRegexps returns the compiled trusted_origins patterns (anchored at
// both ends) for the analyzer; nil for a nil Config.
func (c *Config) TrustedRegexps() []*regexp.Regexp {
	if c == nil {
		return nil
	}
	out := make([]*regexp.Regexp, 0, len(c.TrustedOrigins))
	for _, t := range c.TrustedOrigins {
		if t.re != nil {
			out = append(out, t.re)
		}
	}
	return out
}

// parseError is a configuration error at a position in the file.
func parseError(src string, n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d:%d: %s", src, n.Line, n.Column, fmt.Sprintf(format, args...))
}

func parse(src string, data []byte) (c *Config, err error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", src, MaxConfigSize)
	}
	// yaml.v3 has panicked on hostile input before; a config error must
	// stay an error.
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%s: yaml parser failed: %v", src, r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Config{Source: src}, nil // an empty file configures nothing
		}
		return nil, fmt.Errorf("%s: %s", src, oneLine(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %s", src, oneLine(err))
		}
		return nil, parseError(src, &extra, "a second YAML document is not allowed")
	}
	c = &Config{Source: src}
	if len(doc.Content) == 0 {
		return c, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return c, nil
	}
	err = eachKey(src, root, "the configuration", func(key string, k, v *yaml.Node) error {
		switch key {
		case "trusted_origins":
			return c.parseTrusted(src, v)
		case "suppressions":
			return c.parseSuppressions(src, v)
		case "browser":
			s, err := scalar(src, v, key)
			if err != nil {
				return err
			}
			switch s {
			case "chromium", "firefox", "webkit":
				c.Browser = s
				return nil
			}
			return parseError(src, v, "browser: %q is not chromium, firefox or webkit", s)
		case "baseline":
			s, err := scalar(src, v, key)
			if err != nil {
				return err
			}
			if s == "" {
				return parseError(src, v, "baseline: empty file name")
			}
			c.Baseline = s
			return nil
		}
		return parseError(src, k, "unknown key %q (known: trusted_origins, suppressions, baseline)", key)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// oneLine keeps a parser error on one line for logs and CI annotations.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// eachKey walks a mapping node, rejecting aliases, merge keys, non-string
// keys and duplicates, and calls fn for each key in file order.
func eachKey(src string, n *yaml.Node, what string, fn func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return parseError(src, n, "%s must be a mapping of keys to values", what)
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			return parseError(src, k, "%s: keys must be plain names", what)
		}
		if seen[k.Value] {
			return parseError(src, k, "duplicate key %q", k.Value)
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			return parseError(src, v, "%s: YAML aliases are not supported", k.Value)
		}
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

// scalar returns a scalar value as a string; null becomes "".
func scalar(src string, n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", parseError(src, n, "%s: expected a single value", key)
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

func sequence(src string, n *yaml.Node, key string) ([]*yaml.Node, error) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil, nil
	case n.Kind != yaml.SequenceNode:
		return nil, parseError(src, n, "%s: expected a list", key)
	}
	for _, item := range n.Content {
		if item.Kind == yaml.AliasNode {
			return nil, parseError(src, item, "%s: YAML aliases are not supported", key)
		}
	}
	return n.Content, nil
}

func (c *Config) parseTrusted(src string, n *yaml.Node) error {
	items, err := sequence(src, n, "trusted_origins")
	if err != nil {
		return err
	}
	for _, item := range items {
		s, err := scalar(src, item, "trusted_origins")
		if err != nil {
			return err
		}
		if s == "" {
			return parseError(src, item, "trusted_origins: empty pattern")
		}
		if len(s) > maxPatternLen {
			return parseError(src, item, "trusted_origins: pattern longer than %d bytes", maxPatternLen)
		}
		// Anchor both ends: an unanchored "corp\.example" would trust
		// "https://corp.example.evil.tld", the very bug corscope reports.
		re, err := regexp.Compile(`^(?:` + s + `)$`)
		if err != nil {
			return parseError(src, item, "trusted_origins: bad regular expression %q: %s", s, oneLine(err))
		}
		c.TrustedOrigins = append(c.TrustedOrigins, TrustedOrigin{Pattern: s, Line: item.Line, re: re})
	}
	return nil
}

func (c *Config) parseSuppressions(src string, n *yaml.Node) error {
	items, err := sequence(src, n, "suppressions")
	if err != nil {
		return err
	}
	for _, item := range items {
		s := Suppression{Line: item.Line, Column: item.Column}
		haveExpires := false
		err := eachKey(src, item, "a suppression", func(key string, k, v *yaml.Node) error {
			val, err := scalar(src, v, key)
			if err != nil {
				return err
			}
			switch key {
			case "rule":
				if _, ok := catalog.Lookup(val); !ok {
					return parseError(src, v, "rule: unknown rule id %q (see corscope rules)", val)
				}
				s.Rule = val
			case "host":
				s.Host = strings.ToLower(strings.TrimSuffix(val, "/"))
				s.host, err = compileGlob(s.Host, '.')
			case "path":
				s.Path = val
				s.path, err = compileGlob(val, '/')
			case "origin":
				s.Origin = val
				if !originClasses[val] {
					s.origin, err = compileGlob(val, '.')
				}
			case "reason":
				s.Reason = strings.TrimSpace(val)
			case "expires":
				t, err := parseDate(val)
				if err != nil {
					return parseError(src, v, "expires: %s", oneLine(err))
				}
				s.Expires, haveExpires = t, true
			default:
				return parseError(src, k, "unknown key %q in a suppression (known: rule, host, path, origin, reason, expires)", key)
			}
			if err != nil {
				return parseError(src, v, "%s: %s", key, oneLine(err))
			}
			return nil
		})
		if err != nil {
			return err
		}
		switch {
		case s.Rule == "":
			return parseError(src, item, "suppression: rule is required")
		case s.Reason == "":
			return parseError(src, item, "suppression of %s: reason is required", s.Rule)
		case !haveExpires:
			return parseError(src, item, "suppression of %s: expires (YYYY-MM-DD) is required", s.Rule)
		}
		c.Suppressions = append(c.Suppressions, s)
	}
	return nil
}

// compileGlob turns a glob into an anchored regexp: "**" matches anything,
// "*" a run without sep, "?" one byte other than sep. RE2 keeps matching
// linear in the length of wire-supplied text. "" compiles to nil (any).
func compileGlob(p string, sep byte) (*regexp.Regexp, error) {
	if p == "" {
		return nil, nil
	}
	if len(p) > maxPatternLen {
		return nil, fmt.Errorf("pattern longer than %d bytes", maxPatternLen)
	}
	notSep := "[^" + regexp.QuoteMeta(string(sep)) + "]"
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '*' && i+1 < len(p) && p[i+1] == '*':
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString(notSep + "*")
		case p[i] == '?':
			b.WriteString(notSep)
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// parseDate accepts a calendar date (2027-01-31) or an RFC 3339 time; a
// date is normalised to midnight UTC.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		y, m, d := t.Date() // the day as written, whatever its offset
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
}
