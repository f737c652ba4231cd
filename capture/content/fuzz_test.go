package content

import (
	"strconv"
	"testing"
)

func quoteGo(s string) string { return strconv.Quote(s) }

func FuzzDecode(f *testing.F) {
	f.Add("gzip", gz(plain))
	f.Add("deflate", rawDeflate(plain))
	f.Add("br", br(plain))
	f.Add("zstd", zs(plain))
	f.Fuzz(func(t *testing.T, codings string, body []byte) {
		const max = 1 << 16
		out, trunc, _ := Decode(Codings(codings), body, max)
		if len(out) > max && len(Codings(codings)) > 0 {
			t.Fatalf("output %d over cap", len(out))
		}
		if trunc && len(out) != max {
			t.Fatalf("truncated at %d, cap %d", len(out), max)
		}
	})
}
