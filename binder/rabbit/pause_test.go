package rabbit_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/stream"
)

func publishN(t *testing.T, p message.Publisher, topic string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := p.Publish(topic, message.NewMessage(strconv.Itoa(i), []byte(strconv.Itoa(i)))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAppPauseIsNative: an App on the RabbitMQ binder pauses a binding in
// the binder (its subscriber is a stream.Pauser): nothing is delivered
// while paused, and after the resume every message comes once.
func TestAppPauseIsNative(t *testing.T) {
	d := dest()
	b := newBinder(t)
	app := stream.New(stream.Config{Application: "pause", Bindings: map[string]stream.BindingProperties{
		"sink-in-0": {Destination: d, Group: "sink", Concurrency: 2},
	}}, stream.WithBinder("rabbit", b))
	var mu sync.Mutex
	got := map[string]int{}
	if err := app.Register(stream.Consumer("sink", func(_ context.Context, in string) error {
		mu.Lock()
		got[in]++
		mu.Unlock()
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	waitCount := func(n int) {
		t.Helper()
		deadline := time.Now().Add(waitFor)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("handled %d distinct messages, want %d", count(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	pub := publisher(t, b, d)
	publishN(t, pub, d, 0, 10)
	waitCount(10)
	if err := app.SetState(ctx, "sink-in-0", stream.StatePaused); err != nil {
		t.Fatal(err)
	}
	if !rabbit.BinderPaused(b) {
		t.Fatal("the binding is paused but its RabbitMQ subscriber is not: the SDK used its gate")
	}
	publishN(t, pub, d, 10, 50)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if n := count(); n != 10 {
			t.Fatalf("handled %d messages while paused, want 10", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := app.SetState(ctx, "sink-in-0", stream.StateResumed); err != nil {
		t.Fatal(err)
	}
	waitCount(50)
	mu.Lock()
	defer mu.Unlock()
	for i := range 50 {
		if n := got[strconv.Itoa(i)]; n != 1 {
			t.Errorf("message %d handled %d times, want 1", i, n)
		}
	}
}

// TestPauseLetsOthersConsume: while one subscriber of a group is paused,
// another subscriber of the same group (another instance) gets the queue's
// messages, including what the paused one had prefetched; nothing is lost.
func TestPauseLetsOthersConsume(t *testing.T) {
	d := dest()
	b := newBinder(t)
	sub := subscription(d, "g")
	a, as := members(t, b, sub, 1)
	pub := publisher(t, b, d)
	publishN(t, pub, d, 0, 1)
	m := receive(t, as[0])
	ctx := context.Background()
	pa := a.(stream.Pauser)
	if err := pa.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	m.Nack() // handed out before the pause: requeued, held from a
	publishN(t, pub, d, 1, 20)
	_, bs := members(t, b, sub, 1)
	seen := map[string]bool{}
	for len(seen) < 20 {
		m := receive(t, bs[0])
		seen[m.UUID] = true
		m.Ack()
	}
	select {
	case m, ok := <-as[0]:
		if ok {
			t.Errorf("paused subscriber delivered %s", m.UUID)
		}
	default:
	}
	if err := pa.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pa.Pause(ctx); err == nil {
		t.Error("Pause after Close = nil, want an error")
	}
}
