// Package content undoes HTTP content codings (gzip, deflate, br, zstd) with a
// hard output cap, so a decompression bomb costs at most the cap.
package content

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// zstdMaxWindow bounds the window a zstd frame may ask for: RFC 8878 asks
// HTTP decoders to support at least 8 MiB; more is a memory lever for an attacker.
const zstdMaxWindow = 8 << 20

// Supported reports whether Decode knows coding (case-insensitive).
func Supported(coding string) bool {
	switch normalize(coding) {
	case "", "identity", "gzip", "x-gzip", "deflate", "br", "zstd":
		return true
	}
	return false
}

// Codings splits Content-Encoding (or Transfer-Encoding) field values into
// the list of codings in the order they were applied, dropping "identity"
// and empty items. Several fields are concatenated in wire order.
func Codings(values ...string) []string {
	var out []string
	for _, v := range values {
		for len(v) > 0 {
			item := v
			if i := strings.IndexByte(v, ','); i >= 0 {
				item, v = v[:i], v[i+1:]
			} else {
				v = ""
			}
			item = normalize(item)
			if item == "" || item == "identity" {
				continue
			}
			out = append(out, item)
		}
	}
	return out
}

func normalize(c string) string {
	c = strings.Trim(c, " \t")
	if i := strings.IndexByte(c, ';'); i >= 0 { // parameters are not defined for codings; ignore them
		c = strings.TrimRight(c[:i], " \t")
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; b >= 'A' && b <= 'Z' {
			return strings.ToLower(c)
		}
	}
	return c
}

// Decode undoes codings (listed in the order they were applied) on body,
// last applied first. The output never exceeds max bytes (max <= 0 means no
// output): when a stage would produce more, it stops there and truncated is
// true. On a corrupt or cut stream, out holds what was decoded before the
// error. body is not modified; out may alias body when nothing was decoded.
func Decode(codings []string, body []byte, max int64) (out []byte, truncated bool, err error) {
	out = body
	for i := len(codings) - 1; i >= 0; i-- {
		c := normalize(codings[i])
		if c == "" || c == "identity" {
			continue
		}
		var t bool
		out, t, err = decodeOne(c, out, max)
		truncated = truncated || t
		if err != nil {
			return out, truncated, fmt.Errorf("%s: %w", c, err)
		}
	}
	if int64(len(out)) > max {
		if max < 0 {
			max = 0
		}
		out, truncated = out[:max], true
	}
	return out, truncated, nil
}

// ErrUnsupported is returned for a coding Decode does not know.
var ErrUnsupported = errors.New("unsupported content coding")

func decodeOne(coding string, in []byte, max int64) ([]byte, bool, error) {
	switch coding {
	case "gzip", "x-gzip":
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(in))
		} else {
			err = zr.Reset(bytes.NewReader(in))
		}
		if err != nil {
			return nil, false, err
		}
		defer gzipPool.Put(zr)
		return readCapped(zr, max, len(in))
	case "deflate":
		return inflate(in, max)
	case "br":
		br, _ := brotliPool.Get().(*brotli.Reader)
		if br == nil {
			br = brotli.NewReader(bytes.NewReader(in))
		} else if err := br.Reset(bytes.NewReader(in)); err != nil {
			return nil, false, err
		}
		defer brotliPool.Put(br)
		return readCapped(br, max, len(in))
	case "zstd":
		d, _ := zstdPool.Get().(*zstd.Decoder)
		if d == nil {
			return nil, false, errors.New("zstd decoder unavailable")
		}
		defer zstdPool.Put(d)
		if err := d.Reset(bytes.NewReader(in)); err != nil {
			return nil, false, err
		}
		out, t, err := readCapped(d, max, len(in))
		d.Reset(nil) // drop the reference to in before pooling
		return out, t, err
	}
	return nil, false, fmt.Errorf("%w %q", ErrUnsupported, coding)
}

// inflate handles "deflate", which RFC 9110 defines as zlib-wrapped but which
// servers often send raw: a valid zlib header decides, raw is the fallback.
func inflate(in []byte, max int64) ([]byte, bool, error) {
	if len(in) >= 2 && in[0]&0x0f == 8 && in[0]>>4 <= 7 && (uint16(in[0])<<8|uint16(in[1]))%31 == 0 {
		zr, _ := zlibPool.Get().(io.ReadCloser)
		var err error
		if zr == nil {
			zr, err = zlib.NewReader(bytes.NewReader(in))
		} else {
			err = zr.(zlib.Resetter).Reset(bytes.NewReader(in), nil)
		}
		if err == nil {
			out, t, err := readCapped(zr, max, len(in))
			zlibPool.Put(zr)
			if err == nil || len(out) > 0 {
				return out, t, err
			}
		}
	}
	fr, _ := flatePool.Get().(io.ReadCloser)
	if fr == nil {
		fr = flate.NewReader(bytes.NewReader(in))
	} else if err := fr.(flate.Resetter).Reset(bytes.NewReader(in), nil); err != nil {
		return nil, false, err
	}
	defer flatePool.Put(fr)
	return readCapped(fr, max, len(in))
}

// Decompressor state is tens of kilobytes; pooling it keeps small bodies cheap.
var gzipPool, zlibPool, flatePool, brotliPool sync.Pool

var zstdPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow),
		zstd.WithDecoderMaxMemory(64<<20))
	if err != nil {
		return nil // only for invalid options, which are constants here
	}
	return d
}}

// readCapped reads r until EOF or max bytes. It reads one byte past max to
// tell "exactly max" from "more than max".
func readCapped(r io.Reader, max int64, inLen int) ([]byte, bool, error) {
	if max < 0 {
		max = 0
	}
	guess := int64(inLen) * 4
	if guess < 512 {
		guess = 512
	}
	if guess > max+1 {
		guess = max + 1
	}
	out := make([]byte, 0, guess)
	for {
		if int64(len(out)) > max {
			return out[:max], true, nil
		}
		if len(out) == cap(out) {
			grow := int64(cap(out))
			if int64(cap(out))+grow > max+1 {
				grow = max + 1 - int64(cap(out))
			}
			out = append(out, make([]byte, grow)...)[:len(out)]
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			if int64(len(out)) > max {
				return out[:max], true, nil
			}
			return out, false, nil
		}
		if err != nil {
			return out, false, err
		}
	}
}
