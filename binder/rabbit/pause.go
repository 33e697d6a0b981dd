package rabbit

import (
	"context"
	"fmt"
	"sync"
)

// Pause stops the subscriber's members from consuming, without closing it:
// each member stops handing out messages, and once the message in its hand
// is settled it cancels its consumer, so RabbitMQ gives the queue's
// messages to the group's other consumers (other instances) meanwhile, and
// requeues what this member had prefetched but not handed out. It
// implements [stream.Pauser], so the SDK pauses a RabbitMQ binding this way
// instead of holding prefetched messages in its gate.
//
// Once Pause returns nil no member hands out another message until Resume.
// A message handed out before is acked or nacked as usual; a nacked one is
// requeued and waits with the rest. Pause waits only for members caught in
// the middle of handing out a message to step back; if ctx ends first it
// undoes itself. It affects current and future members. Pause after Close
// returns [ErrClosed].
//
// Requeued messages come again with the redelivered flag, and RabbitMQ
// puts them back in their place in the queue where it can; with several
// consumers on one queue there was no order to keep.
func (s *Subscriber) Pause(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("rabbit: pause: %w", ErrClosed)
	}
	drained := s.gate.shut()
	s.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		s.gate.lift()
		return fmt.Errorf("rabbit: pause: %w", ctx.Err())
	}
}

// Resume undoes Pause: the members consume again. Resume after Close
// returns [ErrClosed].
func (s *Subscriber) Resume(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rabbit: resume: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("rabbit: resume: %w", ErrClosed)
	}
	s.gate.lift()
	return nil
}

// Paused reports whether the subscriber is paused.
func (s *Subscriber) Paused() bool {
	select {
	case <-s.gate.wait():
		return false
	default:
		return true
	}
}

// gate is open or shut. A member hands out a message only between enter
// and leave, and shut reports when every hand-out in progress has ended.
type gate struct {
	// mu guards open, shutc, sending and drained.
	mu sync.Mutex
	// open is closed while the gate is open.
	open chan struct{}
	// shutc is closed while the gate is shut.
	shutc chan struct{}
	// sending counts members between enter and leave.
	sending int
	// drained, when not nil, is closed once sending drops to zero.
	drained chan struct{}
}

func newGate() *gate {
	g := &gate{open: make(chan struct{}), shutc: make(chan struct{})}
	close(g.open)
	return g
}

// wait returns a channel that is closed once the gate is open.
func (g *gate) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// enter starts a hand-out while the gate is open; ok is false when it is
// shut. After ok the caller must call leave, and must give up the hand-out
// when shut is closed.
func (g *gate) enter() (shut <-chan struct{}, ok bool) {
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

// leave ends a hand-out begun by enter.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sending--
	if g.sending == 0 && g.drained != nil {
		close(g.drained)
		g.drained = nil
	}
}

// shut closes the gate; the channel it returns is closed once no hand-out
// begun before is in progress.
func (g *gate) shut() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
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

func (g *gate) lift() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
		g.shutc = make(chan struct{})
	}
}
