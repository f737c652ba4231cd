// Package lossy degrades a capture the way a busy sensor does: it drops,
// reorders and duplicates packets, deterministically, to test reassembly.
package lossy

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"time"

	"github.com/corscope/corscope/capture/pcapio"
)

// Options are probabilities per packet and the random seed.
type Options struct {
	Drop, Reorder, Duplicate float64
	MaxDisplacement          int // a reordered packet comes 1..MaxDisplacement packets later [3]
	Seed                     int64
}

// Report lists what was done, by 1-based packet number in the input.
type Report struct {
	In, Out    int64
	Dropped    []int64
	Reordered  []int64
	Duplicated []int64
}

type held struct {
	data  []byte
	t     time.Time
	orig  int
	after int // emit after this many more packets
}

// Mangle reads a pcap or pcapng from r and writes a degraded pcap to w
// (single link type: the first packet's).
func Mangle(r io.Reader, w io.Writer, o Options) (Report, error) {
	if o.MaxDisplacement <= 0 {
		o.MaxDisplacement = 3
	}
	rd, err := pcapio.NewReader(r)
	if err != nil {
		return Report{}, err
	}
	defer rd.Close()
	rng := rand.New(rand.NewSource(o.Seed))
	var rep Report
	var pw *pcapio.Writer
	var link uint32
	var delayed []held
	write := func(t time.Time, data []byte, orig int) error {
		rep.Out++
		return pw.WritePacket(t, data, orig)
	}
	var p pcapio.Packet
	for {
		err := rd.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, err
		}
		rep.In++
		if pw == nil {
			link = p.LinkType
			if pw, err = pcapio.NewWriter(w, link, 262144); err != nil {
				return rep, err
			}
		} else if p.LinkType != link {
			return rep, fmt.Errorf("packet %d: link type %d differs from %d", rep.In, p.LinkType, link)
		}
		// Packets held back for reordering come out after the current one
		// once their countdown ends.
		r := rng.Float64()
		switch {
		case r < o.Drop:
			rep.Dropped = append(rep.Dropped, rep.In)
		case r < o.Drop+o.Reorder:
			rep.Reordered = append(rep.Reordered, rep.In)
			delayed = append(delayed, held{data: append([]byte(nil), p.Data...), t: p.Time, orig: p.OrigLen, after: 1 + rng.Intn(o.MaxDisplacement)})
			continue
		case r < o.Drop+o.Reorder+o.Duplicate:
			rep.Duplicated = append(rep.Duplicated, rep.In)
			if err := write(p.Time, p.Data, p.OrigLen); err != nil {
				return rep, err
			}
			if err := write(p.Time, p.Data, p.OrigLen); err != nil {
				return rep, err
			}
		default:
			if err := write(p.Time, p.Data, p.OrigLen); err != nil {
				return rep, err
			}
		}
		keep := delayed[:0]
		for _, h := range delayed {
			h.after--
			if h.after <= 0 {
				if err := write(h.t, h.data, h.orig); err != nil {
					return rep, err
				}
				continue
			}
			keep = append(keep, h)
		}
		delayed = keep
	}
	for _, h := range delayed {
		if err := write(h.t, h.data, h.orig); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
