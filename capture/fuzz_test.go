package capture

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/synth"
)

// FuzzRead runs the whole pipeline over arbitrary input: it must never
// panic, and must classify every failure as partial or not-a-capture.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	synth.Write(&b, synth.Options{Exchanges: 3, PerConn: 2, Seed: 1})
	f.Add(b.Bytes())
	b.Reset()
	synth.Write(&b, synth.Options{Exchanges: 2, PerConn: 2, Seed: 2, IPv6: true})
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, tightLimits()} {
			checkRead(t, data, opts)
		}
	})
}

// tightLimits makes every reassembly and header limit easy to hit.
func tightLimits() Options {
	var o Options
	o.Reassembly.MaxConnections = 2
	o.Reassembly.MaxBufferedPerConn = 600
	o.Reassembly.MaxBufferedTotal = 900
	o.Reassembly.IdleTimeout = time.Millisecond
	o.HTTP.MaxHeaderBytes = 256
	o.HTTP.MaxHeaders = 4
	o.HTTP2.MaxStreams = 2
	o.HTTP2.MaxTableSize = 4096
	return o
}

// checkRead runs the pipeline over data: no panic, classified errors,
// counters that agree with the sink, and no warning twice on an exchange.
func checkRead(t *testing.T, data []byte, opts Options) {
	t.Helper()
	s := &memSink{}
	st, err := Read(context.Background(), bytes.NewReader(data), "fuzz", opts, s)
	if err != nil && !IsPartial(err) && !IsNotCapture(err) {
		t.Fatalf("unclassified error %v", err)
	}
	if int(st.Exchanges) != len(s.ex) || int(st.Connections) != len(s.conns) {
		t.Fatalf("stats %d/%d, sink %d/%d", st.Exchanges, st.Connections, len(s.ex), len(s.conns))
	}
	for _, e := range s.ex {
		seen := map[string]bool{}
		for _, w := range e.Warnings {
			if seen[w] {
				t.Fatalf("warning twice on one exchange: %q in %q", w, e.Warnings)
			}
			seen[w] = true
		}
	}
}
