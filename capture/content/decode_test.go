package content

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

var plain = []byte(strings.Repeat("Access-Control-Allow-Origin: https://a.test\n", 50))

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func br(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zs(b []byte) []byte {
	e, _ := zstd.NewWriter(nil)
	defer e.Close()
	return e.EncodeAll(b, nil)
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		codings []string
		body    []byte
	}{
		{"identity", []string{"identity"}, plain},
		{"none", nil, plain},
		{"gzip", []string{"gzip"}, gz(plain)},
		{"x-gzip upper case", []string{"X-GZIP"}, gz(plain)},
		{"deflate zlib-wrapped", []string{"deflate"}, zl(plain)},
		{"deflate raw as servers send it", []string{"deflate"}, rawDeflate(plain)},
		{"br", []string{"br"}, br(plain)},
		{"zstd", []string{"zstd"}, zs(plain)},
		{"stacked gzip, gzip undone in reverse", []string{"gzip", "gzip"}, gz(gz(plain))},
		{"stacked deflate then br", []string{"deflate", "br"}, br(zl(plain))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, trunc, err := Decode(tc.codings, tc.body, 1<<20)
			if err != nil || trunc || !bytes.Equal(out, plain) {
				t.Fatalf("got %d bytes, truncated %v, err %v", len(out), trunc, err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, _, err := Decode([]string{"compress"}, []byte("x"), 100); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown coding: %v", err)
	}
	cut := gz(plain)
	cut = cut[:len(cut)/2]
	out, _, err := Decode([]string{"gzip"}, cut, 1<<20)
	if err == nil || len(out) == 0 || !bytes.HasPrefix(plain, out) {
		t.Errorf("cut gzip: %d bytes, err %v", len(out), err)
	}
	if _, _, err := Decode([]string{"br"}, []byte("not brotli at all"), 100); err == nil {
		t.Error("garbage br decoded without error")
	}
}

func TestDecodeCapExact(t *testing.T) {
	out, trunc, err := Decode([]string{"gzip"}, gz(plain), int64(len(plain)))
	if err != nil || trunc || len(out) != len(plain) {
		t.Errorf("exact cap: %d %v %v", len(out), trunc, err)
	}
	out, trunc, err = Decode([]string{"gzip"}, gz(plain), 10)
	if err != nil || !trunc || len(out) != 10 {
		t.Errorf("small cap: %d %v %v", len(out), trunc, err)
	}
	out, trunc, _ = Decode(nil, plain, 10)
	if !trunc || len(out) != 10 {
		t.Errorf("identity cap: %d %v", len(out), trunc)
	}
}

// GzipBomb returns a gzip stream of about 1 MiB that inflates to 1 GiB of
// zeros, built by repeating one sync-flushed deflate block run rather than
// compressing a gigabyte.
func GzipBomb(tb testing.TB) []byte {
	var blk bytes.Buffer
	w, err := flate.NewWriter(&blk, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(make([]byte, 1<<20))
	w.Flush() // byte-aligned, non-final blocks: safe to repeat
	one := blk.Bytes()
	var out bytes.Buffer
	out.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	for i := 0; i < 1024; i++ {
		out.Write(one)
	}
	out.Write([]byte{0x03, 0x00}) // final empty fixed-Huffman block
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[4:], 0) // CRC and size are never reached
	out.Write(trailer[:])
	return out.Bytes()
}

func TestGzipBombStopsAtCap(t *testing.T) {
	bomb := GzipBomb(t)
	if len(bomb) > 2<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	start := time.Now()
	out, trunc, err := Decode([]string{"gzip"}, bomb, 16<<20)
	if err != nil || !trunc || len(out) != 16<<20 {
		t.Fatalf("got %d bytes, truncated %v, err %v", len(out), trunc, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// Stacked: the inner bomb inside another gzip layer is capped too.
	out, trunc, _ = Decode([]string{"gzip", "gzip"}, gz(bomb), 4<<20)
	if !trunc || len(out) != 4<<20 {
		t.Errorf("stacked bomb: %d bytes, truncated %v", len(out), trunc)
	}
}

// TestWriteFuzzSeeds keeps the committed seed corpus in sync when run with
// CORSCOPE_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("CORSCOPE_WRITE_SEEDS") == "" {
		t.Skip("set CORSCOPE_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzDecode")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	os.MkdirAll(dir, 0o755)
	seeds := map[string][2]any{
		"gzip":    {"gzip", gz(plain)},
		"deflate": {"deflate", zl(plain)},
		"raw":     {"deflate", rawDeflate(plain)},
		"br":      {"br", br(plain)},
		"zstd":    {"zstd", zs(plain)},
		"stacked": {"gzip, gzip", gz(gz(plain))},
	}
	for name, s := range seeds {
		data := "go test fuzz v1\nstring(" + quoteGo(s[0].(string)) + ")\n[]byte(" + quoteGo(string(s[1].([]byte))) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkDecodeGzip(b *testing.B) {
	body := gz(plain)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := Decode([]string{"gzip"}, body, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeZstd(b *testing.B) {
	body := zs(plain)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := Decode([]string{"zstd"}, body, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
