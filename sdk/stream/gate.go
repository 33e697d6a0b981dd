package stream

import (
	"context"
	"sync"
)

// gate holds messages while a binding is paused.
type gate struct {
	// mu guards open and paused.
	mu sync.Mutex
	// open is closed while the gate lets messages through, and replaced by
	// a fresh channel when the gate shuts.
	open   chan struct{}
	paused bool
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gate) pause() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.paused {
		g.paused = true
		g.open = make(chan struct{})
	}
}

func (g *gate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		g.paused = false
		close(g.open)
	}
}

// wait returns nil when the gate is open, and an error when ctx is done or
// stop is closed first.
func (g *gate) wait(ctx context.Context, stop <-chan struct{}) error {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	select {
	case <-ch:
		return nil // open: the common case, without making ctx's Done channel
	default:
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return context.Canceled
	}
}
