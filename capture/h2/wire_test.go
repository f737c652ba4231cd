package h2

import (
	"bytes"
	"time"

	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	c2s = http1.ClientToServer
	s2c = http1.ServerToClient
)

// step is one write by one side, fed to the parser as one segment.
type step struct {
	dir  http1.Dir
	data []byte
}

// wire builds both directions of an HTTP/2 connection with Go's framer and
// HPACK encoder, one HPACK context per direction as a real peer keeps.
type wire struct {
	steps []step
	out   [2]bytes.Buffer
	fr    [2]*http2.Framer
	hb    [2]bytes.Buffer
	enc   [2]*hpack.Encoder
}

func newWire() *wire {
	w := &wire{}
	for i := range w.fr {
		w.fr[i] = http2.NewFramer(&w.out[i], nil)
		w.fr[i].AllowIllegalWrites = true
		w.enc[i] = hpack.NewEncoder(&w.hb[i])
	}
	return w
}

func (w *wire) take(dir http1.Dir) {
	b := append([]byte(nil), w.out[dir].Bytes()...)
	w.out[dir].Reset()
	if len(b) > 0 {
		w.steps = append(w.steps, step{dir, b})
	}
}

// start writes the preface and both SETTINGS.
func (w *wire) start() *wire {
	w.out[c2s].WriteString(Preface)
	w.fr[c2s].WriteSettings()
	w.take(c2s)
	w.fr[s2c].WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	w.fr[s2c].WriteSettingsAck()
	w.take(s2c)
	return w
}

// block encodes name/value pairs with dir's encoder.
func (w *wire) block(dir http1.Dir, kv ...string) []byte {
	w.hb[dir].Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		w.enc[dir].WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), w.hb[dir].Bytes()...)
}

func (w *wire) headers(dir http1.Dir, id uint32, end bool, kv ...string) *wire {
	w.fr[dir].WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: w.block(dir, kv...), EndStream: end, EndHeaders: true})
	w.take(dir)
	return w
}

func (w *wire) data(dir http1.Dir, id uint32, end bool, b []byte) *wire {
	w.fr[dir].WriteData(id, end, b)
	w.take(dir)
	return w
}

func (w *wire) raw(dir http1.Dir, b []byte) *wire {
	w.steps = append(w.steps, step{dir, append([]byte(nil), b...)})
	return w
}

// bytesOf concatenates one direction's steps.
func (w *wire) bytesOf(dir http1.Dir) []byte {
	var b []byte
	for _, s := range w.steps {
		if s.dir == dir {
			b = append(b, s.data...)
		}
	}
	return b
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var testMeta = http1.ConnMeta{Client: "10.0.0.1:50000", Server: "10.0.0.2:8080", ConnNo: 7}

// run feeds steps as segments numbered from packet 1, one millisecond apart.
func run(opts Options, steps []step) (*Parser, []*storage.Exchange) {
	var got []*storage.Exchange
	p := NewParser(opts, testMeta, func(e *storage.Exchange) { got = append(got, e) })
	for i, s := range steps {
		p.Feed(s.dir, http1.Segment{Data: s.data, Time: t0.Add(time.Duration(i) * time.Millisecond), Packet: int64(i + 1)})
	}
	p.Close(t0.Add(time.Hour))
	return p, got
}

func byStream(xs []*storage.Exchange) map[uint32]*storage.Exchange {
	m := map[uint32]*storage.Exchange{}
	for _, x := range xs {
		m[x.StreamID] = x
	}
	return m
}

func hasWarning(x *storage.Exchange, w string) bool {
	for _, s := range x.Warnings {
		if s == w || len(w) > 0 && len(s) >= len(w) && s[:len(w)] == w {
			return true
		}
	}
	return false
}
