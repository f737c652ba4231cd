package config

import (
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/analyze/catalog"
	"github.com/corscope/corscope/storage"
)

// FuzzLoad feeds arbitrary bytes to the parser: it must never panic, its
// errors are one line, and whatever it accepts is a usable configuration.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte("suppressions:\n  - rule: cors-wildcard\n    reason: x\n    expires: 2027-01-01\n    path: /a/**\n    origin: null\n"))
	f.Add([]byte("trusted_origins: ['(a|b)*c']\n"))
	f.Add([]byte("x: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		for _, s := range c.Suppressions {
			if s.Reason == "" || s.Expires.IsZero() {
				t.Fatalf("accepted a suppression without reason or expiry: %+v", s)
			}
			if _, ok := catalog.Lookup(s.Rule); !ok {
				t.Fatalf("accepted unknown rule %q", s.Rule)
			}
		}
		f := storage.Finding{Rule: "cors-wildcard", Host: "https://h.example:8443", Endpoint: "https://h.example:8443/a/b", Origin: "null", OriginClass: "null"}
		c.Apply([]storage.Finding{f}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		c.Trusted("https://h.example")
	})
}
