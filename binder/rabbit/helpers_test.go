package rabbit_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/stream"
)

const waitFor = 10 * time.Second

func dest() string { return "rabbit-test." + watermill.NewShortUUID() }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func publisher(t testing.TB, b *rabbit.Binder, destination string) message.Publisher {
	t.Helper()
	p, err := b.Publisher(t.Context(), stream.Publication{Destination: destination, Properties: stream.BindingProperties{}.WithDefaults(destination)})
	if err != nil {
		t.Fatalf("Publisher(%s): %v", destination, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// subscription returns a Subscription of destination and group (anonymous
// when group is empty) with defaults applied.
func subscription(destination, group string) stream.Subscription {
	s := stream.Subscription{Destination: destination, Group: group, StartOffset: stream.Earliest}
	if group == "" {
		s.Group, s.Anonymous, s.StartOffset = "anonymous."+watermill.NewShortUUID(), true, stream.Latest
	}
	s.Properties = stream.BindingProperties{Group: group}.WithDefaults(destination)
	return s
}

// members opens s with n members.
func members(t testing.TB, b *rabbit.Binder, s stream.Subscription, n int) (message.Subscriber, []<-chan *message.Message) {
	t.Helper()
	sub, err := b.Subscriber(t.Context(), s)
	if err != nil {
		t.Fatalf("Subscriber(%s, %s): %v", s.Destination, s.Group, err)
	}
	t.Cleanup(func() { sub.Close() })
	var chans []<-chan *message.Message
	for range n {
		ch, err := sub.Subscribe(context.WithoutCancel(t.Context()), s.Destination)
		if err != nil {
			t.Fatalf("Subscribe(%s): %v", s.Destination, err)
		}
		chans = append(chans, ch)
	}
	return sub, chans
}

func receive(t testing.TB, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed while waiting for a message")
		}
		return m
	case <-time.After(waitFor):
		t.Fatalf("no message within %v", waitFor)
	}
	return nil
}

// rawChannel is a plain amqp091 channel to the test server, for looking at
// what the binder put on the broker.
func rawChannel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(broker(t).URL)
	if err != nil {
		t.Fatalf("dial %s: %v", broker(t).URL, err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return ch
}

// get polls queue with basic.get until a message comes or the deadline.
func get(t testing.TB, ch *amqp.Channel, queue string) amqp.Delivery {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("basic.get %s: %v", queue, err)
		}
		if ok {
			return d
		}
		if time.Now().After(deadline) {
			break
		}
	}
	t.Fatalf("no message in queue %s within %v", queue, waitFor)
	return amqp.Delivery{}
}
