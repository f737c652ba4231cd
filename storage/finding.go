package storage

import "time"

// Severities, most severe first.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
	SeverityInfo     = "info"
)

// SeverityRank orders severities: critical 5 … info 1, unknown 0.
func SeverityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 5
	case SeverityHigh:
		return 4
	case SeverityMedium:
		return 3
	case SeverityLow:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// Finding is one grouped result of a rule: one per (rule, host, path
// template, origin class), listing every exchange that supports it.
type Finding struct {
	ID           int64
	RunID        int64
	Fingerprint  string // sha256(rule|host|method|path template|origin class), hex
	Rule         string
	Severity     string
	Title        string
	Host         string // target origin, scheme://host[:port]
	Endpoint     string // host + path template
	PathTemplate string
	Method       string
	Origin       string // a representative request Origin
	OriginClass  string
	Exchanges    []int64
	Evidence     []string // exact header lines
	CWE          int      // 0 when the rule has none
	Remediation  string
	Detail       string // why this severity: modifiers applied, context
	Suppressed   string // reason when a suppression matched (kept for reports)
}

// AllowedOrigin is one origin a host was seen to allow.
type AllowedOrigin struct {
	Origin      string `json:"origin"`
	Class       string `json:"class"`
	Credentials bool   `json:"credentials"`
	Exchanges   int    `json:"exchanges"`
}

// HostPolicy is the analyzer's inferred CORS policy of one target origin.
type HostPolicy struct {
	Host           string          `json:"origin"`
	AllowedOrigins []AllowedOrigin `json:"allowed_origins"`
	Wildcard       bool            `json:"wildcard"`
	ReflectAny     bool            `json:"reflect_any"`
	Credentials    bool            `json:"credentials"`
	VaryOrigin     string          `json:"vary_origin"` // "always", "never", "mixed", ""
	Inconsistent   []string        `json:"inconsistent_endpoints,omitempty"`
	Exchanges      int             `json:"exchanges"`
}

// Verdict is what a browser would have decided for one exchange's CORS
// check: shared with the page or not, and why (Chrome's error names).
type Verdict struct {
	ExchangeID int64
	Shared     bool
	Reason     string // "" when shared; e.g. "MissingAllowOriginHeader"
}

// Pairing links a preflight to one actual request it authorised.
type Pairing struct {
	PreflightID int64
	ActualID    int64
	Kind        string // "direct", "cached" (served from the preflight cache), "hint" (producer link)
}

// Run is one analysis run. Findings of a newer run replace the older ones.
type Run struct {
	ID       int64
	Started  time.Time
	Finished time.Time
	Version  string
	Stats    map[string]int64
}
