package kafka_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/broker/brokertest"
)

// TestBrokerRestart restarts the bundled broker under a running publisher
// and group subscriber: both reconnect, nothing committed is read again,
// and nothing is lost.
func TestBrokerRestart(t *testing.T) {
	b := brokertest.Start(t)
	brokers := []string{b.Addr()}
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.Group = "g-" + topic })
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	send := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := pub.Publish(topic, message.NewMessage(strconv.Itoa(i), nil)); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
	}
	expect := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			m := receive(t, msgs)
			m.Ack()
			if m.UUID != strconv.Itoa(i) {
				t.Fatalf("got %s, want %d", m.UUID, i)
			}
		}
	}
	send(0, 5)
	expect(0, 5)
	// Wait for the commit of the acks (every CommitInterval): what is
	// committed must not come again after the restart.
	adm := admin(t, brokers)
	for deadline := time.Now().Add(waitFor); ; time.Sleep(10 * time.Millisecond) {
		offs, err := adm.FetchOffsets(context.Background(), "g-"+topic)
		if o, ok := offs.Lookup(topic, 0); err == nil && ok && o.At == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offset 5 not committed: %v %v", offs, err)
		}
	}
	b.Restart()
	send(5, 10)
	expect(5, 10)
}
