package stream

import (
	"time"
)

// Message is a payload with its CloudEvent attributes, headers and key. A
// handler that takes Message[T] instead of T sees the whole incoming message;
// one that returns Message[T] sets attributes of the message it sends.
//
// When sending, zero fields get defaults: ID a new UUID, Source the
// application name, Type derived from T (see cloudevent.TypeName), Time now,
// ContentType the binding's. Key, when set, becomes the partitionkey
// extension (and the Kafka record key) and chooses the partition of a
// partitioned binding.
type Message[T any] struct {
	// Payload is the data, decoded with the codec of ContentType.
	Payload T

	ID          string    // CloudEvent id
	Source      string    // CloudEvent source
	Type        string    // CloudEvent type
	Subject     string    // CloudEvent subject (optional)
	Time        time.Time // CloudEvent time
	ContentType string    // CloudEvent datacontenttype
	// Key is the partitionkey extension: the record key on Kafka.
	Key string
	// Extensions are the other CloudEvent extension attributes (traceparent
	// among them), as strings. Names are lower-case letters and digits.
	Extensions map[string]string
	// Headers are transport headers that are not CloudEvent attributes
	// (dead-letter reasons, correlation ids, the application's own).
	Headers map[string]string
}

// envelope is what the runtime needs of a Message[T] it sends.
type envelope interface {
	payload() any
	attributes() *Message[struct{}]
}

// receiver is what the runtime needs of a *Message[T] it fills.
type receiver interface {
	payloadTarget() any
	setAttributes(a *Message[struct{}])
}

func (m Message[T]) payload() any { return m.Payload }

func (m Message[T]) attributes() *Message[struct{}] {
	return &Message[struct{}]{
		ID: m.ID, Source: m.Source, Type: m.Type, Subject: m.Subject, Time: m.Time,
		ContentType: m.ContentType, Key: m.Key, Extensions: m.Extensions, Headers: m.Headers,
	}
}

func (m *Message[T]) payloadTarget() any { return &m.Payload }

func (m *Message[T]) setAttributes(a *Message[struct{}]) {
	m.ID, m.Source, m.Type, m.Subject, m.Time = a.ID, a.Source, a.Type, a.Subject, a.Time
	m.ContentType, m.Key, m.Extensions, m.Headers = a.ContentType, a.Key, a.Extensions, a.Headers
}
