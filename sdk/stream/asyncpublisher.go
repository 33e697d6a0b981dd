package stream

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
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
//   - ctx may cancel the delivery (done then reports the error). The SDK
//     passes its binding's context, which ends only once shutdown-timeout
//     has passed at stop: it bounds how long stopping waits for queued
//     outputs.
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

// EventPublisher is implemented by an [AsyncPublisher] that can also send
// an event given by its parts, writing its headers straight from them
// instead of from a Watermill message (such as the Kafka publisher, whose
// records have headers of their own).
//
// PublishEvent queues ev for topic, in convention c, as PublishAsync would
// queue ev.Message(c), with the same contract, and returns true; or it
// returns false, having done nothing and without calling done, when it
// cannot (its marshaler is not the default one, say), and the SDK sends
// ev.Message(c) with PublishAsync. The record it makes must be the one
// PublishAsync makes of ev.Message(c), up to the order of the headers.
// ev and its data are the publisher's once PublishEvent returns true; it
// must not write into ev.Data, which may be the bytes of a handler's
// string.
//
// A function binding whose input message carries a [CommitHold] sends its
// outputs with PublishEvent when they take the short way (binary mode; no
// attribute set by the handler but the time and the key).
type EventPublisher interface {
	AsyncPublisher
	PublishEvent(ctx context.Context, topic string, ev *cloudevent.BinaryEvent, c cloudevent.Convention, done func(error)) bool
}
