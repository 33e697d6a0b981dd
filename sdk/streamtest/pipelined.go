package streamtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/stream"
)

// Pipelined publishing: a function binding whose output publisher is a
// stream.AsyncPublisher (and whose input subscriber supports commit holds)
// publishes outputs without waiting. These tests hold every binder to the
// guarantees that must survive it: each input's output exists at least
// once, outputs of one key keep the inputs' order, and an output the
// transport failed to store brings its input back.

// errInjected is the failure faultyPublisher injects.
var errInjected = errors.New("streamtest: injected publish failure")

// faultBinder wraps a binder so that publishers to dest are faulty: the
// first publish of each message whose payload contains "!fail" fails, and
// (for an AsyncPublisher) completions are reported in order from a
// goroutine of the publisher's, after the inner publisher's own, so that
// outputs really are pending when the input is acked.
type faultBinder struct {
	stream.Binder
	dest string
}

func (b *faultBinder) Publisher(ctx context.Context, p stream.Publication) (message.Publisher, error) {
	pub, err := b.Binder.Publisher(ctx, p)
	if err != nil || p.Destination != b.dest {
		return pub, err
	}
	f := &faultyPublisher{Publisher: pub, dest: b.dest, failed: map[string]bool{}}
	ap, ok := pub.(stream.AsyncPublisher)
	if !ok {
		return f, nil
	}
	a := &faultyAsyncPublisher{faultyPublisher: f, inner: ap, queue: make(chan func(), 256), done: make(chan struct{})}
	go a.run()
	return a, nil
}

// faultyPublisher fails the first publish of each "!fail" message.
type faultyPublisher struct {
	message.Publisher
	dest string

	mu     sync.Mutex
	failed map[string]bool // payloads failed once
}

// fail reports whether this publish of m is to fail.
func (f *faultyPublisher) fail(topic string, m *message.Message) bool {
	if topic != f.dest || !bytes.Contains(m.Payload, []byte("!fail")) {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := string(m.Payload)
	if f.failed[k] {
		return false
	}
	f.failed[k] = true
	return true
}

func (f *faultyPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		if f.fail(topic, m) {
			return errInjected
		}
	}
	return f.Publisher.Publish(topic, msgs...)
}

// faultyAsyncPublisher is faultyPublisher for an AsyncPublisher.
type faultyAsyncPublisher struct {
	*faultyPublisher
	inner stream.AsyncPublisher

	qmu    sync.Mutex
	closed bool
	queue  chan func()
	done   chan struct{}
}

var _ stream.AsyncPublisher = (*faultyAsyncPublisher)(nil)

func (a *faultyAsyncPublisher) run() {
	defer close(a.done)
	for fn := range a.queue {
		fn()
	}
}

// complete reports a completion through the queue, in order.
func (a *faultyAsyncPublisher) complete(done func(error), err error) {
	a.qmu.Lock()
	if a.closed {
		a.qmu.Unlock()
		done(err)
		return
	}
	a.queue <- func() { done(err) }
	a.qmu.Unlock()
}

func (a *faultyAsyncPublisher) PublishAsync(ctx context.Context, topic string, m *message.Message, done func(error)) {
	if a.fail(topic, m) {
		a.complete(done, errInjected)
		return
	}
	a.inner.PublishAsync(ctx, topic, m, func(err error) { a.complete(done, err) })
}

func (a *faultyAsyncPublisher) Close() error {
	err := a.faultyPublisher.Close() // completes what the inner one holds
	a.qmu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.qmu.Unlock()
	<-a.done
	return err
}

// pipelinedApp runs a function "up" (payload + "!up", key kept) from a
// destination to another with 4 partitions, on a faultBinder.
func (s *suite) pipelinedApp(t *testing.T) (*Harness, string) {
	in, out := destination(t), destination(t)
	f := stream.Function("up", func(ctx context.Context, m stream.Message[string]) (stream.Message[string], error) {
		m.Payload += "!up"
		return m, nil
	})
	app := stream.New(stream.Config{Application: "conformance", Bindings: map[string]stream.BindingProperties{
		"up-in-0":  fastRetries(stream.BindingProperties{Destination: in, Group: "g", MaxAttempts: 5}),
		"up-out-0": {Destination: out, PartitionCount: 4},
	}}, stream.WithBinder("b", &faultBinder{Binder: s.newBinder(t), dest: out}))
	if err := app.Register(f); err != nil {
		t.Fatal(err)
	}
	return Run(t, app, WithTimeout(s.f.Timeout)), out
}

// sendKeyed sends n inputs "k<key>-<seq>" over 4 keys, each with suffix
// "!fail" when failing(i).
func sendKeyed(h *Harness, n int, failing func(i int) bool) map[string]bool {
	want := make(map[string]bool, n)
	for i := range n {
		key := "k" + strconv.Itoa(i%4)
		v := fmt.Sprintf("%s-%04d", key, i/4)
		if failing(i) {
			v += "!fail"
		}
		want[v+"!up"] = true
		h.Send("up-in-0", stream.Message[string]{Payload: v, Key: key})
	}
	return want
}

// pipelinedOrder: under load, every input's output arrives, once, with the
// outputs of one key in the order of their inputs.
func (s *suite) pipelinedOrder(t *testing.T) {
	const n = 400
	h, _ := s.pipelinedApp(t)
	want := sendKeyed(h, n, func(int) bool { return false })
	last := map[string]string{}
	for range n {
		m := Receive[string](t, h, "up-out-0")
		if !want[m.Payload] {
			t.Fatalf("output %q: not expected, or a duplicate without any failure", m.Payload)
		}
		delete(want, m.Payload)
		key := m.Payload[:2]
		if m.Key != key {
			t.Errorf("output %q has key %q, want %q", m.Payload, m.Key, key)
		}
		if m.Payload <= last[key] {
			t.Fatalf("output %q of key %s after %q: order of the inputs lost", m.Payload, key, last[key])
		}
		last[key] = m.Payload
	}
}

// pipelinedFailure: an output the transport fails to store brings its input
// back (its output then appears) and nothing is lost.
func (s *suite) pipelinedFailure(t *testing.T) {
	const n = 200
	h, _ := s.pipelinedApp(t)
	want := sendKeyed(h, n, func(i int) bool { return i%23 == 7 })
	for len(want) > 0 {
		m := Receive[string](t, h, "up-out-0")
		delete(want, m.Payload) // duplicates are allowed (at-least-once)
		if strings.Contains(m.Payload, "!fail") && !strings.HasSuffix(m.Payload, "!fail!up") {
			t.Fatalf("output %q is malformed", m.Payload)
		}
	}
}
