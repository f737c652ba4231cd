package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/corscope/corscope/storage"
)

// MaxBaselineSize caps a baseline file (about 200k findings).
const MaxBaselineSize = 64 << 20

// baselineVersion is the file format version written and accepted.
const baselineVersion = 1

// Baseline is a set of accepted finding fingerprints: CI reports only
// findings whose fingerprint is not in it.
type Baseline struct {
	Fingerprints map[string]BaselineEntry
}

// BaselineEntry describes a fingerprint for people reviewing the file; only
// the key takes part in matching.
type BaselineEntry struct {
	Rule        string `json:"rule"`
	Severity    string `json:"severity,omitempty"`
	Endpoint    string `json:"endpoint,omitempty"`
	Method      string `json:"method,omitempty"`
	OriginClass string `json:"origin_class,omitempty"`
}

type baselineFile struct {
	Version      int                      `json:"version"`
	Tool         string                   `json:"tool"`
	Fingerprints map[string]BaselineEntry `json:"fingerprints"`
}

// LoadBaseline reads a baseline written by WriteBaseline.
func LoadBaseline(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	b, err := ReadBaseline(f)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	return b, nil
}

// ReadBaseline parses a baseline from r.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	lr := &io.LimitedReader{R: r, N: MaxBaselineSize + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	var bf baselineFile
	if err := dec.Decode(&bf); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("larger than %d bytes", MaxBaselineSize)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("offset %d: %v", se.Offset, err)
		}
		return nil, err
	}
	if bf.Version != baselineVersion {
		return nil, fmt.Errorf("unsupported version %d (want %d)", bf.Version, baselineVersion)
	}
	for fp := range bf.Fingerprints {
		if !isFingerprint(fp) {
			return nil, fmt.Errorf("%q is not a fingerprint (64 lower-case hex digits)", fp)
		}
	}
	if bf.Fingerprints == nil {
		bf.Fingerprints = map[string]BaselineEntry{}
	}
	return &Baseline{Fingerprints: bf.Fingerprints}, nil
}

// WriteBaseline writes the fingerprints of fs as a baseline file. The
// output is deterministic (keys sorted) so it diffs well in review.
// Findings without a fingerprint are skipped.
func WriteBaseline(w io.Writer, fs []storage.Finding) error {
	bf := baselineFile{Version: baselineVersion, Tool: "corscope", Fingerprints: make(map[string]BaselineEntry, len(fs))}
	for i := range fs {
		f := &fs[i]
		if f.Fingerprint == "" {
			continue
		}
		bf.Fingerprints[f.Fingerprint] = BaselineEntry{
			Rule: f.Rule, Severity: f.Severity, Endpoint: f.Endpoint, Method: f.Method, OriginClass: f.OriginClass,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(bf)
}

// New returns the findings of fs that the baseline does not contain, in
// order. A nil Baseline returns fs. Findings without a fingerprint are new.
func (b *Baseline) New(fs []storage.Finding) []storage.Finding {
	if b == nil {
		return fs
	}
	out := make([]storage.Finding, 0, len(fs))
	for i := range fs {
		if _, ok := b.Fingerprints[fs[i].Fingerprint]; ok && fs[i].Fingerprint != "" {
			continue
		}
		out = append(out, fs[i])
	}
	return out
}

func isFingerprint(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
