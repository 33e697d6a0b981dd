package stream

import (
	"context"

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
