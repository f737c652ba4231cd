package data

import (
	"context"
	"sync"
)

// BlockSize is how many rows the window cache loads at once.
const BlockSize = 64

// maxBlocks bounds the cache: 64 blocks of 64 rows, whatever the list size.
const maxBlocks = 64

// Window is an in-memory window over an ordered id list. The UI goroutine
// reads rows with Row (never blocking, never querying) and asks for missing
// ones with Want; a loader goroutine fills blocks and hands each to post,
// which must run the given function on the UI goroutine (the batched pump).
type Window struct {
	src  *Source
	post func(apply func())

	// UI-goroutine state.
	ids    []int64
	gen    int
	blocks map[int][]Row
	used   map[int]uint64 // block → last use tick, for eviction
	tick   uint64

	mu       sync.Mutex // guards the loader's view below
	wantIDs  []int64
	wantGen  int
	wanted   map[int]bool
	inflight map[int]bool
	wake     chan struct{}
}

// NewWindow returns an empty window; Start runs its loader.
func NewWindow(src *Source, post func(apply func())) *Window {
	return &Window{src: src, post: post, blocks: map[int][]Row{}, used: map[int]uint64{},
		wanted: map[int]bool{}, inflight: map[int]bool{}, wake: make(chan struct{}, 1)}
}

// SetIDs replaces the list (new filter, sort or data) and drops the cache.
// keep lets the caller seed rows already loaded for the same ids.
func (w *Window) SetIDs(ids []int64) {
	w.ids = ids
	w.gen++
	w.blocks = map[int][]Row{}
	w.used = map[int]uint64{}
	w.mu.Lock()
	w.wantIDs, w.wantGen = ids, w.gen
	w.wanted = map[int]bool{}
	w.inflight = map[int]bool{}
	w.mu.Unlock()
}

// IDs returns the current list (read-only).
func (w *Window) IDs() []int64 { return w.ids }

// Len returns the number of rows.
func (w *Window) Len() int { return len(w.ids) }

// Row returns row i when its block is cached; otherwise it asks the loader
// for it and returns false.
func (w *Window) Row(i int) (*Row, bool) {
	if i < 0 || i >= len(w.ids) {
		return nil, false
	}
	b := i / BlockSize
	rows, ok := w.blocks[b]
	if !ok {
		w.Want(b)
		return nil, false
	}
	w.tick++
	w.used[b] = w.tick
	return &rows[i%BlockSize], true
}

// ID returns the id of row i, or 0.
func (w *Window) ID(i int) int64 {
	if i < 0 || i >= len(w.ids) {
		return 0
	}
	return w.ids[i]
}

// Index returns the row of id, or -1 (a linear scan: used on jumps only).
func (w *Window) Index(id int64) int {
	for i, x := range w.ids {
		if x == id {
			return i
		}
	}
	return -1
}

// Want asks the loader for block b (no-op when cached or in flight).
func (w *Window) Want(b int) {
	if _, ok := w.blocks[b]; ok || b < 0 || b*BlockSize >= len(w.ids) {
		return
	}
	w.mu.Lock()
	if !w.inflight[b] {
		w.wanted[b] = true
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Prefetch asks for the blocks around row i.
func (w *Window) Prefetch(i int) {
	b := i / BlockSize
	w.Want(b)
	w.Want(b + 1)
	w.Want(b - 1)
}

// Run loads wanted blocks until ctx ends.
func (w *Window) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			b, ok := -1, false
			for k := range w.wanted {
				b, ok = k, true
				break
			}
			if !ok {
				w.mu.Unlock()
				break
			}
			delete(w.wanted, b)
			w.inflight[b] = true
			ids, gen := w.wantIDs, w.wantGen
			w.mu.Unlock()
			start := b * BlockSize
			if start >= len(ids) {
				continue
			}
			end := min(start+BlockSize, len(ids))
			rows, err := w.src.Rows(ctx, ids[start:end])
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				rows = make([]Row, end-start)
				for i := range rows {
					rows[i].ID = ids[start+i]
					rows[i].Cells[ColURL] = "(load failed)"
				}
			}
			w.post(func() { w.install(gen, b, rows) })
		}
	}
}

// install runs on the UI goroutine.
func (w *Window) install(gen, b int, rows []Row) {
	w.mu.Lock()
	if gen == w.wantGen {
		delete(w.inflight, b)
	}
	w.mu.Unlock()
	if gen != w.gen {
		return
	}
	if len(w.blocks) >= maxBlocks {
		oldest, min := -1, ^uint64(0)
		for k, t := range w.used {
			if t < min {
				oldest, min = k, t
			}
		}
		delete(w.blocks, oldest)
		delete(w.used, oldest)
	}
	w.blocks[b] = rows
	w.tick++
	w.used[b] = w.tick
}

// Cached reports how many blocks are in memory (for tests).
func (w *Window) Cached() int { return len(w.blocks) }
