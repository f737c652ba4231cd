package tui

import (
	"context"
	"sync"
	"time"

	"github.com/rivo/tview"
)

// pump is the only goroutine that talks to the running tview application
// from outside its event loop. Loaders post UI mutations and background
// work reports status; the pump applies them in one QueueUpdateDraw per
// batch (status at most every 100 ms). It also stops the app, so it is
// never blocked in QueueUpdateDraw when the event loop ends, and it never
// calls it after that.
type pump struct {
	tapp *tview.Application

	mu          sync.Mutex
	pending     []func()
	status      Status
	statusDirty bool
	onStatus    func(Status)

	wake     chan struct{}
	quitReq  chan struct{}
	quitOnce sync.Once
}

func newPump(tapp *tview.Application) *pump {
	return &pump{tapp: tapp, wake: make(chan struct{}, 1), quitReq: make(chan struct{})}
}

// post queues f to run on the UI goroutine. Safe from any goroutine,
// never blocks (also from inside event handlers).
func (p *pump) post(f func()) {
	p.mu.Lock()
	p.pending = append(p.pending, f)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// report records the latest background status (any rate, any goroutine).
func (p *pump) report(st Status) {
	p.mu.Lock()
	p.status = st
	p.statusDirty = true
	p.mu.Unlock()
}

// quit asks the pump to stop the application.
func (p *pump) quit() { p.quitOnce.Do(func() { close(p.quitReq) }) }

func (p *pump) run(ctx context.Context, started <-chan struct{}) {
	select {
	case <-started:
	case <-ctx.Done():
		return
	case <-p.quitReq:
		p.tapp.Stop()
		return
	}
	tick := time.NewTicker(batchInterval)
	defer tick.Stop()
	for {
		statusDue := false
		select {
		case <-ctx.Done():
			p.tapp.Stop()
			return
		case <-p.quitReq:
			p.tapp.Stop()
			return
		case <-p.wake:
		case <-tick.C:
			statusDue = true
		}
		p.mu.Lock()
		work := p.pending
		p.pending = nil
		var st Status
		sendStatus := statusDue && p.statusDirty
		if sendStatus {
			st = p.status
			p.statusDirty = false
		}
		onStatus := p.onStatus
		p.mu.Unlock()
		if len(work) == 0 && !sendStatus {
			continue
		}
		p.tapp.QueueUpdateDraw(func() {
			for _, f := range work {
				f()
			}
			if sendStatus && onStatus != nil {
				onStatus(st)
			}
		})
	}
}
