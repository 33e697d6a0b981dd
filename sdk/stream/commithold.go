package stream

import (
	"context"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// AsyncPublisher is implemented by a publisher (what [Binder.Publisher]
// returns) that can send without waiting for the transport's answer, such
// as a Kafka producer that batches records.
//
// # Contract
//
//   - PublishAsync queues msg for topic and returns; done is called exactly
//     once, from any goroutine, with nil when the transport has taken the
//     message durably (what Publish would have waited for) or with the
//     error Publish would have returned.
//   - Messages queued one after the other with the same partition (or key)
//     complete in that order and are stored in that order: a failed one is
//     never followed by a later one of its partition that was stored ahead
//     of it, unless that later one fails too.
//   - PublishAsync after Close calls done with an error. Close waits for
//     queued messages to complete (or fail) and their done to return.
//
// A function binding whose output publisher is an AsyncPublisher, and whose
// input message carries a [CommitHold] (see [WithCommitHold]), publishes its
// output asynchronously: the handler returns at once, the input message is
// acked, and the subscriber commits its offset only once the output is
// stored. Otherwise the binding publishes synchronously.
type AsyncPublisher interface {
	PublishAsync(ctx context.Context, topic string, msg *message.Message, done func(error))
}

// CommitHold defers the commit of one received message until the outputs
// the application produced from it are stored. A subscriber that supports
// holds puts one in the context of each message it hands out
// ([WithCommitHold]); the SDK, when it publishes an output of that message
// asynchronously, calls [CommitHold.Add] before the message is acked and
// the returned func when the output completes. After the ack the subscriber
// calls [CommitHold.Settled]: the message's offset becomes committable when
// its callback reports nil, and must be delivered again (with every later
// offset of its partition that is not yet committed) when it reports an
// error. Acked messages with holds are therefore released to the handler
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

type commitHoldKey struct{}

// WithCommitHold returns ctx carrying a new hold, and the hold. Subscribers
// call it for each message they hand out and set the result as the
// message's context.
func WithCommitHold(ctx context.Context) (context.Context, *CommitHold) {
	h := &CommitHold{}
	return context.WithValue(ctx, commitHoldKey{}, h), h
}

// CommitHoldFrom returns the hold of the message whose context is ctx, or
// nil when its subscriber does not support holds.
func CommitHoldFrom(ctx context.Context) *CommitHold {
	h, _ := ctx.Value(commitHoldKey{}).(*CommitHold)
	return h
}

// Add registers one pending output. It must be called before the message
// is acked. The returned func completes it (nil: stored); calls after the
// first do nothing.
func (h *CommitHold) Add() func(error) {
	h.mu.Lock()
	h.pending++
	h.mu.Unlock()
	var once sync.Once
	return func(err error) {
		once.Do(func() { h.complete(err) })
	}
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

// Pending is the number of outputs not yet completed.
func (h *CommitHold) Pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending
}
