package http1

import (
	"slices"
	"testing"
	"time"
)

const capCause = "bytes skipped at a cap"

// skip drops s from dir's stream as a resource limit would.
func (c *conn) skip(dir Dir, s string) {
	c.seq[dir] += uint32(len(s))
	c.pkt++
	c.now = c.now.Add(10 * time.Millisecond)
	c.p.LimitGap(dir, len(s), c.now, capCause)
}

func caused(warnings []string) int {
	n := 0
	for _, w := range warnings {
		if w == capCause {
			n++
		}
	}
	return n
}

func TestLimitGapFlagsTheExchangesItCuts(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	t.Run("inside a request body", func(t *testing.T) {
		c := newConn(Options{})
		c.client("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
		c.server(resp)
		c.client("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01")
		c.skip(ClientToServer, "2345")
		c.client("6789")
		c.server(resp)
		c.client("GET /c HTTP/1.1\r\nHost: h\r\n\r\n")
		c.server(resp)
		out := c.close()
		if len(out) != 3 {
			t.Fatalf("%d exchanges", len(out))
		}
		for i, want := range []int{0, 1, 0} {
			if got := caused(out[i].Warnings); got != want {
				t.Errorf("exchange %s: cause %d times, want %d: %q", out[i].Path, got, want, out[i].Warnings)
			}
		}
		if !slices.Contains(out[1].Warnings, WarnReqBodyGap) {
			t.Errorf("gap warning missing: %q", out[1].Warnings)
		}
	})
	t.Run("between requests", func(t *testing.T) {
		c := newConn(Options{})
		c.client("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
		c.server(resp)
		c.skip(ClientToServer, "GET /lost HTTP/1.1\r\nHost: h\r\n\r\n")
		c.server(resp)
		c.client("GET /c HTTP/1.1\r\nHost: h\r\n\r\n")
		c.server(resp)
		out := c.close()
		var flagged []string
		for _, x := range out {
			if caused(x.Warnings) > 0 {
				flagged = append(flagged, x.Path)
			}
			if caused(x.Warnings) > 1 {
				t.Errorf("%s: cause repeated: %q", x.Path, x.Warnings)
			}
		}
		// /c is the next request after the hole; the response to /lost
		// comes out as an orphan, which the hole explains too.
		if !slices.Equal(flagged, []string{"", "/c"}) {
			t.Fatalf("flagged %q of %d exchanges", flagged, len(out))
		}
	})
	t.Run("response taken by the hole", func(t *testing.T) {
		c := newConn(Options{})
		c.client("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
		c.server(resp)
		c.client("GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
		c.skip(ServerToClient, resp)
		out := c.close()
		if len(out) != 2 || out[1].Status != 0 || caused(out[1].Warnings) != 1 || caused(out[0].Warnings) != 0 {
			t.Fatalf("%d exchanges: %q / %q", len(out), out[0].Warnings, out[len(out)-1].Warnings)
		}
	})
	t.Run("a hole inside a body explains no later orphan", func(t *testing.T) {
		c := newConn(Options{})
		c.client("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01")
		c.skip(ClientToServer, "2345")
		c.client("6789")
		c.server(resp)
		c.server(resp) // answers nothing the capture holds
		out := c.close()
		if len(out) != 2 || caused(out[0].Warnings) != 1 || caused(out[1].Warnings) != 0 || out[1].Method != "" {
			t.Fatalf("%d exchanges: %q / %q", len(out), out[0].Warnings, out[len(out)-1].Warnings)
		}
	})
	t.Run("plain gaps carry no cause", func(t *testing.T) {
		c := newConn(Options{})
		c.client("GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
		c.lose(ServerToClient, resp)
		for _, x := range c.close() {
			if caused(x.Warnings) != 0 {
				t.Fatalf("%q", x.Warnings)
			}
		}
	})
}
