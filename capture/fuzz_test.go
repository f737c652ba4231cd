package capture

import (
	"bytes"
	"context"
	"testing"

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
		s := &memSink{}
		st, err := Read(context.Background(), bytes.NewReader(data), "fuzz", Options{}, s)
		if err != nil && !IsPartial(err) && !IsNotCapture(err) {
			t.Fatalf("unclassified error %v", err)
		}
		if int(st.Exchanges) != len(s.ex) || int(st.Connections) != len(s.conns) {
			t.Fatalf("stats %d/%d, sink %d/%d", st.Exchanges, st.Connections, len(s.ex), len(s.conns))
		}
	})
}
