package rabbit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/rabbit"
)

// TestAckAfterCloseCounts: Close waits for the message in hand, and its Ack
// during Close removes it from the queue (no redelivery on the next start).
func TestAckAfterCloseCounts(t *testing.T) {
	b := newBinder(t)
	d := dest()
	s := subscription(d, "g")
	sub, chans := members(t, b, s, 1)
	p := publisher(t, b, d)
	if err := p.Publish(d, message.NewMessage("in-hand", nil)); err != nil {
		t.Fatal(err)
	}
	m := receive(t, chans[0])
	closed := make(chan error, 1)
	go func() { closed <- sub.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a message was in hand", err)
	case <-time.After(100 * time.Millisecond):
	}
	m.Ack()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Close did not return after the ack")
	}
	if _, ok := <-chans[0]; ok {
		t.Error("a message came after Close")
	}
	q, err := rawChannel(t).QueueDeclarePassive(d+".g", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != 0 {
		t.Fatalf("queue %s holds %d messages after the ack during Close, want 0", q.Name, q.Messages)
	}
}

// TestCloseTimeoutRequeues: a message still unsettled at close-timeout goes
// back to the queue, and the group gets it again.
func TestCloseTimeoutRequeues(t *testing.T) {
	b, err := rabbit.New(t.Context(), rabbit.Config{URL: broker(t).URL, CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	d := dest()
	sub, chans := members(t, b, subscription(d, "g"), 1)
	if err := publisher(t, b, d).Publish(d, message.NewMessage("stuck", nil)); err != nil {
		t.Fatal(err)
	}
	receive(t, chans[0]) // never settled
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, again := members(t, b, subscription(d, "g"), 1)
	m := receive(t, again[0])
	m.Ack()
	if m.UUID != "stuck" {
		t.Fatalf("after close-timeout got %q, want stuck again", m.UUID)
	}
}

func TestClosedBinder(t *testing.T) {
	b := newBinder(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Health(t.Context()); !errors.Is(err, rabbit.ErrClosed) {
		t.Errorf("Health after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Subscriber(t.Context(), subscription(dest(), "g")); !errors.Is(err, rabbit.ErrClosed) {
		t.Errorf("Subscriber after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}
