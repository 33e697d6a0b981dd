package stream

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// A Delivery is a received message as a [DeliverySubscriber] hands it to
// the SDK: read as a CloudEvent straight from the transport's own form of
// it, its Watermill message made only when the SDK asks for it.
type Delivery interface {
	// Context is the message's context, the one its Watermill message
	// has: it carries the message's [CommitHold].
	Context() context.Context
	// Binary reads the message as a binary-mode CloudEvent in convention
	// c: the attributes [cloudevent.ReadBinary] reads from its Watermill
	// message, with its payload and correlation id (its
	// [HeaderCorrelationID] metadata entry); ok is false when ReadBinary's
	// would be. Nothing writes the payload's bytes afterwards.
	Binary(c cloudevent.Convention) (b BinaryDelivery, ok bool)
	// Message returns the message, made on the first call: the one
	// SubscribeHandler would have given the handler.
	Message() *message.Message
}

// BinaryDelivery is a [Delivery] read as a binary-mode CloudEvent.
type BinaryDelivery struct {
	Attributes  cloudevent.Attributes
	Data        []byte
	Correlation string
}

// DeliverySubscriber is implemented by a [HandlerSubscriber] that can also
// call a handler with deliveries instead of Watermill messages, so that a
// message handled at its first attempt needs none (the Kafka subscriber,
// whose records carry their CloudEvent attributes as headers of their
// own: their message would only be built to be taken apart again).
//
// SubscribeDeliveries is SubscribeHandler, with its contract, for a
// handler given a Delivery for each message: nil from h acks the message
// (unless h made its Watermill message and the message was nacked), an
// error nacks it.
//
// The SDK subscribes an input binding with SubscribeDeliveries when its
// handler takes a payload type (not a [Message]) and the application has
// no [WithMiddleware]. The first attempt at a message that is a plain
// binary-mode CloudEvent is then made without its Watermill message; a
// message that is not, or whose first attempt failed, goes through the
// binding's middleware (retries, dead letters) as its message, as it
// would have with SubscribeHandler.
type DeliverySubscriber interface {
	HandlerSubscriber
	SubscribeDeliveries(ctx context.Context, topic string, h func(Delivery) error) error
}
