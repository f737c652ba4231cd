package analyze

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/storage"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// xb builds test exchanges: xb{...}.ex(id) with headers as "Name: value".
type xb struct {
	method string
	url    string
	req    []string
	resp   []string
	status int
	at     time.Duration // offset from t0
	client string
	server string
	body   string
	pfID   int64
}

func hdrs(lines []string) storage.Headers {
	var h storage.Headers
	for _, l := range lines {
		pseudo := strings.HasPrefix(l, ":")
		n, v, _ := strings.Cut(strings.TrimPrefix(l, ":"), ":")
		if pseudo {
			n = ":" + n
		}
		h = append(h, storage.Header{Name: n, Value: strings.TrimPrefix(v, " ")})
	}
	return h
}

func (b xb) build(id int64) *storage.Exchange {
	u, err := url.Parse(b.url)
	if err != nil {
		panic(err)
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = storage.DefaultPort(u.Scheme)
	}
	method := b.method
	if method == "" {
		method = "GET"
	}
	status := b.status
	if status == 0 {
		status = 200
	}
	if status < 0 {
		status = 0
	}
	client := b.client
	if client == "" {
		client = "192.0.2.10:50000"
	}
	server := b.server
	if server == "" {
		server = "203.0.113.5:443"
	}
	ex := &storage.Exchange{
		ID: id, EntryIndex: -1, Method: method, Scheme: u.Scheme, Host: strings.ToLower(u.Hostname()), Port: port,
		Path: u.EscapedPath(), Query: u.RawQuery, Status: status,
		RequestHeaders: hdrs(b.req), ResponseHeaders: hdrs(b.resp),
		Started: t0.Add(b.at), Client: client, Server: server, TLS: u.Scheme == "https" || u.Scheme == "wss",
		Proto: storage.ProtoHTTP11, PreflightID: b.pfID,
	}
	if status != 0 {
		ex.RespStarted = ex.Started.Add(time.Millisecond)
		ex.Ended = ex.RespStarted
	}
	if b.body != "" {
		ex.RequestBody = []byte(b.body)
		ex.RequestBodySize = int64(len(b.body))
	}
	return ex
}

func run(t *testing.T, cfg Config, bs ...xb) *Result {
	t.Helper()
	exs := make([]*storage.Exchange, len(bs))
	for i, b := range bs {
		if b.at == 0 {
			b.at = time.Duration(i) * 10 * time.Millisecond
		}
		exs[i] = b.build(int64(i + 1))
	}
	res, err := AnalyzeSlice(context.Background(), exs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// worst returns the highest severity reported for rule, or "".
func worst(res *Result, rule string) string {
	best := ""
	for _, f := range res.Findings {
		if f.Rule == rule && storage.SeverityRank(f.Severity) > storage.SeverityRank(best) {
			best = f.Severity
		}
	}
	return best
}

func findingsOf(res *Result, rule string) []storage.Finding {
	var out []storage.Finding
	for _, f := range res.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func dump(res *Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString("  " + f.Severity + " " + f.Rule + " " + f.Endpoint + " " + f.Method + " " + f.OriginClass + " ids=" + idsString(f.Exchanges) + " (" + f.Detail + ")\n")
	}
	return b.String()
}

func idsString(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
