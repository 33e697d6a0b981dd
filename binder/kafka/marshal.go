package kafka

import (
	"context"
	"strconv"
	"unsafe"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// A Position is where the record behind a delivered message was read.
type Position struct {
	Topic     string
	Partition int32
	Offset    int64
}

type positionKey struct{}

// recordContext is the context of the message of a delivered record: it
// carries the record's position (for PositionFrom) and the message's commit
// hold, and has room for the record's place among the held ones (ack), so
// that a delivery takes one allocation for the three.
type recordContext struct {
	context.Context
	rec  *kgo.Record
	hold stream.CommitHold
	held heldRecord
}

func (c *recordContext) Value(key any) any {
	switch key.(type) {
	case positionKey:
		return c.rec
	case stream.CommitHoldKey:
		return &c.hold
	}
	return c.Context.Value(key)
}

// PositionFrom returns the position of the record behind a message the
// [Subscriber] delivered, from the message's context, as Watermill's own
// Kafka subscriber has partition and offset there. ok is false for other
// contexts.
func PositionFrom(ctx context.Context) (p Position, ok bool) {
	rec, ok := ctx.Value(positionKey{}).(*kgo.Record)
	if !ok {
		return Position{}, false
	}
	return Position{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}, true
}

// UUIDHeader carries the Watermill message UUID, under the name that
// Watermill's own Kafka Pub/Sub uses, so that the two interoperate. It is
// left out when the UUID equals the CloudEvent id (the ce_id header): the
// id travels there already.
const UUIDHeader = "_watermill_message_uuid"

// A Marshaler turns a Watermill message into a Kafka record. Marshal must not
// keep msg; the record it returns belongs to the publisher.
type Marshaler interface {
	Marshal(topic string, msg *message.Message) (*kgo.Record, error)
}

// An Unmarshaler turns a consumed record into a Watermill message. It must
// copy what it keeps of rec: the record's buffers are not reused by the
// client, but the subscriber may redeliver rec several times.
type Unmarshaler interface {
	Unmarshal(rec *kgo.Record) (*message.Message, error)
}

// DefaultMarshaler maps metadata to record headers and back.
//
// Sending: every metadata entry becomes a header, except transport-private
// ones ([cloudevent.IsPrivate]); the entry named KeyMetadata becomes the
// record key; [cloudevent.MetadataPartition], when set, picks the partition
// (see [Partitioner]); the UUID goes in [UUIDHeader] unless it equals the
// ce_id header.
//
// Receiving: headers become metadata (of repeated headers the last wins;
// headers with the private prefix are dropped);
// the record key goes in KeyMetadata and the partition in
// [cloudevent.MetadataPartition] (the topic, partition and offset are in
// the message's context too: see [PositionFrom]); the UUID comes from
// [UUIDHeader], else ce_id, else a new one is made up.
type DefaultMarshaler struct {
	// KeyMetadata is the metadata key that holds the record key.
	// Default [cloudevent.MetadataKey], which the SDK fills from the
	// CloudEvents partitionkey extension.
	KeyMetadata string
}

const ceIDHeader = "ce_id"

func (m DefaultMarshaler) keyMetadata() string {
	if m.KeyMetadata == "" {
		return cloudevent.MetadataKey
	}
	return m.KeyMetadata
}

// Marshal implements [Marshaler].
func (m DefaultMarshaler) Marshal(topic string, msg *message.Message) (*kgo.Record, error) {
	rec := &kgo.Record{Topic: topic, Value: msg.Payload}
	km := m.keyMetadata()
	headers := make([]kgo.RecordHeader, 0, len(msg.Metadata)+1)
	// The header values and the key are copied into one buffer: one
	// allocation rather than one per value.
	size := len(msg.UUID)
	for _, v := range msg.Metadata {
		size += len(v)
	}
	buf := make([]byte, 0, size)
	bytesOf := func(v string) []byte {
		start := len(buf)
		buf = append(buf, v...)
		return buf[start:len(buf):len(buf)]
	}
	if msg.UUID != "" && msg.Metadata[ceIDHeader] != msg.UUID {
		headers = append(headers, kgo.RecordHeader{Key: UUIDHeader, Value: bytesOf(msg.UUID)})
	}
	for k, v := range msg.Metadata {
		switch {
		case k == km:
			rec.Key = bytesOf(v)
		case k == cloudevent.MetadataPartition:
			p, err := strconv.ParseInt(v, 10, 32)
			if err != nil || p < 0 {
				return nil, &InvalidPartitionError{Value: v}
			}
			rec.Partition = int32(p)
			rec.Context = WithPartition(rec.Context, int32(p))
		case cloudevent.IsPrivate(k):
		default:
			headers = append(headers, kgo.RecordHeader{Key: k, Value: bytesOf(v)})
		}
	}
	rec.Headers = headers
	return rec, nil
}

// sharedPayloadMax is the largest payload Unmarshal copies into the same
// allocation as the header values.
const sharedPayloadMax = 1024

// Unmarshal implements [Unmarshaler].
func (m DefaultMarshaler) Unmarshal(rec *kgo.Record) (*message.Message, error) {
	// The payload is copied (a redelivered record must not share bytes
	// with a message a handler may have changed), and the header values
	// and the key become substrings of one string. A small payload shares
	// their allocation: first, capped so that appending to it cannot reach
	// the strings' bytes, which nothing else can write. A larger one gets
	// its own, so that a kept header (an id in a deduplication cache, say)
	// does not keep it alive.
	size := len(rec.Key)
	for _, h := range rec.Headers {
		size += len(h.Value)
	}
	room := len(rec.Value)
	if room <= sharedPayloadMax {
		room += size
	}
	buf := make([]byte, len(rec.Value), room)
	copy(buf, rec.Value)
	payload := buf[:len(rec.Value):len(rec.Value)]
	if cap(buf) < len(buf)+size {
		buf = make([]byte, 0, size) // not shared
	}
	start := len(buf)
	for _, h := range rec.Headers {
		buf = append(buf, h.Value...)
	}
	buf = append(buf, rec.Key...)
	var all string
	if size > 0 {
		all = unsafe.String(&buf[start], size)
	}
	msg := message.NewMessage("", payload)
	// The message's own map is empty: up to eight entries (the headers, the
	// partition and the key) fill one map group.
	md := msg.Metadata
	n := len(rec.Headers) + 1
	if rec.Key != nil {
		n++
	}
	if n > 8 {
		md = make(message.Metadata, n)
	}
	for _, h := range rec.Headers {
		v := all[:len(h.Value)]
		all = all[len(h.Value):]
		switch {
		case h.Key == UUIDHeader:
			msg.UUID = v
		case cloudevent.IsPrivate(h.Key):
			// Private keys are instructions between the SDK and the
			// binder; a header from the wire must not forge one.
		default:
			md[h.Key] = v
		}
	}
	if msg.UUID == "" {
		msg.UUID = md[ceIDHeader]
	}
	if msg.UUID == "" {
		msg.UUID = cloudevent.NewID()
	}
	if rec.Key != nil {
		md[m.keyMetadata()] = all // what is left: the key
	}
	md[cloudevent.MetadataPartition] = strconv.FormatInt(int64(rec.Partition), 10)
	msg.Metadata = md
	return msg, nil
}
