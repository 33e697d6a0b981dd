package rabbit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/stream"
)

// TestDeadLetterQueueKeepsDotDLQ: the RabbitMQ binder names no dead-letter
// destination of its own (unlike Kafka's error.<destination>.<group>): an
// App on it sends a failed message to the SDK's <destination>.<group>.dlq,
// read here from that queue with a plain AMQP client.
func TestDeadLetterQueueKeepsDotDLQ(t *testing.T) {
	b := newBinder(t)
	if _, ok := any(b).(stream.DeadLetterNamer); ok {
		t.Fatal("the rabbit binder is a DeadLetterNamer; its dead letters would leave <destination>.<group>.dlq")
	}
	d := dest()
	app := stream.New(stream.Config{Application: "dlq", Bindings: map[string]stream.BindingProperties{
		"charge-in-0": {Destination: d, Group: "billing", DLQ: true, MaxAttempts: 1},
	}}, stream.WithBinder("rabbit", b))
	if err := app.Register(stream.Consumer("charge", func(_ context.Context, in string) error {
		return errors.New("card declined for " + in)
	})); err != nil {
		t.Fatal(err)
	}
	want := d + ".billing.dlq"
	if got := app.Properties("charge-in-0").DLQDestination; got != want {
		t.Fatalf("dlq-destination = %q, want %q", got, want)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	if err := publisher(t, b, d).Publish(d, message.NewMessage("m1", []byte("order-7"))); err != nil {
		t.Fatal(err)
	}
	dl := get(t, rawChannel(t), want)
	if string(dl.Body) != "order-7" || dl.Headers[stream.HeaderOriginalDestination] != d ||
		dl.Headers[stream.HeaderOriginalGroup] != "billing" || dl.Headers[stream.HeaderExceptionMessage] != "card declined for order-7" {
		t.Errorf("dead letter in %s = %q with headers %v", want, dl.Body, dl.Headers)
	}
}
