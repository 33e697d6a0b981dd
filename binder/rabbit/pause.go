package rabbit

import (
	"context"
	"fmt"
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
	drained := s.gate.Shut()
	s.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		s.gate.Lift()
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
	s.gate.Lift()
	return nil
}

// Paused reports whether the subscriber is paused.
func (s *Subscriber) Paused() bool {
	select {
	case <-s.gate.Wait():
		return false
	default:
		return true
	}
}
