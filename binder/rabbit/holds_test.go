package rabbit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/stream"
)

// TestPublishAsyncInOrder: every message queued with PublishAsync
// completes once, with nil, in queuing order, and arrives in that order;
// after Close PublishAsync fails at once.
func TestPublishAsyncInOrder(t *testing.T) {
	const n = 300
	b := newBinder(t)
	d := dest()
	_, chans := members(t, b, subscription(d, "g"), 1)
	pub := publisher(t, b, d)
	ap, ok := pub.(stream.AsyncPublisher)
	if !ok {
		t.Fatalf("%T is not a stream.AsyncPublisher", pub)
	}
	var mu sync.Mutex
	var completed []int
	for i := range n {
		m := message.NewMessage(fmt.Sprintf("id-%03d", i), []byte(fmt.Sprintf("%03d", i)))
		ap.PublishAsync(context.Background(), d, m, func(err error) {
			if err != nil {
				t.Errorf("message %d: done(%v), want nil", i, err)
			}
			mu.Lock()
			completed = append(completed, i)
			mu.Unlock()
		})
	}
	for i := range n {
		m := receive(t, chans[0])
		if got, want := string(m.Payload), fmt.Sprintf("%03d", i); got != want {
			t.Fatalf("message %d: payload %q, want %q", i, got, want)
		}
		m.Ack()
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	mu.Lock()
	if len(completed) != n {
		t.Fatalf("%d completions after Close, want %d", len(completed), n)
	}
	for i, c := range completed {
		if c != i {
			t.Fatalf("completion %d was of message %d: out of order", i, c)
		}
	}
	mu.Unlock()
	errc := make(chan error, 1)
	ap.PublishAsync(context.Background(), d, message.NewMessage("late", []byte("late")), func(err error) { errc <- err })
	if err := <-errc; !errors.Is(err, rabbit.ErrClosed) {
		t.Fatalf("PublishAsync after Close: done(%v), want %v", err, rabbit.ErrClosed)
	}
}

// TestHoldKeepsDeliveryAndRequeuesInOrder: with prefetch above 1, a member
// hands out the next message while an acked one's output is pending; when
// that output fails, it and every later message come again, in order.
func TestHoldKeepsDeliveryAndRequeuesInOrder(t *testing.T) {
	b := newBinderWith(t, rabbit.Config{Prefetch: 8})
	d := dest()
	_, chans := members(t, b, subscription(d, "g"), 1)
	pub := publisher(t, b, d)
	for _, p := range []string{"a", "b", "c"} {
		if err := pub.Publish(d, message.NewMessage(p, []byte(p))); err != nil {
			t.Fatal(err)
		}
	}
	a := receive(t, chans[0])
	hold := stream.CommitHoldFrom(a.Context())
	if hold == nil {
		t.Fatal("message has no stream.CommitHold in its context")
	}
	doneA := hold.Add()
	a.Ack()
	// b is handed out although a's output is pending.
	if m := receive(t, chans[0]); string(m.Payload) != "b" {
		t.Fatalf("second message %q, want b", m.Payload)
	} else {
		m.Ack()
	}
	doneA(errors.New("output lost"))
	// c may have been handed out before the member learnt of the failure;
	// then it is requeued too. After that: a, b and c again, in order.
	m := receive(t, chans[0])
	if string(m.Payload) == "c" {
		m.Ack()
		m = receive(t, chans[0])
	}
	got := []string{string(m.Payload)}
	m.Ack()
	for len(got) < 3 {
		m := receive(t, chans[0])
		got = append(got, string(m.Payload))
		m.Ack()
	}
	if fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("after the failed output: %v, want [a b c]", got)
	}
}
