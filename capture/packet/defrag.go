package packet

import (
	"net/netip"
	"sort"
	"time"
)

// DefragLimits bound IP fragment reassembly; hostile captures can hold
// endless unfinished datagrams.
type DefragLimits struct {
	MaxDatagrams int           // datagrams pending at once (default 1024)
	MaxBytes     int           // bytes held in all pending fragments (default 16 MiB)
	Timeout      time.Duration // capture time after which a pending datagram is dropped (default 30 s)
}

func (l *DefragLimits) defaults() {
	if l.MaxDatagrams <= 0 {
		l.MaxDatagrams = 1024
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 16 << 20
	}
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

type fragment struct {
	off  int
	data []byte
}

type datagram struct {
	frags []fragment
	total int // -1 until the last fragment is seen
	bytes int
	first time.Time
}

// Defragmenter reassembles IPv4 and IPv6 fragments. Where fragments
// overlap, the lower offset wins, then the earlier copy.
type Defragmenter struct {
	lim     DefragLimits
	pending map[fragKey]*datagram
	bytes   int
	buf     []byte
	Dropped int64
}

// NewDefragmenter returns a defragmenter bounded by lim (zero fields take defaults).
func NewDefragmenter(lim DefragLimits) *Defragmenter {
	lim.defaults()
	return &Defragmenter{lim: lim, pending: make(map[fragKey]*datagram)}
}

const maxDatagram = 65535 + 8

// add stores one fragment; when the datagram is complete it returns its
// payload (valid until the next call) and true.
func (f *Defragmenter) add(k fragKey, off int, more bool, data []byte, now time.Time) ([]byte, bool) {
	if off+len(data) > maxDatagram {
		f.Dropped++
		return nil, false
	}
	dg := f.pending[k]
	if dg == nil {
		f.expire(now)
		if len(f.pending) >= f.lim.MaxDatagrams {
			f.evictOldest()
		}
		dg = &datagram{total: -1, first: now}
		f.pending[k] = dg
	}
	if f.bytes+len(data) > f.lim.MaxBytes {
		f.drop(k, dg)
		f.Dropped++
		return nil, false
	}
	if !more {
		dg.total = off + len(data)
	}
	dg.frags = append(dg.frags, fragment{off: off, data: append([]byte(nil), data...)})
	dg.bytes += len(data)
	f.bytes += len(data)
	if dg.total < 0 {
		return nil, false
	}
	sort.SliceStable(dg.frags, func(i, j int) bool { return dg.frags[i].off < dg.frags[j].off })
	covered := 0
	for _, fr := range dg.frags {
		if fr.off > covered {
			return nil, false // hole
		}
		if end := fr.off + len(fr.data); end > covered {
			covered = end
		}
	}
	if covered < dg.total {
		return nil, false
	}
	if cap(f.buf) < dg.total {
		f.buf = make([]byte, dg.total)
	}
	out := f.buf[:dg.total]
	filled := 0
	for _, fr := range dg.frags { // sorted by offset: first copy of each byte wins
		end := fr.off + len(fr.data)
		if end > dg.total {
			end = dg.total
		}
		if end > filled {
			copy(out[filled:end], fr.data[filled-fr.off:])
			filled = end
		}
	}
	f.drop(k, dg)
	return out, true
}

func (f *Defragmenter) drop(k fragKey, dg *datagram) {
	f.bytes -= dg.bytes
	delete(f.pending, k)
}

func (f *Defragmenter) expire(now time.Time) {
	if len(f.pending) == 0 {
		return
	}
	for k, dg := range f.pending {
		if now.Sub(dg.first) > f.lim.Timeout {
			f.drop(k, dg)
			f.Dropped++
		}
	}
}

func (f *Defragmenter) evictOldest() {
	var oldK fragKey
	var old *datagram
	for k, dg := range f.pending {
		if old == nil || dg.first.Before(old.first) {
			oldK, old = k, dg
		}
	}
	if old != nil {
		f.drop(oldK, old)
		f.Dropped++
	}
}

// Pending returns how many datagrams wait for fragments.
func (f *Defragmenter) Pending() int { return len(f.pending) }
