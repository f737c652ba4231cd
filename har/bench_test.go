package har

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/corscope/corscope/har/hargen"
	"github.com/corscope/corscope/storage"
)

var benchHAR = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	if _, err := hargen.Generate(&buf, hargen.Config{Size: 16 << 20, Seed: 7}); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// BenchmarkRead measures the reader alone on a generated Chrome-style HAR
// (MB/s is the input rate).
func BenchmarkRead(b *testing.B) {
	data := benchHAR()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), Options{}, func(*storage.Exchange) error { n++; return nil }); err != nil || n == 0 {
			b.Fatal(err, n)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkReadLink adds the preflight linker, as ingest runs it.
func BenchmarkReadLink(b *testing.B) {
	data := benchHAR()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		l := NewLinker()
		var id int64
		if _, err := Read(bytes.NewReader(data), Options{}, func(ex *storage.Exchange) error {
			id++
			ex.ID = id
			l.Observe(ex)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if len(l.Links()) == 0 {
			b.Fatal("no links")
		}
	}
}

// BenchmarkWrite measures export of the same exchanges.
func BenchmarkWrite(b *testing.B) {
	var exs []*storage.Exchange
	if _, err := Read(bytes.NewReader(benchHAR()), Options{}, func(ex *storage.Exchange) error { exs = append(exs, ex); return nil }); err != nil {
		b.Fatal(err)
	}
	var size int64
	b.ReportAllocs()
	for b.Loop() {
		i := 0
		cw := &countingWriter{}
		if err := Write(cw, Creator{Name: "bench"}, func() (*storage.Exchange, error) {
			if i == len(exs) {
				return nil, io.EOF
			}
			i++
			return exs[i-1], nil
		}); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.SetBytes(size)
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
