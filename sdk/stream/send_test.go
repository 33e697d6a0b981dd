package stream_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// What the SDK sends is a valid CloudEvent whether it chose the attributes
// (and skipped validating them again) or the handler did (and they were
// validated); attributes a handler got wrong are refused.
func TestSentEventsAreValid(t *testing.T) {
	for _, app := range []struct{ name, source string }{
		{"orders-service", "orders-service"},
		{"my app", "my%20app"},
		{"urn:example:orders", "urn:example:orders"},
	} {
		a := stream.New(stream.Config{Application: app.name}, stream.WithBinder("memory", memory.New()))
		h := streamtest.Run(t, a)
		h.Listen("", "events")
		for _, v := range []any{
			"plain",
			stream.Message[string]{Payload: "attributes", ID: "id-1", Source: "https://example.com/x", Type: "com.example.t",
				Subject: "s", ContentType: "text/plain; charset=utf-8", Key: "k", Extensions: map[string]string{"tenant": "acme"}},
		} {
			if err := a.Bridge().Send(t.Context(), "events", v); err != nil {
				t.Fatal(err)
			}
			raw := h.Raw("events")
			e, err := cloudevent.FromMessage(raw, cloudevent.Memory())
			if err != nil {
				t.Fatalf("application %q sent %v: not a valid CloudEvent: %v", app.name, raw.Metadata, err)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("application %q sent an invalid event: %v", app.name, err)
			}
			if _, ok := v.(string); ok && raw.Metadata["ce_source"] != app.source {
				t.Fatalf("application %q: ce_source = %q, want %q", app.name, raw.Metadata["ce_source"], app.source)
			}
		}
	}

	a := stream.New(stream.Config{}, stream.WithBinder("memory", memory.New()))
	streamtest.Run(t, a)
	for name, m := range map[string]stream.Message[string]{
		"source":    {Payload: "x", Source: "%zz"},
		"id":        {Payload: "x", ID: "   "},
		"extension": {Payload: "x", Extensions: map[string]string{"Not-Valid!": "v"}},
		"type":      {Payload: "x", Type: "   "},
	} {
		err := a.Bridge().Send(t.Context(), "events", m)
		if !errors.Is(err, cloudevent.ErrInvalidEvent) {
			t.Errorf("sending a message with a bad %s: error %v, want cloudevent.ErrInvalidEvent", name, err)
		}
	}
}

// The SDK writes most outputs (binary mode, attributes its own) straight
// into metadata, and the others through an sdk-go event: the two ways give
// the same metadata, but for the id, time and trace, which differ on every
// message and are checked for form.
func TestDirectAndEventEncodingAgree(t *testing.T) {
	for _, name := range []string{"orders-service", "my app", "urn:example:orders", "a%2Fb", "./x:y", "/abs/p",
		"http://h/p?q#f", "über", "a b?c"} {
		a := stream.New(stream.Config{Application: name}, stream.WithBinder("memory", memory.New()))
		h := streamtest.Run(t, a)
		h.Listen("", "events")
		send := func(v any) map[string]string {
			t.Helper()
			if err := a.Bridge().Send(t.Context(), "events", v); err != nil {
				t.Fatal(err)
			}
			return h.Raw("events").Metadata
		}
		for _, m := range []stream.Message[string]{
			{Payload: "plain"},
			{Payload: "keyed", Key: "customer-7"},
			{Payload: "headers", Headers: map[string]string{"x-tenant": "acme"}},
			{Payload: "timed", Time: time.Date(2026, 11, 21, 9, 0, 0, 5, time.FixedZone("CET", 3600))},
		} {
			direct := send(m) // no attribute of the handler's: written directly
			m.ID = "chosen-id"
			general := send(m) // an id of the handler's: through an event
			if general["ce_id"] != "chosen-id" {
				t.Fatalf("application %q, %q: ce_id %q, want chosen-id", name, m.Payload, general["ce_id"])
			}
			for _, md := range []map[string]string{direct, general} {
				at, err := time.Parse(time.RFC3339Nano, md["ce_time"])
				if err != nil {
					t.Errorf("application %q, %q: ce_time: %v", name, m.Payload, err)
				}
				if !m.Time.IsZero() && !at.Equal(m.Time) {
					t.Errorf("application %q, %q: ce_time %s, want the handler's %s", name, m.Payload, md["ce_time"], m.Time)
				}
				if !cloudevent.ValidTraceparent(md["ce_traceparent"]) {
					t.Errorf("application %q, %q: ce_traceparent %q", name, m.Payload, md["ce_traceparent"])
				}
				delete(md, "ce_id")
				delete(md, "ce_time")
				delete(md, "ce_traceparent")
			}
			if !maps.Equal(direct, general) {
				t.Errorf("application %q, %q: written directly %v, through an event %v", name, m.Payload, direct, general)
			}
		}
	}
}

// A handler that takes a plain payload still continues the trace of what it
// handles; one that takes a Message, first in a composition too, sees the
// received extensions and headers.
func TestReceivedAttributesByHandlerKind(t *testing.T) {
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	in := stream.Message[string]{Payload: "x", Headers: map[string]string{"x-in": "1"},
		Extensions: map[string]string{"tenant": "acme", cloudevent.TraceparentExtension: parent}}

	h := streamtest.Run(t, newApp(t, stream.Config{}, stream.Function("uppercase", uppercase)))
	h.Send("uppercase-in-0", in)
	got := streamtest.Receive[string](t, h, "uppercase-out-0")
	if tp := got.Extensions[cloudevent.TraceparentExtension]; tp[3:35] != parent[3:35] || tp == parent {
		t.Errorf("plain handler: traceparent out %q, want a child of %q", tp, parent)
	}

	seen := make(chan stream.Message[string], 1)
	first := stream.Function("first", func(_ context.Context, m stream.Message[string]) (string, error) {
		seen <- m
		return m.Payload, nil
	})
	second := stream.Function("second", uppercase)
	h = streamtest.Run(t, newApp(t, stream.Config{FunctionDefinition: "first|second"}, first, second))
	h.Send("firstsecond-in-0", in)
	m := <-seen
	if m.Headers["x-in"] != "1" || m.Extensions["tenant"] != "acme" || m.Extensions[cloudevent.TraceparentExtension] != parent {
		t.Errorf("composed handler taking a Message saw headers %v, extensions %v", m.Headers, m.Extensions)
	}
	if got := streamtest.Receive[string](t, h, "firstsecond-out-0"); got.Payload != "X" {
		t.Errorf("composed output %q, want X", got.Payload)
	}
}

// eventBinder is the memory binder with publishers that take events
// ([stream.EventPublisher]) as a transport with headers of its own would,
// or decline every one when decline is set.
type eventBinder struct {
	*memory.Binder
	decline          bool
	events, messages atomic.Int64
	// repeated counts headers an event would write twice.
	repeated atomic.Int64
}

func (b *eventBinder) Publisher(ctx context.Context, p stream.Publication) (message.Publisher, error) {
	pub, err := b.Binder.Publisher(ctx, p)
	if err != nil {
		return nil, err
	}
	return &eventPublisher{Publisher: pub, b: b}, nil
}

type eventPublisher struct {
	message.Publisher
	b *eventBinder
}

func (p *eventPublisher) PublishAsync(ctx context.Context, topic string, msg *message.Message, done func(error)) {
	p.b.messages.Add(1)
	p.Publisher.(stream.AsyncPublisher).PublishAsync(ctx, topic, msg, done)
}

func (p *eventPublisher) PublishEvent(ctx context.Context, topic string, ev *cloudevent.BinaryEvent, c cloudevent.Convention, done func(error)) bool {
	if p.b.decline {
		return false
	}
	p.b.events.Add(1)
	seen := map[string]bool{}
	ev.AppendHeaders(c, nil, func(k string, _ []byte) {
		if seen[k] {
			p.b.repeated.Add(1)
		}
		seen[k] = true
	})
	msg, err := ev.Message(c)
	if err != nil {
		done(err)
		return true
	}
	p.Publisher.(stream.AsyncPublisher).PublishAsync(ctx, topic, msg, done)
	return true
}

// A function's outputs go to a publisher that takes events as events, and
// as messages to one that declines them or takes only messages; those three
// ways, which build the output from its parts, send what the general way
// (through an sdk-go event, taken when the handler chooses the id) sends,
// but for the id, time and trace, checked for form: attributes, the
// handler's headers (not those naming an attribute or the correlation id),
// the key and the partition it picks, and the input's correlation id.
func TestOutputsAsEvents(t *testing.T) {
	run := func(b stream.Binder, chooseID bool) []map[string]string {
		a := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
			"tag-in-0":  {Destination: "words", Group: "g"},
			"tag-out-0": {Destination: "tagged", PartitionCount: 3},
		}}, stream.WithBinder("memory", b))
		if err := a.Register(stream.Function("tag", func(_ context.Context, in string) (stream.Message[string], error) {
			out := stream.Message[string]{Payload: in + "!", Key: in, Headers: map[string]string{
				"x-tenant": "acme", "ce_type": "forged", stream.HeaderCorrelationID: "forged"}}
			if chooseID {
				out.ID = "chosen-" + in
			}
			return out, nil
		})); err != nil {
			t.Fatal(err)
		}
		h := streamtest.Run(t, a)
		var got []map[string]string
		for _, w := range []string{"a", "b", "c", "d"} {
			h.Send("tag-in-0", w)
			md := h.Raw("tag-out-0").Metadata
			if _, err := time.Parse(time.RFC3339Nano, md["ce_time"]); err != nil || !cloudevent.ValidTraceparent(md["ce_traceparent"]) ||
				md["ce_id"] == "" || md[stream.HeaderCorrelationID] == "" || md[stream.HeaderCorrelationID] == "forged" {
				t.Fatalf("output of %q: id %q, time %q, traceparent %q, correlation id %q", w, md["ce_id"], md["ce_time"],
					md["ce_traceparent"], md[stream.HeaderCorrelationID])
			}
			md = maps.Clone(md)
			delete(md, stream.HeaderCorrelationID) // the input's, new for each
			delete(md, "ce_id")
			delete(md, "ce_time")
			delete(md, "ce_traceparent")
			got = append(got, md)
		}
		return got
	}
	general := run(memory.New(), true)
	plain := run(memory.New(), false)
	taking := &eventBinder{Binder: memory.New()}
	asEvents := run(taking, false)
	declining := &eventBinder{Binder: memory.New(), decline: true}
	declined := run(declining, false)
	if n := taking.repeated.Load(); n != 0 {
		t.Errorf("events would write %d headers twice", n)
	}
	if taking.events.Load() != 4 || taking.messages.Load() != 0 {
		t.Errorf("publisher taking events got %d events and %d messages, want 4 and 0", taking.events.Load(), taking.messages.Load())
	}
	if declining.events.Load() != 0 || declining.messages.Load() != 4 {
		t.Errorf("publisher declining events got %d events and %d messages, want 0 and 4", declining.events.Load(), declining.messages.Load())
	}
	for i := range general {
		if general[i]["x-tenant"] != "acme" || general[i]["ce_type"] != "millstream.string" || general[i][cloudevent.MetadataPartition] == "" {
			t.Errorf("output %d: %v, want the handler's header, the type and a partition", i, general[i])
		}
		for name, md := range map[string][]map[string]string{"as a message": plain, "as an event": asEvents, "declined": declined} {
			if !maps.Equal(general[i], md[i]) {
				t.Errorf("output %d: the general way %v, %s %v", i, general[i], name, md[i])
			}
		}
	}
}

// scribbleBinder is the memory binder with publishers that write over each
// message's payload once they passed on a copy of it, as a publisher that
// reuses its buffers may; with async, they publish asynchronously and
// decline events.
type scribbleBinder struct {
	*memory.Binder
	async bool
}

func (b *scribbleBinder) Publisher(ctx context.Context, p stream.Publication) (message.Publisher, error) {
	pub, err := b.Binder.Publisher(ctx, p)
	if err != nil {
		return nil, err
	}
	if b.async {
		return &asyncScribbler{scribbler{pub}}, nil
	}
	return scribbler{pub}, nil
}

type scribbler struct{ message.Publisher }

func (s scribbler) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		c := m.Copy()
		c.Payload = bytes.Clone(m.Payload)
		if err := s.Publisher.Publish(topic, c); err != nil {
			return err
		}
		for i := range m.Payload {
			m.Payload[i] = '#'
		}
	}
	return nil
}

type asyncScribbler struct{ scribbler }

func (s *asyncScribbler) PublishAsync(_ context.Context, topic string, msg *message.Message, done func(error)) {
	done(s.Publish(topic, msg))
}

func (s *asyncScribbler) PublishEvent(context.Context, string, *cloudevent.BinaryEvent, cloudevent.Convention, func(error)) bool {
	return false
}

// A string a handler returns is sent without a copy only to a publisher
// that takes events (which must not write into their data); a publisher
// given a message may write into its payload without changing the
// handler's string, whichever way the output was made.
func TestStringOutputsKeepTheirBytes(t *testing.T) {
	for _, async := range []bool{false, true} {
		for _, subject := range []string{"", "s"} {
			var mu sync.Mutex
			var kept []string
			a := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
				"twice-in-0":  {Destination: "words", Group: "g"},
				"twice-out-0": {Destination: "twice"},
			}}, stream.WithBinder("memory", &scribbleBinder{Binder: memory.New(), async: async}))
			if err := a.Register(stream.Function("twice", func(_ context.Context, in string) (stream.Message[string], error) {
				out := strings.Repeat(in, 2)
				mu.Lock()
				kept = append(kept, out)
				mu.Unlock()
				return stream.Message[string]{Payload: out, Subject: subject}, nil
			})); err != nil {
				t.Fatal(err)
			}
			h := streamtest.Run(t, a)
			for _, w := range []string{"ab", "cd"} {
				h.Send("twice-in-0", w)
				if got := streamtest.Receive[string](t, h, "twice-out-0"); got.Payload != w+w {
					t.Errorf("async %v, subject %q: output %q, want %q", async, subject, got.Payload, w+w)
				}
			}
			mu.Lock()
			if len(kept) != 2 || kept[0] != "abab" || kept[1] != "cdcd" {
				t.Errorf("async %v, subject %q: the handler's strings became %q", async, subject, kept)
			}
			mu.Unlock()
		}
	}
}
