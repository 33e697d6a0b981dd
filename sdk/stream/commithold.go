package stream

import (
	"context"
	"sync"
)

// CommitHold defers the commit of one received message until the outputs
// the application produced from it are stored. A subscriber that supports
// holds puts one in the context of each message it hands out
// ([WithCommitHold], or a context type of its own answering
// [CommitHoldKey]); the SDK, when it publishes an output of that message
// asynchronously, adds the output to the hold before the message is acked
// ([CommitHold.Add]) and completes it when the output is stored or has
// failed. After the ack the subscriber calls [CommitHold.Settled]: the
// message's offset becomes committable when its callback reports nil, and
// must be delivered again (with every later offset of its partition that
// is not yet committed) when it reports an error. Acked messages with holds are therefore released to the handler
// in order while their outputs are in flight, and commits still never pass
// an input whose output was not stored: at-least-once, in input order.
//
// A subscriber that does not put holds in its messages' contexts keeps the
// plain contract: the SDK waits for the output before acking.
type CommitHold struct {
	mu      sync.Mutex
	pending int
	err     error
	settled func(error)
}

// CommitHoldKey is the context key under which a message's context holds
// its *CommitHold. [WithCommitHold] wraps a context to add one; a binder
// whose messages have a context type of its own may answer the key in its
// Value method instead, with a CommitHold of its own (the zero CommitHold
// is ready to use), and save the wrapping.
type CommitHoldKey struct{}

// WithCommitHold returns ctx carrying a new hold, and the hold. Subscribers
// that support holds call it (or answer [CommitHoldKey] themselves) for
// each message they hand out and set the result as the message's context.
func WithCommitHold(ctx context.Context) (context.Context, *CommitHold) {
	h := &CommitHold{}
	return context.WithValue(ctx, CommitHoldKey{}, h), h
}

// CommitHoldFrom returns the hold of the message whose context is ctx, or
// nil when its subscriber does not support holds.
func CommitHoldFrom(ctx context.Context) *CommitHold {
	h, _ := ctx.Value(CommitHoldKey{}).(*CommitHold)
	return h
}

// Add registers one pending output. It must be called before the message
// is acked. The returned func completes it (nil: stored); calls after the
// first do nothing.
func (h *CommitHold) Add() func(error) {
	h.add()
	var once sync.Once
	return func(err error) {
		once.Do(func() { h.complete(err) })
	}
}

func (h *CommitHold) add() {
	h.mu.Lock()
	h.pending++
	h.mu.Unlock()
}

func (h *CommitHold) complete(err error) {
	h.mu.Lock()
	h.pending--
	if err != nil && h.err == nil {
		h.err = err
	}
	var fn func(error)
	if h.pending == 0 && h.settled != nil {
		fn, h.settled = h.settled, nil
	}
	res := h.err
	h.mu.Unlock()
	if fn != nil {
		fn(res)
	}
}

// Settled calls fn once every output added so far has completed: with nil
// when all were stored, else with the first error. It calls fn at once
// (on this goroutine) when none is pending, and reports whether it did.
// The subscriber calls it once, after the message is acked.
func (h *CommitHold) Settled(fn func(error)) (now bool) {
	h.mu.Lock()
	if h.pending == 0 {
		err := h.err
		h.mu.Unlock()
		fn(err)
		return true
	}
	h.settled = fn
	h.mu.Unlock()
	return false
}

// Err is the first error an output completed with, or nil.
func (h *CommitHold) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Pending is the number of outputs not yet completed.
func (h *CommitHold) Pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending
}
