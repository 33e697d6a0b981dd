package stream

import "context"

// Pauser is implemented by a subscriber (what [Binder.Subscriber] returns)
// that can stop and restart delivery itself, such as a Kafka consumer that
// pauses fetching. When the subscriber of an input binding is a Pauser,
// pausing the binding calls Pause and resuming it calls Resume; otherwise
// the SDK pauses with a gate in front of the handler, which holds the next
// message of each member, unacked, until the binding resumes.
//
// # Contract
//
//   - Pause affects every member (every Subscribe call) of this subscriber,
//     current and future, and nothing else: other subscribers of the same
//     group keep going. Members stay in the group and keep their
//     partitions: no rebalance.
//   - Once Pause returns nil, no member hands out another message until
//     Resume. Messages handed out before stay in flight: they are acked or
//     nacked as usual and settle normally, and a nacked one is held back
//     with the rest until Resume.
//   - Resume undoes Pause: delivery goes on where it stopped, with nothing
//     lost or skipped.
//   - Both are idempotent, safe for concurrent use with Subscribe, Ack, Nack
//     and each other, and return [context.Context] errors when ctx ends
//     first. Pause or Resume after Close returns an error.
//   - If Pause fails, the SDK pauses with its gate instead; if Resume fails,
//     the binding stays paused and the error is returned to the caller of
//     [App.SetState].
//
// The SDK calls them from [App.SetState] only while the binding runs; a
// binding that is stopped and started again gets a new subscriber, not
// paused.
type Pauser interface {
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
}
