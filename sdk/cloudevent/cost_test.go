package cloudevent_test

import (
	"maps"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// The SDK encodes and decodes every message it handles: these budgets keep
// the binary mapping from creeping back to building keys, copying
// extensions and validating twice per message. Raise one only with a
// reason.
func TestBinaryMappingAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	e := sample(cloudevent.OctetStream, randomBytes(256))
	for _, c := range []cloudevent.Convention{cloudevent.Kafka(), cloudevent.AMQP()} {
		m, err := cloudevent.ToMessage(e, cloudevent.Binary, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			budget float64
			run    func() error
		}{
			// The message (4, Watermill's), the metadata map (3 at this
			// size), the time and the source (an URN) as strings: 11. It
			// was 25 with the keys built per message and the event
			// validated again.
			{"ToMessageTrusted", 11, func() error { _, err := cloudevent.ToMessageTrusted(e, cloudevent.Binary, c); return err }},
			// Was 16 with the event's setters, a copy of the extensions,
			// the event's own validation map, and the context, its time and
			// its content type allocated apart.
			{"FromMessage", 11, func() error { _, err := cloudevent.FromMessage(m, c); return err }},
		} {
			if got := testing.AllocsPerRun(100, func() {
				if err := tc.run(); err != nil {
					t.Fatal(err)
				}
			}); got > tc.budget {
				t.Errorf("%s(%s) allocates %v times per message, want at most %v", tc.name, c.Name, got, tc.budget)
			}
		}
	}
}

// ToMessageTrusted writes what ToMessage writes for a valid event.
func TestToMessageTrustedMatchesToMessage(t *testing.T) {
	for _, mode := range []cloudevent.Mode{cloudevent.Binary, cloudevent.Structured} {
		for _, c := range []cloudevent.Convention{cloudevent.Kafka(), cloudevent.AMQP(), {Name: "custom", AttributePrefix: "x-ce-", ContentTypeKey: "ct"}} {
			for _, src := range []string{"orders", "urn:orders", "https://example.com/a?b=c#d", "a b", "./x:y", "~a.b_c-d", "%41"} {
				e := sample(cloudevent.JSON, []byte(`{"a":1}`))
				e.SetSource(src)
				if err := e.Validate(); err != nil {
					continue
				}
				want, err := cloudevent.ToMessage(e, mode, c)
				if err != nil {
					t.Fatal(err)
				}
				got, err := cloudevent.ToMessageTrusted(e, mode, c)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got.Metadata, want.Metadata) || string(got.Payload) != string(want.Payload) || got.UUID != want.UUID {
					t.Errorf("%s %s source %q: ToMessageTrusted = %v %q, ToMessage = %v %q", mode, c.Name, src, got.Metadata, got.Payload, want.Metadata, want.Payload)
				}
				if mode == cloudevent.Binary && got.Metadata[c.AttributePrefix+"source"] != e.Source() {
					t.Errorf("source %q written as %q, want %q", src, got.Metadata[c.AttributePrefix+"source"], e.Source())
				}
			}
		}
	}
}

// ToMessage still refuses an invalid event; ToMessageTrusted is only for
// events the caller checked.
func TestToMessageValidates(t *testing.T) {
	e := event.New()
	e.SetID("x")
	e.SetType("t")
	if _, err := cloudevent.ToMessage(e, cloudevent.Binary, cloudevent.Kafka()); err == nil {
		t.Fatal("ToMessage of an event without source = nil error, want ErrInvalidEvent")
	}
}
