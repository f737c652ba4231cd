package config_test

import (
	"fmt"
	"time"

	"github.com/corscope/corscope/analyze/config"
	"github.com/corscope/corscope/storage"
)

func ExampleConfig_Apply() {
	c, err := config.Parse([]byte(`
trusted_origins: ['https://([a-z0-9-]+\.)?corp\.example']
suppressions:
  - rule: cors-wildcard
    host: https://cdn.example.com
    reason: public CDN, no cookies
    expires: 2027-01-31
  - rule: cors-null-trusted
    reason: old exception
    expires: 2026-01-31
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	findings := []storage.Finding{
		{Rule: "cors-wildcard", Host: "https://cdn.example.com", Endpoint: "https://cdn.example.com/app.js"},
		{Rule: "cors-wildcard", Host: "https://api.example.com", Endpoint: "https://api.example.com/v1"},
	}
	kept, warnings := c.Apply(findings, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	for _, f := range kept {
		fmt.Println("kept:", f.Endpoint)
	}
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}
	fmt.Println(c.Trusted("https://app.corp.example"), c.Trusted("https://corp.example.evil"))
	// Output:
	// kept: https://api.example.com/v1
	// warning: corscope.yaml:8:5: suppression of cors-null-trusted ("old exception") expired on 2026-01-31; 0 findings are reported again
	// true false
}
