package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

func TestSubscriberRoundTrip(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })

	payload := watermill.NewUUID() + "\x00\xff binary"
	sent := message.NewMessage(watermill.NewUUID(), []byte(payload))
	sent.Metadata.Set("h", "v")
	sent.Metadata.Set(cloudevent.MetadataKey, "k")
	if err := pub.Publish(topic, sent); err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	got.Ack()
	if got.UUID != sent.UUID || !bytes.Equal(got.Payload, sent.Payload) {
		t.Errorf("got %s %q, want %s %q", got.UUID, got.Payload, sent.UUID, sent.Payload)
	}
	want := map[string]string{"h": "v", cloudevent.MetadataKey: "k", cloudevent.MetadataPartition: "0"}
	if !equalMaps(got.Metadata, want) {
		t.Errorf("metadata = %v, want %v", got.Metadata, want)
	}
	if pos, ok := kafka.PositionFrom(got.Context()); !ok || pos != (kafka.Position{Topic: topic, Partition: 0, Offset: 0}) {
		t.Errorf("PositionFrom(message context) = %+v, %v; want %s/0 at 0", pos, ok, topic)
	}
	if _, ok := kafka.PositionFrom(context.Background()); ok {
		t.Error("PositionFrom found a position in a context without one")
	}
}

func TestSubscriberWithoutGroupStartsAtLatest(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, nil)
	if err := pub.Publish(topic, message.NewMessage("old", []byte("old"))); err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(topic, message.NewMessage("new", []byte("new"))); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, msgs); got.UUID != "new" {
		t.Errorf("first message = %s, want new (an anonymous subscriber starts at the end)", got.UUID)
	}
}

func TestSubscriberNackRedeliversBeforeNext(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	if err := pub.Publish(topic, message.NewMessage("a", []byte("a")), message.NewMessage("b", []byte("b"))); err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for range 3 {
		m := receive(t, msgs)
		order = append(order, m.UUID)
		if len(order) == 1 {
			m.Nack()
		} else {
			m.Ack()
		}
	}
	if got := order[0] + order[1] + order[2]; got != "aab" {
		t.Errorf("delivery order = %v, want a (nacked), a, b", order)
	}
}

func TestSubscriberHoldsNextUntilAck(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	if err := pub.Publish(topic, message.NewMessage("a", nil), message.NewMessage("b", nil)); err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	a := receive(t, msgs)
	receiveNone(t, msgs, 200*time.Millisecond)
	a.Ack()
	select {
	case <-a.Context().Done():
	case <-time.After(waitFor):
		t.Error("message context not canceled after Ack")
	}
	if b := receive(t, msgs); b.UUID != "b" {
		t.Errorf("after ack got %s, want b", b.UUID)
	}
}

func TestSubscriberPartitionsInParallel(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	publishTwoByTwo(t, brokers, topic)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the first message of one partition unacked: the other partition
	// still delivers, in order.
	held := receive(t, msgs)
	other := "1"
	if held.Metadata.Get(cloudevent.MetadataPartition) == "1" {
		other = "0"
	}
	for i := range 2 {
		m := receive(t, msgs)
		if want := other + "-" + strconv.Itoa(i); m.UUID != want {
			t.Fatalf("while %s is unacked got %s, want %s", held.UUID, m.UUID, want)
		}
		m.Ack()
	}
	held.Ack()
	if m := receive(t, msgs); m.UUID != held.Metadata.Get(cloudevent.MetadataPartition)+"-1" {
		t.Errorf("after ack of %s got %s", held.UUID, m.UUID)
	}
}

func TestSubscriberPauseResume(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(topic, message.NewMessage("1", nil)); err != nil {
		t.Fatal(err)
	}
	receive(t, msgs).Ack()
	if err := sub.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !sub.Paused() {
		t.Error("Paused() = false after Pause")
	}
	if err := pub.Publish(topic, message.NewMessage("2", nil)); err != nil {
		t.Fatal(err)
	}
	receiveNone(t, msgs, 300*time.Millisecond)
	if err := sub.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, msgs); m.UUID != "2" {
		t.Errorf("after Resume got %s, want 2", m.UUID)
	}
}

func TestSubscriberContextEndsConsumer(t *testing.T) {
	brokers := testBrokers(t)
	sub := subscriber(t, brokers, nil)
	ctx, cancel := context.WithCancel(context.Background())
	msgs, err := sub.Subscribe(ctx, newTopic(t))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, open := <-msgs:
		if open {
			t.Fatal("got a message from an empty topic")
		}
	case <-time.After(waitFor):
		t.Fatal("channel not closed after the Subscribe context ended")
	}
}

func TestSubscribeAfterClose(t *testing.T) {
	sub := subscriber(t, testBrokers(t), nil)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Subscribe(context.Background(), "x"); err == nil {
		t.Error("Subscribe after Close succeeded")
	}
}

// publishTwoByTwo publishes messages "<p>-<i>" for partitions p 0 and 1 and i
// 0 and 1 to a new topic of two partitions.
func publishTwoByTwo(t *testing.T, brokers []string, topic string) {
	t.Helper()
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = 2 })
	for p := range 2 {
		for i := range 2 {
			m := message.NewMessage(strconv.Itoa(p)+"-"+strconv.Itoa(i), nil)
			m.Metadata.Set(cloudevent.MetadataPartition, strconv.Itoa(p))
			if err := pub.Publish(topic, m); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// pickyUnmarshaler fails on the record "bad" and, against its contract,
// returns no message and no error for "none".
type pickyUnmarshaler struct{}

func (pickyUnmarshaler) Unmarshal(rec *kgo.Record) (*message.Message, error) {
	switch string(rec.Value) {
	case "bad":
		return nil, errors.New("bad record")
	case "none":
		return nil, nil
	}
	return kafka.DefaultMarshaler{}.Unmarshal(rec)
}

// A record the unmarshaler cannot make a message of (an error, or no
// message at all) is logged and skipped: the records after it are
// delivered, in order, by Subscribe and by SubscribeDeliveries.
func TestUnmarshalFailureSkipsRecord(t *testing.T) {
	brokers := testBrokers(t)
	for _, way := range []string{"Subscribe", "SubscribeDeliveries"} {
		t.Run(way, func(t *testing.T) {
			topic := newTopic(t)
			if _, err := admin(t, brokers).CreateTopic(context.Background(), 1, -1, nil, topic); err != nil {
				t.Fatal(err)
			}
			pub := publisher(t, brokers, nil)
			for _, v := range []string{"a", "bad", "none", "b"} {
				if err := pub.Publish(topic, message.NewMessage(v, []byte(v))); err != nil {
					t.Fatal(err)
				}
			}
			sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) {
				c.Unmarshaler = pickyUnmarshaler{}
				c.Group = "g"
			})
			got := make(chan string, 10)
			if way == "Subscribe" {
				msgs, err := sub.Subscribe(context.Background(), topic)
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					for m := range msgs {
						got <- string(m.Payload)
						m.Ack()
					}
				}()
			} else if err := sub.SubscribeDeliveries(context.Background(), topic, func(d stream.Delivery) error {
				got <- string(d.Message().Payload)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"a", "b"} {
				select {
				case v := <-got:
					if v != want {
						t.Fatalf("delivered %q, want %q", v, want)
					}
				case <-time.After(waitFor):
					t.Fatalf("%q not delivered", want)
				}
			}
		})
	}
}
