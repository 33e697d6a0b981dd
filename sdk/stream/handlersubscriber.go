package stream

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
)

// HandlerSubscriber is implemented by a subscriber (what [Binder.Subscriber]
// returns) that can call a handler itself, on the goroutines that fetch and
// order its messages, instead of handing each message through a channel.
// When the subscriber of an input binding is a HandlerSubscriber, the SDK
// gives it the binding's handler chain (its Watermill middleware, the
// application's [WithMiddleware], the function) rather than running that
// chain on a Watermill router; when it is also a [DeliverySubscriber], the
// SDK may give it deliveries instead (see there).
//
// Why: the router hands every message from the subscriber's goroutine to
// its own, starts a goroutine for it, and wakes the subscriber when the
// message is acked. On the Kafka binder those hand-offs cost more CPU per
// message than franz-go and the broker together; a subscriber that calls
// the chain where the message already is pays none of them.
//
// # Contract
//
//   - SubscribeHandler is Subscribe with h in place of the channel: it
//     joins the subscription as one more member, returns once it would have
//     returned the channel, and delivers the same messages in the same
//     order, with the same contexts.
//   - h is called with one message at a time per ordering unit (a
//     partition), in order; units are handled in parallel. nil from h acks
//     the message, as msg.Ack would (if the chain nacked the message
//     itself, it stays nacked); an error nacks it: it comes again, before
//     anything after it. A panic in h nacks the message and is logged; a
//     call to runtime.Goexit does too, and delivery goes on.
//   - Pause and Resume ([Pauser]) hold the next call as they hold the next
//     hand-out: a call begun before Pause returned runs to its end.
//   - Delivery ends when ctx ends or the subscriber is closed. Close waits
//     for calls in progress as Subscribe's consumers wait for delivered
//     messages (bounded by the same timeout), and the call's message
//     context is canceled when that wait gives up.
//
// The SDK calls it Concurrency times, as it would Subscribe, and closes the
// subscriber to stop the binding.
type HandlerSubscriber interface {
	message.Subscriber
	SubscribeHandler(ctx context.Context, topic string, h func(*message.Message) error) error
}
