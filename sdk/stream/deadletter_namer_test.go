package stream_test

import (
	"context"
	"errors"
	"testing"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// prefixNamer is the memory binder with a dead-letter convention of its
// own, the way the Kafka binder has Spring's error.<destination>.<group>.
type prefixNamer struct{ *memory.Binder }

func (prefixNamer) DeadLetterDestination(destination, group string) string {
	return "dead." + destination + "." + group
}

var _ stream.DeadLetterNamer = prefixNamer{}

// TestDeadLetterNamer: the binder names the dead-letter destination of a
// binding with dlq on unless dlq-destination is set; a binder without a
// convention gets the SDK's; a failed message lands where Properties says.
func TestDeadLetterNamer(t *testing.T) {
	failing := func(name string) stream.Handler {
		return stream.Consumer(name, func(context.Context, string) error { return stream.Permanent(errors.New("no")) })
	}
	cases := []struct {
		name   string
		binder stream.Binder
		props  stream.BindingProperties
		want   string
	}{
		{"namer", prefixNamer{memory.New()}, stream.BindingProperties{Destination: "orders", Group: "billing", DLQ: true}, "dead.orders.billing"},
		{"explicit dlq-destination beats the namer", prefixNamer{memory.New()},
			stream.BindingProperties{Destination: "orders", Group: "billing", DLQ: true, DLQDestination: "parked"}, "parked"},
		{"no namer", memory.New(), stream.BindingProperties{Destination: "orders", Group: "billing", DLQ: true}, "orders.billing.dlq"},
		{"no namer, anonymous", memory.New(), stream.BindingProperties{Destination: "orders", DLQ: true}, "orders.dlq"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{"fail-in-0": fast(c.props)}},
				stream.WithBinder("b", c.binder))
			if err := app.Register(failing("fail")); err != nil {
				t.Fatal(err)
			}
			p := app.Properties("fail-in-0")
			if p.DLQDestination != c.want || p.BindingName != "fail-in-0" {
				t.Fatalf("Properties(fail-in-0) = dlq-destination %q, binding name %q; want %q and fail-in-0", p.DLQDestination, p.BindingName, c.want)
			}
			h := streamtest.Run(t, app)
			h.Send("fail-in-0", "x")
			dl := streamtest.Receive[string](t, h, c.want)
			if dl.Payload != "x" || dl.Headers[stream.HeaderOriginalDestination] != "orders" || dl.Headers[stream.HeaderAttempts] != "1" {
				t.Errorf("dead letter on %s = %q with headers %v; want x from orders after 1 attempt", c.want, dl.Payload, dl.Headers)
			}
		})
	}
}

// TestDeadLetterNamerOnlyWithDLQ: with dlq off nothing is sent, and the
// binder is not asked; the property keeps the SDK's default.
func TestDeadLetterNamerOnlyWithDLQ(t *testing.T) {
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"fail-in-0": {Destination: "orders", Group: "billing"},
	}}, stream.WithBinder("b", prefixNamer{memory.New()}))
	if got := app.Properties("fail-in-0").DLQDestination; got != "orders.billing.dlq" {
		t.Errorf("dlq-destination with dlq off = %q, want orders.billing.dlq", got)
	}
}
