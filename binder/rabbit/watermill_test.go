package rabbit_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Watermill-level tests: the binder's publisher and subscriber used
// directly, without the SDK.

func TestPublishSubscribeRoundTrip(t *testing.T) {
	b := newBinder(t)
	d := dest()
	_, chans := members(t, b, subscription(d, "g"), 1)
	p := publisher(t, b, d)
	const n = 50
	var sent []*message.Message
	for i := range n {
		m := message.NewMessage(watermill.NewUUID(), randomBytes(1+i*37))
		m.Metadata["content-type"] = "application/octet-stream"
		m.Metadata["x-seq"] = strconv.Itoa(i)
		if err := p.Publish(d, m); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		sent = append(sent, m)
	}
	for i, want := range sent {
		got := receive(t, chans[0])
		got.Ack()
		if got.UUID != want.UUID || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("message %d = %s (%d bytes), want %s (%d bytes) in order", i, got.UUID, len(got.Payload), want.UUID, len(want.Payload))
		}
		for k, v := range want.Metadata {
			if got.Metadata[k] != v {
				t.Errorf("message %d metadata %s = %q, want %q", i, k, got.Metadata[k], v)
			}
		}
	}
}

func TestGroupSemantics(t *testing.T) {
	b := newBinder(t)
	d := dest()
	_, a := members(t, b, subscription(d, "a"), 1)
	_, c := members(t, b, subscription(d, "c"), 1)
	_, shared := members(t, b, subscription(d, "shared"), 2)
	p := publisher(t, b, d)
	const n = 40
	for i := range n {
		if err := p.Publish(d, message.NewMessage(strconv.Itoa(i), []byte(strconv.Itoa(i)))); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	for name, ch := range map[string]<-chan *message.Message{"a": a[0], "c": c[0]} {
		seen := map[string]bool{}
		for range n {
			m := receive(t, ch)
			m.Ack()
			seen[m.UUID] = true
		}
		if len(seen) != n {
			t.Errorf("group %s got %d distinct messages, want %d", name, len(seen), n)
		}
	}

	var mu sync.Mutex
	count := map[string]int{}
	per := make([]int, len(shared))
	var total atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, ch := range shared {
		wg.Go(func() {
			for {
				select {
				case m := <-ch:
					mu.Lock()
					count[m.UUID]++
					per[i]++
					mu.Unlock()
					m.Ack()
					if total.Add(1) == n {
						close(done)
					}
				case <-done:
					return
				}
			}
		})
	}
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatalf("the shared group got %d of %d messages", total.Load(), n)
	}
	wg.Wait()
	for id, c := range count {
		if c != 1 {
			t.Errorf("message %s delivered %d times within one group", id, c)
		}
	}
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("members of one group split %v, want both to get some", per)
	}
}

// TestDeadLetterAfterMaxAttempts runs a Watermill router with Retry and a
// poison queue that publishes to the binding's dead-letter destination.
func TestDeadLetterAfterMaxAttempts(t *testing.T) {
	b := newBinder(t)
	d := dest()
	s := subscription(d, "g")
	s.Properties.DLQ = true
	sub, err := b.Subscriber(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	dlq := publisher(t, b, s.Properties.DLQDestination)
	poison, err := middleware.PoisonQueue(dlq, s.Properties.DLQDestination)
	if err != nil {
		t.Fatal(err)
	}
	r, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	const maxAttempts = 3
	var attempts atomic.Int64
	r.AddMiddleware(poison, middleware.Retry{MaxRetries: maxAttempts - 1, InitialInterval: time.Millisecond}.Middleware)
	r.AddConsumerHandler("fail", d, sub, func(*message.Message) error {
		attempts.Add(1)
		return errors.New("boom")
	})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		r.Close()
		<-runDone
	})
	<-r.Running()

	payload := randomBytes(300)
	if err := publisher(t, b, d).Publish(d, message.NewMessage("doomed", payload)); err != nil {
		t.Fatal(err)
	}
	got := get(t, rawChannel(t), s.Properties.DLQDestination)
	if !bytes.Equal(got.Body, payload) || got.MessageId != "doomed" {
		t.Errorf("dead letter = %s (%d bytes), want doomed with the original payload", got.MessageId, len(got.Body))
	}
	if got.Headers[middleware.ReasonForPoisonedKey] != "boom" {
		t.Errorf("dead letter reason = %v, want boom (headers %v)", got.Headers[middleware.ReasonForPoisonedKey], got.Headers)
	}
	if n := attempts.Load(); n != maxAttempts {
		t.Errorf("handler ran %d times, want %d", n, maxAttempts)
	}
}

// TestBrokerDeadLetter: a message the broker dead-letters (rejected without
// requeue by some other consumer) goes through the group queue's
// x-dead-letter-exchange into the same dead-letter queue.
func TestBrokerDeadLetter(t *testing.T) {
	b := newBinder(t)
	d := dest()
	s := subscription(d, "g")
	s.Properties.DLQ = true
	members(t, b, s, 0) // declares the topology; no member consumes
	if err := publisher(t, b, d).Publish(d, message.NewMessage("rejected", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	ch := rawChannel(t)
	queue := d + ".g"
	deadline := time.Now().Add(waitFor)
	for {
		msg, ok, err := ch.Get(queue, false)
		if err != nil {
			t.Fatalf("basic.get %s: %v", queue, err)
		}
		if ok {
			if err := msg.Reject(false); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing in %s within %v", queue, waitFor)
		}
		time.Sleep(20 * time.Millisecond) // polling the broker, not timing the test
	}
	dl := get(t, ch, s.Properties.DLQDestination)
	if dl.MessageId != "rejected" {
		t.Errorf("dead letter id = %q, want rejected", dl.MessageId)
	}
	deaths, _ := dl.Headers["x-death"].([]any)
	if len(deaths) != 1 {
		t.Fatalf("x-death = %v, want one entry", dl.Headers["x-death"])
	}
	if death, _ := deaths[0].(amqp.Table); death["queue"] != queue || death["reason"] != "rejected" {
		t.Errorf("x-death = %v, want queue %s, reason rejected", death, queue)
	}
}
