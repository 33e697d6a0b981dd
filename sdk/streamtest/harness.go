package streamtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// DefaultTimeout is how long [Receive] waits unless the harness says
// otherwise.
const DefaultTimeout = 5 * time.Second

// Harness runs one application in a test.
type Harness struct {
	t       testing.TB
	app     *stream.App
	timeout time.Duration

	// mu guards taps.
	mu   sync.Mutex
	taps map[string]*tap // by binding name or destination
}

// HarnessOption configures [Run].
type HarnessOption func(*Harness)

// WithTimeout sets how long Receive waits (default [DefaultTimeout]).
func WithTimeout(d time.Duration) HarnessOption { return func(h *Harness) { h.timeout = d } }

// Run prepares app, listens on each of its output bindings and on the
// dead-letter destination of each input binding with dlq on, then starts the
// application (so that nothing sent is missed) and stops it when the test
// ends. It fails the test if the application does
// not start.
func Run(t testing.TB, app *stream.App, opts ...HarnessOption) *Harness {
	t.Helper()
	h := &Harness{t: t, app: app, timeout: DefaultTimeout, taps: make(map[string]*tap)}
	for _, o := range opts {
		o(h)
	}
	if err := app.Prepare(); err != nil {
		t.Fatalf("streamtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Taps first: the app closes its binders.
		h.mu.Lock()
		taps := h.taps
		h.taps = nil
		h.mu.Unlock()
		for _, tp := range uniqueTaps(taps) {
			tp.close()
		}
		if err := app.Stop(ctx); err != nil {
			t.Errorf("streamtest: stop: %v", err)
		}
	})
	cfg := app.Config()
	for _, b := range app.Bindings() {
		if !b.Input {
			// With the binding's partition count, so that a transport
			// that creates the destination makes it as the binding will.
			h.listen(b.Name, b.Binder, b.Destination, cfg.Bindings[b.Name].PartitionCount)
			continue
		}
		p := app.Properties(b.Name)
		if p.DLQ {
			h.listen(p.DLQDestination, b.Binder, p.DLQDestination, 0)
		}
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatalf("streamtest: start: %v", err)
	}
	return h
}

func uniqueTaps(m map[string]*tap) []*tap {
	var out []*tap
	for _, tp := range m {
		if !slices.Contains(out, tp) {
			out = append(out, tp)
		}
	}
	return out
}

// App is the application under test.
func (h *Harness) App() *stream.App { return h.app }

// Listen starts recording destination on binder (a name given to
// stream.WithBinder; empty for the only or default one), for messages sent
// outside output bindings, such as through the Bridge. Call it before the
// messages are sent; Receive then reads them by the destination's name.
func (h *Harness) Listen(binder, destination string) {
	h.t.Helper()
	if binder == "" {
		binder = h.app.Config().DefaultBinder
		if binder == "" {
			binder = h.onlyBinder()
		}
	}
	h.listen(destination, binder, destination, 0)
}

func (h *Harness) onlyBinder() string {
	names := h.app.BinderNames()
	if len(names) != 1 {
		h.t.Fatalf("streamtest: name the binder to listen on (the application has binders %v)", names)
	}
	return names[0]
}

func (h *Harness) listen(name, binderName, destination string, partitions int) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.taps[name]; ok {
		return
	}
	for _, tp := range h.taps { // one tap per destination
		if tp.destination == destination && tp.binderName == binderName {
			h.taps[name] = tp
			return
		}
	}
	b, ok := h.app.Binder(binderName)
	if !ok {
		h.t.Fatalf("streamtest: listen on %s: no binder %q", destination, binderName)
	}
	tp, err := newTap(h.t.Context(), b, binderName, destination, partitions)
	if err != nil {
		h.t.Fatalf("streamtest: listen on %s: %v", destination, err)
	}
	h.taps[name] = tp
}

// Send sends v (a payload or a stream.Message) to a binding (an input
// binding sends to its destination, with its binder) or a destination,
// through the application's Bridge. It fails the test on error.
func (h *Harness) Send(binding string, v any) {
	h.t.Helper()
	if err := h.app.Bridge().Send(h.t.Context(), binding, v); err != nil {
		h.t.Fatalf("streamtest: send to %s: %v", binding, err)
	}
}

// Raw waits for the next message on a binding or listened destination and
// returns it undecoded. It fails the test at the deadline.
func (h *Harness) Raw(name string) *message.Message {
	h.t.Helper()
	h.mu.Lock()
	tp, ok := h.taps[name]
	h.mu.Unlock()
	if !ok {
		h.t.Fatalf("streamtest: %q is neither an output binding, a dead-letter destination nor a listened destination", name)
	}
	ctx, cancel := context.WithTimeout(h.t.Context(), h.timeout)
	defer cancel()
	m, err := tp.next(ctx)
	if err != nil {
		h.t.Fatalf("streamtest: no message on %s within %v", name, h.timeout)
	}
	return m
}

// Receive waits for the next message on an output binding (or a dead-letter
// or listened destination) and decodes it as a Message[T]. It fails the test
// at the deadline or if the message does not decode.
func Receive[T any](t testing.TB, h *Harness, name string) stream.Message[T] {
	t.Helper()
	raw := h.Raw(name)
	h.mu.Lock()
	tp := h.taps[name]
	h.mu.Unlock()
	m, err := stream.Decode[T](raw, tp.conv, h.app.Codecs())
	if err != nil {
		t.Fatalf("streamtest: decode message on %s: %v", name, err)
	}
	return m
}

// Pending is the number of messages received on name and not yet read.
func (h *Harness) Pending(name string) int {
	h.mu.Lock()
	tp := h.taps[name]
	h.mu.Unlock()
	if tp == nil {
		return 0
	}
	return tp.pending()
}

// tap records what arrives on one destination.
type tap struct {
	binderName  string
	destination string
	conv        cloudevent.Convention
	sub         message.Subscriber
	done        chan struct{}

	// mu guards queue and arrived.
	mu      sync.Mutex
	queue   []*message.Message
	arrived chan struct{} // closed and replaced on each arrival
}

func newTap(ctx context.Context, b stream.Binder, binderName, destination string, partitions int) (*tap, error) {
	sub, err := b.Subscriber(ctx, stream.Subscription{
		Destination: destination, Group: "streamtest." + watermill.NewShortUUID(), Anonymous: true,
		StartOffset: stream.Latest, Properties: stream.BindingProperties{PartitionCount: partitions}.WithDefaults(destination),
	})
	if err != nil {
		return nil, err
	}
	ch, err := sub.Subscribe(context.WithoutCancel(ctx), destination)
	if err != nil {
		sub.Close()
		return nil, err
	}
	tp := &tap{binderName: binderName, destination: destination, conv: b.Convention(), sub: sub,
		done: make(chan struct{}), arrived: make(chan struct{})}
	go func() {
		defer close(tp.done)
		for m := range ch {
			c := m.Copy()
			c.Payload = append([]byte(nil), m.Payload...)
			m.Ack()
			tp.mu.Lock()
			tp.queue = append(tp.queue, c)
			close(tp.arrived)
			tp.arrived = make(chan struct{})
			tp.mu.Unlock()
		}
	}()
	return tp, nil
}

func (tp *tap) next(ctx context.Context) (*message.Message, error) {
	for {
		tp.mu.Lock()
		if len(tp.queue) > 0 {
			m := tp.queue[0]
			tp.queue = tp.queue[1:]
			tp.mu.Unlock()
			return m, nil
		}
		wait := tp.arrived
		tp.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("streamtest: %w", ctx.Err())
		}
	}
}

func (tp *tap) pending() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.queue)
}

func (tp *tap) close() {
	tp.sub.Close()
	<-tp.done
}
