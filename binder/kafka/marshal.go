package kafka

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
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
// hold, has room for the record's place among the held ones (ack), and ends
// when the partition is done with the message (end), so that a delivery
// takes one allocation for the four. Its parent, the embedded Context,
// carries values only and never ends. Its Done channel is made when first
// asked for, which on the SDK's path is never; AfterFunc lets contexts
// derived from it end with it without a goroutine of their own.
type recordContext struct {
	context.Context
	rec  *kgo.Record
	hold stream.CommitHold
	held heldRecord

	mu     sync.Mutex
	done   chan struct{} // made by Done
	err    error         // context.Canceled once ended
	afters []*afterCall
}

// afterCall is a function registered with recordContext.AfterFunc.
type afterCall struct {
	f       func()
	settled bool // started, or stopped
}

// Done implements [context.Context].
func (c *recordContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

// Err implements [context.Context].
func (c *recordContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc arranges for f to run in its own goroutine once c ends, as
// [context.AfterFunc] does; the context package uses it for contexts
// derived from c.
func (c *recordContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := &afterCall{f: f}
	if c.err != nil {
		a.settled = true
		go f()
	} else {
		c.afters = append(c.afters, a)
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if a.settled {
			return false
		}
		a.settled = true
		return true
	}
}

// end ends c (context.Canceled); later calls do nothing.
func (c *recordContext) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	for _, a := range c.afters {
		if !a.settled {
			a.settled = true
			go a.f()
		}
	}
	c.afters = nil
}

// delivery is the [stream.Delivery] of a record (SubscribeDeliveries),
// made with the record's context in the same allocation.
type delivery struct {
	rc recordContext
	// msg is the record's message, once made (nil: made on demand, by
	// dm).
	msg *message.Message
	dm  *DefaultMarshaler
	// payload and values are the record's value and its header values
	// and key, copied once (see copyRecord) for Binary and Message.
	payload []byte
	values  string
	copied  bool
}

// messagesMade counts the messages made for deliveries on demand, for
// tests: a delivery read as a CloudEvent and handled at its first attempt
// makes none.
var messagesMade atomic.Int64

// copy copies the record's bytes, once.
func (d *delivery) copy() {
	if !d.copied {
		d.payload, d.values = copyRecord(d.rc.rec)
		d.copied = true
	}
}

// Context implements [stream.Delivery].
func (d *delivery) Context() context.Context { return &d.rc }

// Binary implements [stream.Delivery].
func (d *delivery) Binary(c cloudevent.Convention) (stream.BinaryDelivery, bool) {
	if d.msg == nil {
		d.copy()
		return d.dm.readDelivery(d.rc.rec, d.payload, d.values, c)
	}
	// Made by a marshaler of the user's: read it.
	a, ok := cloudevent.ReadBinary(d.msg, c)
	if !ok {
		return stream.BinaryDelivery{}, false
	}
	return stream.BinaryDelivery{Attributes: a, Data: d.msg.Payload, Correlation: d.msg.Metadata[stream.HeaderCorrelationID]}, true
}

// Message implements [stream.Delivery]. A message made after Binary shares
// the bytes Binary copied.
func (d *delivery) Message() *message.Message {
	if d.msg == nil {
		d.copy()
		d.msg = d.dm.unmarshal(d.rc.rec, d.payload, d.values)
		d.msg.SetContext(&d.rc)
		messagesMade.Add(1)
	}
	return d.msg
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
	payload, all := copyRecord(rec)
	return m.unmarshal(rec, payload, all), nil
}

// unmarshal makes the message of rec from copyRecord's copies of it.
func (m DefaultMarshaler) unmarshal(rec *kgo.Record, payload []byte, all string) *message.Message {
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
	msg.UUID, all, _ = headerEntries(rec, all, func(k, v string) bool {
		md[k] = v
		return true
	})
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
	return msg
}

// copyRecord copies rec's value, and its header values and key into one
// string (in that order). The value is copied (a redelivered record must
// not share bytes with a message a handler may have changed), and the
// header values and the key become substrings of one string. A small value
// shares their allocation: first, capped so that appending to it cannot
// reach the strings' bytes, which nothing else can write. A larger one gets
// its own, so that a kept header (an id in a deduplication cache, say)
// does not keep it alive.
func copyRecord(rec *kgo.Record) (payload []byte, all string) {
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
	payload = buf[:len(rec.Value):len(rec.Value)]
	if cap(buf) < len(buf)+size {
		buf = make([]byte, 0, size) // not shared
	}
	start := len(buf)
	for _, h := range rec.Headers {
		buf = append(buf, h.Value...)
	}
	buf = append(buf, rec.Key...)
	if size > 0 {
		all = unsafe.String(&buf[start], size)
	}
	return payload, all
}

// headerEntries calls put with the metadata entries of rec's headers, in
// order, as Unmarshal makes them: all but the UUID header, whose value it
// returns, and the private ones. all is copyRecord's copy of the header
// values and key; rest is what follows the header values in it (the key).
// It stops at the first entry put refuses (ok false).
func headerEntries(rec *kgo.Record, all string, put func(k, v string) bool) (uuid, rest string, ok bool) {
	for _, h := range rec.Headers {
		v := all[:len(h.Value)]
		all = all[len(h.Value):]
		switch {
		case h.Key == UUIDHeader:
			uuid = v
		case cloudevent.IsPrivate(h.Key):
			// Private keys are instructions between the SDK and the
			// binder; a header from the wire must not forge one.
		case !put(h.Key, v):
			return uuid, all, false
		}
	}
	return uuid, all, true
}

// readDelivery reads rec, whose copies copyRecord made, as a binary-mode
// CloudEvent in convention c: what cloudevent.ReadBinary reads of
// m.Unmarshal(rec), its payload and its correlation id, without making the
// message.
func (m DefaultMarshaler) readDelivery(rec *kgo.Record, payload []byte, all string, c cloudevent.Convention) (stream.BinaryDelivery, bool) {
	r := cloudevent.NewBinaryReader(c)
	var correlation string
	// The entries Unmarshal makes, in its order: the headers, the key,
	// the partition; a later one replaces an earlier of the same name.
	add := func(k, v string) bool {
		if k == stream.HeaderCorrelationID {
			correlation = v
		}
		return r.Add(k, v)
	}
	_, all, ok := headerEntries(rec, all, add)
	if !ok {
		return stream.BinaryDelivery{}, false
	}
	if rec.Key != nil && !add(m.keyMetadata(), all) {
		return stream.BinaryDelivery{}, false
	}
	if !add(cloudevent.MetadataPartition, strconv.FormatInt(int64(rec.Partition), 10)) {
		return stream.BinaryDelivery{}, false
	}
	a, ok := r.Attributes()
	if !ok {
		return stream.BinaryDelivery{}, false
	}
	return stream.BinaryDelivery{Attributes: a, Data: payload, Correlation: correlation}, true
}
