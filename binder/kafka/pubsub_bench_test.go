package kafka_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
)

const benchMsgSize = 256

func randomMessages(n int) []*message.Message {
	out := make([]*message.Message, n)
	for i := range out {
		p := make([]byte, benchMsgSize)
		_, _ = rand.Read(p)
		out[i] = message.NewMessage(watermill.NewUUID(), p)
	}
	return out
}

// BenchmarkPublishSync is one synchronous Publish of one message at a time
// (acks=all, idempotent): the latency every SDK output pays.
func BenchmarkPublishSync(b *testing.B) {
	brokers := testBrokers(b)
	pub := publisher(b, brokers, nil)
	topic := newTopic(b)
	msgs := randomMessages(1024)
	if err := pub.Publish(topic, msgs[0]); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchMsgSize)
	b.ResetTimer()
	for i := range b.N {
		if err := pub.Publish(topic, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubscribe reads and acks b.N messages of one partition.
func BenchmarkSubscribe(b *testing.B) {
	brokers := testBrokers(b)
	pub := publisher(b, brokers, nil)
	topic := newTopic(b)
	msgs := randomMessages(1024)
	for i := 0; i < b.N; i += len(msgs) {
		batch := msgs[:min(len(msgs), b.N-i)]
		for _, m := range batch {
			m.UUID = watermill.NewUUID()
		}
		if err := pub.Publish(topic, batch...); err != nil {
			b.Fatal(err)
		}
	}
	sub := subscriber(b, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	b.SetBytes(benchMsgSize)
	b.ResetTimer()
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		(<-ch).Ack()
	}
}
