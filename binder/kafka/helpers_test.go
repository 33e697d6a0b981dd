package kafka_test

import (
	"context"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/binder/kafka"
)

const waitFor = 15 * time.Second

func newTopic(t testing.TB) string {
	t.Helper()
	return "t-" + watermill.NewShortUUID()
}

func publisher(t testing.TB, brokers []string, mod func(*kafka.PublisherConfig)) *kafka.Publisher {
	t.Helper()
	cfg := kafka.PublisherConfig{Connection: kafka.Connection{Brokers: brokers}}
	if mod != nil {
		mod(&cfg)
	}
	pub, err := kafka.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	return pub
}

func subscriber(t testing.TB, brokers []string, mod func(*kafka.SubscriberConfig)) *kafka.Subscriber {
	t.Helper()
	cfg := kafka.SubscriberConfig{
		Connection:      kafka.Connection{Brokers: brokers},
		NackResendDelay: time.Millisecond,
		CloseTimeout:    500 * time.Millisecond,
		CommitInterval:  50 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	sub, err := kafka.NewSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func admin(t testing.TB, brokers []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// readAll reads n records of topic from the start with a plain franz-go
// consumer, sorted by partition and offset.
func readAll(t testing.TB, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s before the deadline", len(out), n, topic)
		}
		out = append(out, fs.Records()...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

// receive waits for the next message.
func receive(t testing.TB, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("messages channel closed")
		}
		return m
	case <-time.After(waitFor):
		t.Fatal("no message within", waitFor)
	}
	return nil
}

// receiveNone checks that no message comes for a while: the only way to
// observe that something does not happen.
func receiveNone(t testing.TB, msgs <-chan *message.Message, d time.Duration) {
	t.Helper()
	select {
	case m := <-msgs:
		t.Fatalf("got message %s (%q), want none", m.UUID, m.Payload)
	case <-time.After(d):
	}
}

// unreachable returns the address of a port on 127.0.0.1 that nothing
// listens on: connecting to it is refused.
func unreachable(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
