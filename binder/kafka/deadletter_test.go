package kafka_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/stream"
)

// TestDeadLetterTopicIsSprings: with dlq on and no dlq-destination, an App
// on the Kafka binder creates error.<destination>.<group> when the binding
// starts, and a message that failed its last attempt lands there with the
// SDK's dead-letter headers.
func TestDeadLetterTopicIsSprings(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	dlq := "error." + topic + ".billing"
	b := newBinder(t, kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
	app := stream.New(stream.Config{Application: "dlq", Bindings: map[string]stream.BindingProperties{
		"charge-in-0": {Destination: topic, Group: "billing", DLQ: true, MaxAttempts: 2, BackOffInitialInterval: 1},
	}}, stream.WithBinder("kafka", b))
	if err := app.Register(stream.Consumer("charge", func(_ context.Context, in string) error {
		return errors.New("card declined for " + in)
	})); err != nil {
		t.Fatal(err)
	}
	if got := app.Properties("charge-in-0").DLQDestination; got != dlq {
		t.Fatalf("dlq-destination = %q, want %q", got, dlq)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })

	topics, err := admin(t, brokers).ListTopics(ctx, dlq)
	if err != nil {
		t.Fatal(err)
	}
	if !topics.Has(dlq) || topics[dlq].Err != nil {
		t.Fatalf("after start, ListTopics(%s) = %v; want the dead-letter topic provisioned", dlq, topics)
	}

	if err := publisher(t, brokers, nil).Publish(topic, message.NewMessage("m1", []byte("order-7"))); err != nil {
		t.Fatal(err)
	}
	rec := readAll(t, brokers, dlq, 1)[0]
	headers := map[string]string{}
	for _, h := range rec.Headers {
		headers[h.Key] = string(h.Value)
	}
	want := map[string]string{
		stream.HeaderOriginalDestination: topic,
		stream.HeaderOriginalGroup:       "billing",
		stream.HeaderExceptionMessage:    "card declined for order-7",
		stream.HeaderAttempts:            "2",
	}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("dead letter header %s = %q, want %q (headers %v)", k, headers[k], v, headers)
		}
	}
	if string(rec.Value) != "order-7" {
		t.Errorf("dead letter value = %q, want order-7", rec.Value)
	}
}

// TestSubscriberProvisionsDeadLetterTopic: a subscription with dlq on gets
// its dead-letter topic from the binder itself, without the SDK opening a
// publisher for it; with dlq off, none is made.
func TestSubscriberProvisionsDeadLetterTopic(t *testing.T) {
	brokers := testBrokers(t)
	b := newBinder(t, kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	on, off := newTopic(t), newTopic(t)
	for _, c := range []struct {
		topic string
		dlq   bool
	}{{on, true}, {off, false}} {
		props := stream.BindingProperties{Group: "g", DLQ: c.dlq}.WithDefaults(c.topic)
		props.DLQDestination = b.DeadLetterDestination(c.topic, "g")
		sub, err := b.Subscriber(ctx, stream.Subscription{Destination: c.topic, Group: "g", StartOffset: stream.Earliest, Properties: props})
		if err != nil {
			t.Fatal(err)
		}
		sub.Close()
	}
	topics, err := admin(t, brokers).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := topics.Names()
	if !slices.Contains(names, "error."+on+".g") || slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "error."+off) }) {
		t.Errorf("topics %v: want error.%s.g and no error.%s...", names, on, off)
	}
}

func TestDeadLetterDestinationName(t *testing.T) {
	var b *kafka.Binder
	for _, c := range []struct{ dest, group, want string }{
		{"orders", "billing", "error.orders.billing"},
		{"orders", "", "error.orders"},
	} {
		if got := b.DeadLetterDestination(c.dest, c.group); got != c.want {
			t.Errorf("DeadLetterDestination(%q, %q) = %q, want %q", c.dest, c.group, got, c.want)
		}
	}
}
