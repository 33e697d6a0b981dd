package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// BenchmarkSDKPath measures the CPU the SDK spends on one message of
// samples/uppercase on the Kafka binder's path, without a broker: a record
// is handed, with a commit hold, on the subscriber's goroutine as the Kafka
// subscriber does it, to the SDK, which reads it as a CloudEvent, calls the
// function and encodes its output, which is marshalled to a record as the
// Kafka publisher does it (whose delivery completes at once). One
// partition, one message at a time, as a group member hands them out.
// ns/op is the SDK's cost per message on top of franz-go and the broker.
//
// way=deliveries is how the SDK runs samples/uppercase: each record a
// delivery (SubscribeDeliveries), read straight from its headers, with no
// Watermill message. way=messages is how it runs an application with
// middleware of its own (here one that does nothing): each record
// unmarshalled into a Watermill message, given to the handler chain
// (SubscribeHandler).
func BenchmarkSDKPath(b *testing.B) {
	for _, way := range []string{"deliveries", "messages"} {
		b.Run("way="+way, func(b *testing.B) {
			lb := &loopBinder{records: benchRecords(), n: b.N, done: make(chan struct{})}
			opts := []stream.Option{stream.WithBinder("loop", lb)}
			if way == "messages" {
				opts = append(opts, stream.WithMiddleware(func(h message.HandlerFunc) message.HandlerFunc { return h }))
			}
			app := stream.New(stream.Config{Application: "bench", Bindings: map[string]stream.BindingProperties{
				"uppercase-in-0":  {Destination: "words", Group: "sdk"},
				"uppercase-out-0": {Destination: "upper-words"},
			}}, opts...)
			if err := app.Register(stream.Function("uppercase", func(_ context.Context, in string) (string, error) {
				return strings.ToUpper(in), nil
			})); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(benchPayloadSize)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			if err := app.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			<-lb.done
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
			if err := app.Stop(context.Background()); err != nil {
				b.Error(err)
			}
			if got := lb.published.Load(); got != int64(b.N) {
				b.Fatalf("published %d outputs of %d inputs", got, b.N)
			}
			if lb.err != nil {
				b.Fatal(lb.err)
			}
		})
	}
}

// BenchmarkRouterPath is what running the SDK on Watermill's router cost
// before the SDK called the handler chain on the subscriber's goroutine:
// the same records, unmarshalled, handed out through a channel and
// marshalled the same way, through a bare Watermill router whose handler
// upper-cases the payload into a new message (no SDK: no CloudEvent
// decoding or encoding, codecs, middleware or commit holds).
func BenchmarkRouterPath(b *testing.B) {
	lb := &loopBinder{records: benchRecords(), n: b.N, done: make(chan struct{})}
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	if err != nil {
		b.Fatal(err)
	}
	router.AddHandler("uppercase", "words", loopSubscriber{lb}, "upper-words", loopPublisher{lb}, func(msg *message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage(watermill.NewUUID(), bytes.ToUpper(msg.Payload))}, nil
	})
	b.SetBytes(benchPayloadSize)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	go router.Run(context.Background())
	<-lb.done
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if err := router.Close(); err != nil {
		b.Error(err)
	}
	if got := lb.published.Load(); got != int64(b.N) {
		b.Fatalf("published %d outputs of %d inputs", got, b.N)
	}
	if lb.err != nil {
		b.Fatal(lb.err)
	}
}

// benchRecords are CloudEvents as another Millstream application writes
// them, with random lower-case payloads.
func benchRecords() []*kgo.Record {
	records := make([]*kgo.Record, 1024)
	for i := range records {
		v := make([]byte, benchPayloadSize)
		for j := range v {
			v[j] = 'a' + byte(rand.IntN(26))
		}
		id := watermill.NewUUID()
		records[i] = &kgo.Record{Topic: "words", Key: []byte(id[:8]), Value: v, Offset: int64(i), Headers: []kgo.RecordHeader{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte(id)},
			{Key: "ce_source", Value: []byte("bench")}, {Key: "ce_type", Value: []byte("millstream.string")},
			{Key: "content-type", Value: []byte("text/plain")},
		}}
	}
	return records
}

// loopBinder hands out n records, one at a time as a Kafka partition does,
// and marshals the outputs without sending them.
type loopBinder struct {
	records   []*kgo.Record
	n         int
	done      chan struct{}
	published atomic.Int64
	err       error
}

func (l *loopBinder) Features() stream.Features         { return stream.Features{Durable: true} }
func (l *loopBinder) Convention() cloudevent.Convention { return cloudevent.Kafka() }
func (l *loopBinder) Close() error                      { return nil }

func (l *loopBinder) Publisher(context.Context, stream.Publication) (message.Publisher, error) {
	return loopPublisher{l}, nil
}

func (l *loopBinder) Subscriber(context.Context, stream.Subscription) (message.Subscriber, error) {
	return loopSubscriber{l}, nil
}

type loopPublisher struct{ l *loopBinder }

func (p loopPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		if _, err := (kafka.DefaultMarshaler{}).Marshal(topic, m); err != nil {
			return err
		}
		p.l.published.Add(1)
	}
	return nil
}

func (p loopPublisher) PublishAsync(_ context.Context, topic string, msg *message.Message, done func(error)) {
	done(p.Publish(topic, msg))
}

func (p loopPublisher) PublishEvent(_ context.Context, topic string, ev *cloudevent.BinaryEvent, c cloudevent.Convention, done func(error)) bool {
	kafka.MarshalEvent(topic, ev, c)
	p.l.published.Add(1)
	done(nil)
	return true
}

func (p loopPublisher) Close() error { return nil }

type loopSubscriber struct{ l *loopBinder }

func (s loopSubscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		s.run(ctx, func(msg *message.Message) error {
			select {
			case out <- msg:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case <-msg.Acked():
				return nil
			case <-msg.Nacked():
				return errors.New("message nacked")
			}
		})
	}()
	return out, nil
}

// SubscribeHandler delivers as Subscribe does, calling h on the
// subscriber's goroutine as the Kafka subscriber does (no router).
func (s loopSubscriber) SubscribeHandler(ctx context.Context, _ string, h func(*message.Message) error) error {
	go s.run(ctx, func(msg *message.Message) error {
		if err := h(msg); err != nil {
			return err
		}
		msg.Ack()
		return nil
	})
	return nil
}

// SubscribeDeliveries hands out the records as deliveries, as the Kafka
// subscriber does for the SDK: the first attempt at a message needs no
// Watermill message.
func (s loopSubscriber) SubscribeDeliveries(ctx context.Context, _ string, h func(stream.Delivery) error) error {
	values := context.WithoutCancel(ctx)
	go func() {
		defer close(s.l.done)
		for i := range s.l.n {
			d, hold := kafka.NewDelivery(values, s.l.records[i%len(s.l.records)])
			err := h(d)
			kafka.EndDelivery(d)
			hold.Settled(func(error) {})
			if err != nil {
				s.l.err = err
				return
			}
		}
	}()
	return nil
}

// run hands out the n records one at a time, as a Kafka partition does:
// each unmarshalled and given a commit hold, the next only once hand
// reports the one before acked (nil). It closes done at the end.
func (s loopSubscriber) run(ctx context.Context, hand func(*message.Message) error) {
	defer close(s.l.done)
	for i := range s.l.n {
		msg, err := (kafka.DefaultMarshaler{}).Unmarshal(s.l.records[i%len(s.l.records)])
		if err != nil {
			s.l.err = err
			return
		}
		mctx, cancel := context.WithCancel(ctx)
		mctx, hold := stream.WithCommitHold(mctx)
		msg.SetContext(mctx)
		err = hand(msg)
		cancel()
		hold.Settled(func(error) {})
		if err != nil {
			s.l.err = err
			return
		}
	}
}

func (s loopSubscriber) Close() error { return nil }
