package stream_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// handlerBinder is the memory binder with subscribers that are
// HandlerSubscribers, so that the SDK runs its bindings without a router.
type handlerBinder struct {
	stream.Binder
	calls *atomic.Int64
}

func newHandlerBinder() handlerBinder {
	return handlerBinder{Binder: memory.New(), calls: new(atomic.Int64)}
}

func (b handlerBinder) Subscriber(ctx context.Context, s stream.Subscription) (message.Subscriber, error) {
	ws, err := b.Binder.Subscriber(ctx, s)
	if err != nil {
		return nil, err
	}
	return &chanHandler{Subscriber: ws, calls: b.calls}, nil
}

// chanHandler implements SubscribeHandler on Subscribe's channel: one
// goroutine per member calls h for each message, in order, and acks or nacks
// it by the result. Each call runs on a goroutine of its own so that a panic
// or runtime.Goexit in h only nacks the message.
type chanHandler struct {
	message.Subscriber
	calls *atomic.Int64
	loops sync.WaitGroup
}

func (c *chanHandler) SubscribeHandler(ctx context.Context, topic string, h func(*message.Message) error) error {
	ch, err := c.Subscribe(ctx, topic)
	if err != nil {
		return err
	}
	c.loops.Go(func() {
		for m := range ch {
			c.calls.Add(1)
			ok := make(chan bool, 1)
			go func() {
				acked := false
				defer func() {
					recover()
					ok <- acked
				}()
				acked = h(m) == nil
			}()
			if <-ok {
				m.Ack()
			} else {
				m.Nack()
			}
		}
	})
	return nil
}

// Close closes the subscriber, which ends the members' channels, and waits
// for the calls in progress.
func (c *chanHandler) Close() error {
	err := c.Subscriber.Close()
	c.loops.Wait()
	return err
}

// The whole conformance suite holds when the SDK hands its bindings'
// handler chains to the subscriber instead of running a router.
func TestHandlerSubscriberConformance(t *testing.T) {
	streamtest.TestBinder(t, streamtest.Features{Features: stream.Features{Partitions: true, Retention: true}},
		func(testing.TB) stream.Binder { return newHandlerBinder() })
}

// A binding whose subscriber is a HandlerSubscriber is driven through
// SubscribeHandler: every message is a call of the chain, with the
// application's middleware in it, and a panic in that middleware nacks the
// message, which comes again.
func TestHandlerSubscriberRunsTheChain(t *testing.T) {
	b := newHandlerBinder()
	var panics, seen atomic.Int64
	panicOnce := func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			seen.Add(1)
			if panics.Add(1) == 1 {
				panic("middleware bug")
			}
			return h(msg)
		}
	}
	app := stream.New(stream.Config{Application: "direct", Bindings: map[string]stream.BindingProperties{
		"upper-in-0": {Destination: "words", Group: "g", Concurrency: 2},
	}}, stream.WithBinder("memory", b), stream.WithMiddleware(panicOnce))
	if err := app.Register(stream.Function("upper", func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	h.Send("upper-in-0", "hello")
	if got := streamtest.Receive[string](t, h, "upper-out-0"); got.Payload != "HELLO" {
		t.Fatalf("output %q, want HELLO", got.Payload)
	}
	if b.calls.Load() != 2 || seen.Load() != 2 {
		t.Fatalf("SubscribeHandler made %d calls and the middleware saw %d; want 2 each (a panic, then the redelivery)",
			b.calls.Load(), seen.Load())
	}
}

// The members of a binding outlive the context the binding was started
// with (fx cancels its start context once every hook ran): only stopping
// the binding ends them.
func TestHandlerSubscriberOutlivesStartContext(t *testing.T) {
	app := stream.New(stream.Config{Application: "direct", Bindings: map[string]stream.BindingProperties{
		"upper-in-0": {Destination: "words", Group: "g"},
	}}, stream.WithBinder("memory", newHandlerBinder()))
	if err := app.Register(stream.Function("upper", func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	ctx, cancel := context.WithCancel(context.Background())
	for _, s := range []stream.State{stream.StateStopped, stream.StateStarted} {
		if err := app.SetState(ctx, "upper-in-0", s); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	h.Send("upper-in-0", "still here")
	if got := streamtest.Receive[string](t, h, "upper-out-0"); got.Payload != "STILL HERE" {
		t.Fatalf("output %q, want STILL HERE", got.Payload)
	}
}
