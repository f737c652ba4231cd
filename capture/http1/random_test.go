package http1

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/corscope/corscope/storage"
)

// genExchange is one generated exchange and the result the parser must give.
type genExchange struct {
	req, resp  string
	method     string
	path       string
	status     int
	reqBody    string
	respBody   string
	closeAfter bool // the response is close-delimited: last on the connection
}

func randBody(r *rand.Rand, max int) string {
	n := r.IntN(max + 1)
	b := make([]byte, n)
	for i := range b {
		const alphabet = "abcdefghij\r\n {}<>HTTP/1.1 200"
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func chunked(r *rand.Rand, body string, trailers bool) string {
	var b strings.Builder
	for len(body) > 0 {
		n := 1 + r.IntN(len(body))
		fmt.Fprintf(&b, "%x", n)
		if r.IntN(3) == 0 {
			b.WriteString(";ext=1")
		}
		b.WriteString("\r\n" + body[:n] + "\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n")
	if trailers {
		b.WriteString("X-Trailer: t\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func genConn(r *rand.Rand, n int) []genExchange {
	methods := []string{"GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE"}
	statuses := []int{200, 201, 204, 304, 404, 500}
	var out []genExchange
	for i := 0; i < n; i++ {
		g := genExchange{method: methods[r.IntN(len(methods))], path: fmt.Sprintf("/p%d", i)}
		var req strings.Builder
		fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: example.com\r\nOrigin: https://o%d.test\r\n", g.method, g.path, i)
		if g.method == "POST" || g.method == "PUT" {
			g.reqBody = randBody(r, 300)
			if r.IntN(2) == 0 {
				fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n%s", len(g.reqBody), g.reqBody)
			} else {
				req.WriteString("Transfer-Encoding: chunked\r\n\r\n" + chunked(r, g.reqBody, false))
			}
		} else {
			req.WriteString("\r\n")
		}
		g.req = req.String()

		g.status = statuses[r.IntN(len(statuses))]
		var resp strings.Builder
		if r.IntN(6) == 0 {
			resp.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		}
		fmt.Fprintf(&resp, "HTTP/1.1 %d Status\r\nAccess-Control-Allow-Origin: *\r\naccess-control-allow-origin: *\r\n", g.status)
		noBody := g.method == "HEAD" || g.status == 204 || g.status == 304
		body := randBody(r, 500)
		switch {
		case i == n-1 && r.IntN(3) == 0 && !noBody:
			g.closeAfter = true
			g.respBody = body
			resp.WriteString("\r\n" + body)
		case r.IntN(2) == 0:
			fmt.Fprintf(&resp, "Content-Length: %d\r\n\r\n", len(body))
			if !noBody {
				g.respBody = body
				resp.WriteString(body)
			}
		default:
			resp.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			if !noBody {
				g.respBody = body
				resp.WriteString(chunked(r, body, r.IntN(3) == 0))
			}
		}
		g.resp = resp.String()
		out = append(out, g)
	}
	return out
}

func randomSplit(r *rand.Rand) func([]byte) [][]byte {
	return func(b []byte) [][]byte {
		var out [][]byte
		for len(b) > 0 {
			n := 1 + r.IntN(min(len(b), 200))
			out = append(out, b[:n])
			b = b[n:]
		}
		return out
	}
}

// TestRandomConnections generates keep-alive and pipelined connections with
// every framing, feeds them in random segments, optionally loses whole
// responses, and compares with what was generated.
func TestRandomConnections(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		gen := genConn(r, 2+r.IntN(12))
		pipelined := seed%3 == 0
		lose, loseReq := -1, -1
		if !pipelined && seed%2 == 0 && len(gen) > 2 {
			lose = 1 + r.IntN(len(gen)-2) // never the last: its loss is indistinguishable from a late answer
		}
		if !pipelined && seed%5 == 1 && len(gen) > 2 {
			// A lost request: its response is emitted alone. Not a HEAD,
			// whose response cannot be framed without it.
			if k := 1 + r.IntN(len(gen)-2); gen[k].method != "HEAD" && k != lose {
				loseReq = k
			}
		}
		var steps []step
		if pipelined {
			var reqs, resps strings.Builder
			for _, g := range gen {
				reqs.WriteString(g.req)
				resps.WriteString(g.resp)
			}
			steps = []step{C(reqs.String()), S(resps.String())}
		} else {
			for i, g := range gen {
				if i == loseReq {
					steps = append(steps, LostC(g.req))
				} else {
					steps = append(steps, C(g.req))
				}
				if i == lose {
					steps = append(steps, LostS(g.resp))
				} else {
					steps = append(steps, S(g.resp))
				}
			}
		}
		xs := run(steps, randomSplit(r), Options{})
		if err := compareGen(gen, xs, lose, loseReq); err != "" {
			t.Fatalf("seed %d (pipelined %v, lost response %d, lost request %d): %s\n%s", seed, pipelined, lose, loseReq, err, summary(xs))
		}
	}
}

func compareGen(gen []genExchange, xs []*storage.Exchange, lost, lostReq int) string {
	if len(xs) != len(gen) {
		return fmt.Sprintf("%d exchanges, want %d", len(xs), len(gen))
	}
	for i, g := range gen {
		x := xs[i]
		if i == lostReq {
			if x.Method != "" || x.Status != g.status || string(x.ResponseBody) != g.respBody || len(x.Warnings) == 0 || x.Warnings[0] != WarnRequestMissing {
				return fmt.Sprintf("exchange %d with lost request: %q %d %q", i, x.Method, x.Status, x.Warnings)
			}
			continue
		}
		if x.Method != g.method || x.Path != g.path || string(x.RequestBody) != g.reqBody {
			return fmt.Sprintf("exchange %d request: %s %s %q", i, x.Method, x.Path, x.RequestBody)
		}
		if i == lost {
			if x.Status != 0 || len(x.Warnings) != 1 || x.Warnings[0] != WarnResponseLost {
				return fmt.Sprintf("lost exchange %d: status %d warnings %q", i, x.Status, x.Warnings)
			}
			continue
		}
		if x.Status != g.status || string(x.ResponseBody) != g.respBody || x.ResponseHeaders.Count("Access-Control-Allow-Origin") != 2 {
			return fmt.Sprintf("exchange %d response: %d %q, want %d %q", i, x.Status, x.ResponseBody, g.status, g.respBody)
		}
		for _, w := range x.Warnings {
			if !strings.HasPrefix(w, "interim response 100") && !strings.HasPrefix(w, "trailer fields:") {
				return fmt.Sprintf("exchange %d: unexpected warning %q", i, w)
			}
		}
	}
	return ""
}

// TestRandomServerLoss drops a random byte range from one response of a
// keep-alive connection (status line, headers or body) and checks that no
// exchange is silently mis-paired: every request is still there, in
// order; any status found belongs to that request; and an exchange
// without warnings is exactly what was sent.
func TestRandomServerLoss(t *testing.T) {
	for seed := uint64(1); seed <= 800; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		gen := genConn(r, 3+r.IntN(8))
		k := r.IntN(len(gen) - 1)
		resp := gen[k].resp
		from := r.IntN(len(resp))
		to := from + 1 + r.IntN(len(resp)-from)
		var steps []step
		for i, g := range gen {
			steps = append(steps, C(g.req))
			if i != k {
				steps = append(steps, S(g.resp))
				continue
			}
			if from > 0 {
				steps = append(steps, S(resp[:from]))
			}
			steps = append(steps, LostS(resp[from:to]))
			if to < len(resp) {
				steps = append(steps, S(resp[to:]))
			}
		}
		xs := run(steps, randomSplit(r), Options{})
		fail := func(format string, args ...any) {
			t.Fatalf("seed %d, response %d bytes %d..%d of %d lost: %s\n%s", seed, k, from, to, len(resp), fmt.Sprintf(format, args...), summary(xs))
		}
		if len(xs) != len(gen) {
			fail("%d exchanges, want %d", len(xs), len(gen))
		}
		for i, g := range gen {
			x := xs[i]
			if x.Method != g.method || x.Path != g.path {
				fail("exchange %d is %s %s", i, x.Method, x.Path)
			}
			if x.Status != 0 && x.Status != g.status {
				fail("exchange %d has status %d, sent %d", i, x.Status, g.status)
			}
			clean := true
			for _, w := range x.Warnings {
				if !strings.HasPrefix(w, "interim response 100") && !strings.HasPrefix(w, "trailer fields:") {
					clean = false
				}
			}
			if clean && (x.Status != g.status || string(x.ResponseBody) != g.respBody) {
				fail("exchange %d has no warning but differs", i)
			}
			if i != k && !clean && i != k+1 {
				fail("exchange %d far from the loss has warnings %q", i, x.Warnings)
			}
		}
	}
}

// TestRandomClientLoss drops a random byte range from one request of a
// keep-alive connection: every response must still be there once, the
// exchanges away from the loss exact, and nothing mis-paired.
func TestRandomClientLoss(t *testing.T) {
	for seed := uint64(1); seed <= 800; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		gen := genConn(r, 3+r.IntN(8))
		k := r.IntN(len(gen) - 1)
		req := gen[k].req
		from := r.IntN(len(req))
		to := from + 1 + r.IntN(len(req)-from)
		var steps []step
		for i, g := range gen {
			if i == k {
				if from > 0 {
					steps = append(steps, C(req[:from]))
				}
				steps = append(steps, LostC(req[from:to]))
				if to < len(req) {
					steps = append(steps, C(req[to:]))
				}
			} else {
				steps = append(steps, C(g.req))
			}
			steps = append(steps, S(g.resp))
		}
		xs := run(steps, randomSplit(r), Options{})
		fail := func(format string, args ...any) {
			t.Fatalf("seed %d, request %d bytes %d..%d of %d lost: %s\n%s", seed, k, from, to, len(req), fmt.Sprintf(format, args...), summary(xs))
		}
		if len(xs) != len(gen) {
			fail("%d exchanges, want %d", len(xs), len(gen))
		}
		for i, g := range gen {
			x := xs[i]
			if x.Status != g.status {
				fail("exchange %d has status %d, sent %d", i, x.Status, g.status)
			}
			if i == k {
				if x.Method != "" && x.Method != g.method {
					fail("exchange %d method %q", i, x.Method)
				}
				continue
			}
			if x.Method != g.method || x.Path != g.path || string(x.RequestBody) != g.reqBody || string(x.ResponseBody) != g.respBody {
				fail("exchange %d differs", i)
			}
		}
	}
}
