package stream_test

import (
	"errors"
	"testing"

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
