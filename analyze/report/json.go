package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/corscope/corscope/storage"
)

// The JSON shapes below are the stable contract of spec/cli.md; fields are
// only ever added.

type jsonReport struct {
	Tool     jsonTool         `json:"tool"`
	Inputs   []jsonInput      `json:"inputs"`
	Stats    map[string]int64 `json:"stats"`
	Hosts    []jsonHost       `json:"hosts"`
	Findings []jsonFinding    `json:"findings"`
	Warnings []string         `json:"warnings"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonInput struct {
	Path      string   `json:"path"`
	Format    string   `json:"format"`
	SHA256    string   `json:"sha256"`
	Exchanges int64    `json:"exchanges"`
	Warnings  []string `json:"warnings"`
}

type jsonHost struct {
	Origin         string              `json:"origin"`
	AllowedOrigins []jsonAllowedOrigin `json:"allowed_origins"`
	Wildcard       bool                `json:"wildcard"`
	ReflectAny     bool                `json:"reflect_any"`
	Credentials    bool                `json:"credentials"`
	VaryOrigin     string              `json:"vary_origin,omitempty"`
	Inconsistent   []string            `json:"inconsistent_endpoints,omitempty"`
	Exchanges      int                 `json:"exchanges"`
}

type jsonAllowedOrigin struct {
	Origin      string `json:"origin"`
	Class       string `json:"class"`
	Credentials bool   `json:"credentials"`
	Exchanges   int    `json:"exchanges,omitempty"`
}

type jsonFinding struct {
	Fingerprint string   `json:"fingerprint"`
	Rule        string   `json:"rule"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Endpoint    string   `json:"endpoint"`
	Method      string   `json:"method"`
	Origin      string   `json:"origin"`
	OriginClass string   `json:"origin_class,omitempty"`
	Exchanges   []int64  `json:"exchanges"`
	Evidence    []string `json:"evidence"`
	CWE         int      `json:"cwe"`
	Remediation string   `json:"remediation"`
	Detail      string   `json:"detail,omitempty"`
	Suppressed  string   `json:"suppressed,omitempty"`
}

func toJSONFinding(f *storage.Finding, verbose bool) jsonFinding {
	ex := f.Exchanges
	if ex == nil {
		ex = []int64{}
	}
	return jsonFinding{
		Fingerprint: f.Fingerprint, Rule: f.Rule, Severity: f.Severity, Title: f.Title,
		Endpoint: redactURL(f.Endpoint, verbose), Method: f.Method, Origin: f.Origin, OriginClass: f.OriginClass,
		Exchanges: ex, Evidence: evidence(f, verbose), CWE: f.CWE, Remediation: f.Remediation,
		Detail: f.Detail, Suppressed: f.Suppressed,
	}
}

// jsonHead is the report without findings; findings are streamed.
func jsonHead(r *Report) *jsonReport {
	out := &jsonReport{
		Tool:     jsonTool{Name: "corscope", Version: r.ToolVersion},
		Inputs:   make([]jsonInput, 0, len(r.Inputs)),
		Stats:    make(map[string]int64, len(StatKeys)+len(r.Stats)),
		Hosts:    make([]jsonHost, 0, len(r.Hosts)),
		Findings: []jsonFinding{},
		Warnings: nonNil(r.Warnings),
	}
	for _, in := range r.Inputs {
		out.Inputs = append(out.Inputs, jsonInput{Path: in.Path, Format: in.Format, SHA256: in.SHA256, Exchanges: in.Exchanges, Warnings: nonNil(in.Warnings)})
	}
	for _, k := range StatKeys {
		out.Stats[k] = 0
	}
	for k, v := range r.Stats {
		out.Stats[k] = v
	}
	for _, h := range r.Hosts {
		jh := jsonHost{
			Origin: h.Host, AllowedOrigins: make([]jsonAllowedOrigin, 0, len(h.AllowedOrigins)),
			Wildcard: h.Wildcard, ReflectAny: h.ReflectAny, Credentials: h.Credentials,
			VaryOrigin: h.VaryOrigin, Inconsistent: h.Inconsistent, Exchanges: h.Exchanges,
		}
		for _, a := range h.AllowedOrigins {
			jh.AllowedOrigins = append(jh.AllowedOrigins, jsonAllowedOrigin{Origin: a.Origin, Class: a.Class, Credentials: a.Credentials, Exchanges: a.Exchanges})
		}
		out.Hosts = append(out.Hosts, jh)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeJSON writes the indented report, encoding one finding at a time so
// a large report never exists twice in memory.
func writeJSON(w io.Writer, r *Report, opt Options) error {
	head, err := json.MarshalIndent(jsonHead(r), "", "  ")
	if err != nil {
		return err
	}
	// Split the head at its empty findings array and stream the findings
	// in between.
	const marker = `"findings": []`
	i := bytes.Index(head, []byte(marker))
	if i < 0 {
		return errors.New("report: findings marker missing in JSON head")
	}
	bw := bufio.NewWriter(w)
	bw.Write(head[:i])
	fs := sorted(r.Findings)
	if len(fs) == 0 {
		bw.WriteString(marker)
	} else {
		bw.WriteString(`"findings": [`)
		for n, f := range fs {
			b, err := json.MarshalIndent(toJSONFinding(f, opt.Verbose), "    ", "  ")
			if err != nil {
				return err
			}
			if n > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n    ")
			bw.Write(b)
		}
		bw.WriteString("\n  ]")
	}
	bw.Write(head[i+len(marker):])
	bw.WriteByte('\n')
	return bw.Flush()
}

// writeNDJSON prints one finding object a line, in report order.
func writeNDJSON(w io.Writer, r *Report, opt Options) error {
	enc := json.NewEncoder(w) // Encode ends each value with '\n'
	for _, f := range sorted(r.Findings) {
		if err := enc.Encode(toJSONFinding(f, opt.Verbose)); err != nil {
			return err
		}
	}
	return nil
}
