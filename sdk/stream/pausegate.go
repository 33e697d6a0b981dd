package stream

import (
	"sync"
	"sync/atomic"
)

// PauseGate helps a binder's subscriber implement [Pauser]: it is open or
// Shut, and waiters block while it is shut. The subscriber hands out a
// message only between Enter and Leave, and Shut reports when every hand-out
// in progress has ended, so that once Pause returns no message goes out. It
// is safe for concurrent use.
type PauseGate struct {
	// isOpen mirrors open for IsShut, which takes no lock.
	isOpen atomic.Bool
	// mu guards open, shutc, sending and drained.
	mu sync.Mutex
	// open is closed while the gate is open.
	open chan struct{}
	// shutc is closed while the gate is shut.
	shutc chan struct{}
	// sending counts hand-outs between Enter and Leave.
	sending int
	// drained, when not nil, is closed once sending drops to zero.
	drained chan struct{}
}

// NewPauseGate returns an open gate.
func NewPauseGate() *PauseGate {
	g := &PauseGate{open: make(chan struct{}), shutc: make(chan struct{})}
	close(g.open)
	g.isOpen.Store(true)
	return g
}

// Wait returns a channel that is closed once the gate is open.
func (g *PauseGate) Wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// Enter starts a hand-out while the gate is open; ok is false when it is
// Shut. After ok the caller must call Leave, and must give up the hand-out
// when shut is closed.
func (g *PauseGate) Enter() (shut <-chan struct{}, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		return nil, false
	}
	g.sending++
	return g.shutc, true
}

// Leave ends a hand-out begun by Enter.
func (g *PauseGate) Leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sending--
	if g.sending == 0 && g.drained != nil {
		close(g.drained)
		g.drained = nil
	}
}

// Shut closes the gate. The channel it returns is closed once no hand-out
// begun before is still in progress.
func (g *PauseGate) Shut() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
		g.isOpen.Store(false)
		close(g.shutc)
	default:
	}
	if g.sending == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	if g.drained == nil {
		g.drained = make(chan struct{})
	}
	return g.drained
}

// Lift opens the gate again.
func (g *PauseGate) Lift() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
		g.shutc = make(chan struct{})
		g.isOpen.Store(true)
	}
}

// IsShut reports whether the gate is shut. It takes no lock: a subscriber
// that only needs to know, not to hand a message out between Enter and
// Leave, asks it.
func (g *PauseGate) IsShut() bool { return !g.isOpen.Load() }
