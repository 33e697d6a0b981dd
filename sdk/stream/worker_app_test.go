package stream_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// A panic in an application's middleware (outside the SDK's recovery,
// which covers the handler) happens on a worker goroutine; it must still
// reach Watermill's router, which nacks the message: the message comes
// again and is handled, and the application keeps running.
func TestMiddlewarePanicNacksAndTheMessageComesAgain(t *testing.T) {
	var panics, handled atomic.Int64
	panicOnce := func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if panics.Add(1) == 1 {
				panic("middleware bug")
			}
			return h(msg)
		}
	}
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"upper-in-0": {Group: "g"},
	}}, stream.WithBinder("memory", memory.New()), stream.WithMiddleware(panicOnce))
	if err := app.Register(stream.Function("upper", func(ctx context.Context, s string) (string, error) {
		handled.Add(1)
		return uppercase(ctx, s)
	})); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	h.Send("upper-in-0", "again")
	if got := streamtest.Receive[string](t, h, "upper-out-0"); got.Payload != "AGAIN" {
		t.Fatalf("output %q, want AGAIN", got.Payload)
	}
	if panics.Load() < 2 || handled.Load() != 1 {
		t.Fatalf("middleware ran %d times, handler %d; want the panicked delivery redelivered and handled once", panics.Load(), handled.Load())
	}
}
