package cloudevent

import (
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cloudevents/sdk-go/v2/event"
)

// A BinaryEvent is an event in binary mode given by its parts, with the
// metadata the SDK adds beside it. A transport that has headers of its own
// writes them from it directly ([BinaryEvent.AppendHeaders]) rather than
// from a Watermill message built only to be taken apart again;
// [BinaryEvent.Message] is that message, for every other publisher. As
// with [BinaryMessage], nothing is validated: the attributes must be valid.
// Pass it by pointer: Extra may point into the event itself (AddExtra).
type BinaryEvent struct {
	Attributes
	// Data is the payload.
	Data []byte
	// Extra are further metadata entries, such as a correlation id. Their
	// keys are not private ([IsPrivate]) and not set by the attributes
	// ([BinaryEvent.Sets]).
	Extra []Entry
	// Partition is the partition chosen for the event, written as
	// [MetadataPartition]; -1 for none.
	Partition int

	// room holds the first extra entries AddExtra appends.
	room [2]Entry
}

// AddExtra appends an entry to Extra, the first two without an allocation
// of their own.
func (e *BinaryEvent) AddExtra(key, value string) {
	if e.Extra == nil {
		e.Extra = e.room[:0]
	}
	e.Extra = append(e.Extra, Entry{Key: key, Value: value})
}

// An Entry is one metadata entry.
type Entry struct{ Key, Value string }

// Message is e as a Watermill message under convention c: what
// [BinaryMessage] makes of the attributes, with the extra entries and the
// partition added.
func (e *BinaryEvent) Message(c Convention) (*message.Message, error) {
	n := len(e.Extra)
	if e.Partition >= 0 {
		n++
	}
	msg, err := BinaryMessage(&e.Attributes, e.Data, c, n)
	if err != nil {
		return nil, err
	}
	for _, x := range e.Extra {
		msg.Metadata[x.Key] = x.Value
	}
	if e.Partition >= 0 {
		msg.Metadata[MetadataPartition] = strconv.Itoa(e.Partition)
	}
	return msg, nil
}

// Sets reports whether the message of e under convention c has an entry
// key set from the attributes.
func (e *BinaryEvent) Sets(c Convention, key string) bool {
	k := keysOf(c)
	a := &e.Attributes
	switch key {
	case k.specversion, k.id, k.source, k.typ:
		return true
	case k.time:
		return !a.Time.IsZero()
	case k.subject:
		return a.Subject != ""
	case k.dataschema:
		return a.DataSchema != ""
	case c.ContentTypeKey:
		return a.ContentType != ""
	case k.traceparent:
		return a.Traceparent != ""
	case k.partitionkey:
		return a.PartitionKey != ""
	case MetadataKey:
		return a.PartitionKey != "" && c.KeyFromPartitionKey
	}
	return false
}

// timeLen bounds the length of a time in RFC 3339 with nanoseconds, in UTC.
const timeLen = len("2006-01-02T15:04:05.999999999Z")

// HeadersSize is the room the values AppendHeaders appends take at most.
func (e *BinaryEvent) HeadersSize() int {
	a := &e.Attributes
	n := len(event.CloudEventsVersionV1) + len(a.ID) + len(a.Source) + len(a.Type) + len(a.Subject) +
		len(a.DataSchema) + len(a.ContentType) + len(a.Traceparent) + len(a.PartitionKey)
	if !a.Time.IsZero() {
		n += timeLen
	}
	for _, x := range e.Extra {
		n += len(x.Value)
	}
	return n
}

// HeadersCount is the number of calls AppendHeaders makes to put.
func (e *BinaryEvent) HeadersCount() int { return e.headers() + len(e.Extra) }

// AppendHeaders writes the entries of e's message under convention c that
// are not transport-private (every entry but [MetadataKey] and
// [MetadataPartition]) as headers: it appends each value to buf and calls
// put with the key and the appended bytes, and returns the extended buf.
// With buf's capacity HeadersSize or more, the values share buf's array.
func (e *BinaryEvent) AppendHeaders(c Convention, buf []byte, put func(key string, value []byte)) []byte {
	k := keysOf(c)
	a := &e.Attributes
	add := func(key, v string) {
		start := len(buf)
		buf = append(buf, v...)
		put(key, buf[start:len(buf):len(buf)])
	}
	add(k.specversion, event.CloudEventsVersionV1)
	add(k.id, a.ID)
	add(k.source, a.Source)
	add(k.typ, a.Type)
	if !a.Time.IsZero() {
		start := len(buf)
		buf = a.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
		put(k.time, buf[start:len(buf):len(buf)])
	}
	if a.Subject != "" {
		add(k.subject, a.Subject)
	}
	if a.DataSchema != "" {
		add(k.dataschema, a.DataSchema)
	}
	if a.ContentType != "" {
		add(c.ContentTypeKey, a.ContentType)
	}
	if a.Traceparent != "" {
		add(k.traceparent, a.Traceparent)
	}
	if a.PartitionKey != "" {
		add(k.partitionkey, a.PartitionKey)
	}
	for _, x := range e.Extra {
		add(x.Key, x.Value)
	}
	return buf
}
