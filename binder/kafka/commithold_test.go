package kafka_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/sdk/stream"
)

// TestCommitHold: a message acked with an output pending releases the next
// message of its partition at once, but its offset is not committed until
// the output is stored; an output that fails brings the message, and the
// ones after it, back in order.
func TestCommitHold(t *testing.T) {
	brokers := []string{brokertest.Start(t).Addr()}
	topic := newTopic(t)
	group := "g-" + topic
	pub := publisher(t, brokers, nil)
	for i := range 3 {
		if err := pub.Publish(topic, message.NewMessage(strconv.Itoa(i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.Group = group; c.CommitInterval = 5 * time.Millisecond })
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	adm := admin(t, brokers)
	committed := func() int64 {
		offs, err := adm.FetchOffsets(context.Background(), group)
		if o, ok := offs.Lookup(topic, 0); err == nil && ok {
			return o.At
		}
		return -1
	}
	held := func(m *message.Message) func(error) {
		h := stream.CommitHoldFrom(m.Context())
		if h == nil {
			t.Fatalf("message %s has no commit hold in its context", m.UUID)
		}
		return h.Add()
	}

	m0 := receive(t, msgs)
	done0 := held(m0)
	m0.Ack()
	m1 := receive(t, msgs) // delivered while 0's output is pending
	if m0.UUID != "0" || m1.UUID != "1" {
		t.Fatalf("got %s then %s, want 0 then 1", m0.UUID, m1.UUID)
	}
	done1 := held(m1)
	m1.Ack()
	done1(nil)
	// 1 is settled, 0 is not: nothing may be committed. Several commit
	// intervals pass while 2 is held back by the test.
	m2 := receive(t, msgs)
	if m2.UUID != "2" {
		t.Fatalf("got %s, want 2", m2.UUID)
	}
	time.Sleep(100 * time.Millisecond) // twenty commit intervals: watching for a wrong commit
	if c := committed(); c > 0 {
		t.Fatalf("offset %d committed while the output of offset 0 is pending", c)
	}
	done0(errors.New("output lost"))
	m2.Ack() // handed out before the rewind: its ack must not count
	for i := range 3 {
		m := receive(t, msgs)
		if m.UUID != strconv.Itoa(i) {
			t.Fatalf("after the rewind got %s, want %d", m.UUID, i)
		}
		m.Ack()
	}
	for deadline := time.Now().Add(waitFor); committed() != 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("committed %d, want 3", committed())
		}
	}
}
