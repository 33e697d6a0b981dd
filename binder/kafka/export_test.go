package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// Assignments returns how many group assignments the consumers of s have
// been through.
func Assignments(s *Subscriber) int {
	return sumMembers(s, func(m *member) int32 { return m.assignments.Load() })
}

// sumMembers sums count over the consumers of s.
func sumMembers(s *Subscriber, count func(*member) int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for m := range s.members {
		n += int(count(m))
	}
	return n
}

// BinderAssignments sums [Assignments] over the subscribers b made that are
// still open.
func BinderAssignments(b *Binder) int { return sumSubscribers(b, Assignments) }

// sumSubscribers sums count over the subscribers b made that are still
// open.
func sumSubscribers(b *Binder, count func(*Subscriber) int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for s := range b.subs {
		n += count(s)
	}
	return n
}

// BinderPaused reports whether every open subscriber b made is paused
// (false when there is none).
func BinderPaused(b *Binder) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if !s.Paused() {
			return false
		}
	}
	return len(b.subs) > 0
}

// Crash ends b's clients as a killed process would: the shared producer
// closes at once (records not yet stored fail), and every open subscriber
// stops without waiting for delivered messages and without a last commit.
// Only what the commit loop committed before stays committed.
func Crash(b *Binder) {
	b.mu.Lock()
	subs := make([]*Subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.crashed.Store(true)
	}
	b.producer.Close()
	for _, s := range subs {
		s.Close()
	}
}

// FetchPauses returns how many times the consumers of s paused fetching a
// partition because its queue stayed full.
func FetchPauses(s *Subscriber) int {
	return sumMembers(s, func(m *member) int32 { return m.pauses.Load() })
}

// SetRoomStall sets the tick of the members' flow control (roomStall) for
// a test, and returns what restores it. Call it before the subscriber is
// made, and restore it after the subscriber is closed.
func SetRoomStall(d time.Duration) (restore func()) {
	old := roomStall
	roomStall = d
	return func() { roomStall = old }
}

// MarshalEvent is the record PublishEvent makes of ev, but for its
// partition.
var MarshalEvent = marshalEvent

// ReadDelivery is what a delivery of rec reads as a binary-mode CloudEvent
// with the marshaler m.
func ReadDelivery(m DefaultMarshaler, rec *kgo.Record, c cloudevent.Convention) (stream.BinaryDelivery, bool) {
	payload, all := copyRecord(rec)
	return m.readDelivery(rec, payload, all, c)
}

// MessagesMade is how many messages deliveries have made on demand so far.
func MessagesMade() int64 { return messagesMade.Load() }

// NewDelivery is the delivery of rec, as SubscribeDeliveries hands it to a
// handler, with the default marshaler, and its commit hold. Its context has
// values's values (a partition gives it a context that never ends) and ends
// with EndDelivery.
func NewDelivery(values context.Context, rec *kgo.Record) (stream.Delivery, *stream.CommitHold) {
	d := &delivery{rc: recordContext{Context: values, rec: rec}, dm: &DefaultMarshaler{}}
	return d, &d.rc.hold
}

// EndDelivery ends the context of a delivery NewDelivery made, as the
// partition does once it is done with the message.
func EndDelivery(d stream.Delivery) { d.(*delivery).rc.end() }

// BinderFetchPauses sums [FetchPauses] over the subscribers b made that are
// still open.
func BinderFetchPauses(b *Binder) int { return sumSubscribers(b, FetchPauses) }
