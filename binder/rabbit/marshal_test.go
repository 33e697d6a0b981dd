package rabbit_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/cloudevent"
)

func TestMarshalRoundTrip(t *testing.T) {
	m := message.NewMessage("id-1", randomBytes(100))
	m.Metadata = message.Metadata{
		"content-type":                "application/json",
		"cloudEvents:id":              "id-1",
		"x-attempts":                  "3",
		cloudevent.MetadataKey:        "k",
		cloudevent.MetadataPartition:  "2",
		"_watermill_amqp_redelivered": "true",
	}
	p, err := rabbit.Marshaler{}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if p.ContentType != "application/json" || p.MessageId != "id-1" || p.DeliveryMode != amqp.Persistent {
		t.Errorf("publishing content-type %q message-id %q mode %d", p.ContentType, p.MessageId, p.DeliveryMode)
	}
	for _, k := range []string{"content-type", cloudevent.MetadataKey, cloudevent.MetadataPartition, "_watermill_amqp_redelivered"} {
		if _, ok := p.Headers[k]; ok {
			t.Errorf("header %s was sent", k)
		}
	}
	got, err := rabbit.Marshaler{}.Unmarshal(amqp.Delivery{DeliveryTag: 1, Headers: p.Headers, ContentType: p.ContentType, MessageId: p.MessageId, Body: p.Body})
	if err != nil {
		t.Fatal(err)
	}
	want := message.Metadata{"content-type": "application/json", "cloudEvents:id": "id-1", "x-attempts": "3"}
	if got.UUID != "id-1" || !bytes.Equal(got.Payload, m.Payload) || len(got.Metadata) != len(want) {
		t.Fatalf("Unmarshal = %s %v, want id-1 %v", got.UUID, got.Metadata, want)
	}
	for k, v := range want {
		if got.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, got.Metadata[k], v)
		}
	}
	if p, _ := (rabbit.Marshaler{Transient: true}).Marshal(m); p.DeliveryMode != amqp.Transient {
		t.Errorf("Transient: delivery mode %d, want %d", p.DeliveryMode, amqp.Transient)
	}
}

// TestUnmarshalForeignHeaders: headers of other AMQP clients are not
// always strings.
func TestUnmarshalForeignHeaders(t *testing.T) {
	d := amqp.Delivery{DeliveryTag: 1, Headers: amqp.Table{
		"n": int32(7), "b": true, "f": 1.5, "raw": []byte("bytes"), "when": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"nested": amqp.Table{"a": "b"}, "_watermill_message_uuid": "wm-1",
	}}
	m, err := rabbit.Marshaler{}.Unmarshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"n": "7", "b": "true", "f": "1.5", "raw": "bytes", "when": "2026-01-02T03:04:05Z"}
	for k, v := range want {
		if m.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, m.Metadata[k], v)
		}
	}
	if _, ok := m.Metadata["nested"]; ok || m.UUID != "wm-1" {
		t.Errorf("nested table kept (%v) or uuid %q != wm-1", ok, m.UUID)
	}
}

func TestUnmarshalEmptyDelivery(t *testing.T) {
	if _, err := (rabbit.Marshaler{}).Unmarshal(amqp.Delivery{}); err == nil {
		t.Fatal("Unmarshal(zero delivery) = nil error; a closed consumer channel must not become a message")
	}
}

// FuzzUnmarshal feeds received deliveries (headers and properties come from
// any client) to Unmarshal; it must not panic, and what it returns must
// survive a Marshal/Unmarshal round trip.
func FuzzUnmarshal(f *testing.F) {
	f.Add("cloudEvents:id", "abc", "text/plain", "mid", []byte("hello"), int64(3))
	f.Add("", "", "", "", []byte{}, int64(0))
	f.Add("_millstream_key", "k", "application/cloudevents+json", "", []byte(`{"specversion":"1.0"}`), int64(-1))
	f.Fuzz(func(t *testing.T, key, value, contentType, messageID string, body []byte, n int64) {
		d := amqp.Delivery{DeliveryTag: 1, ContentType: contentType, MessageId: messageID, Body: body,
			Headers: amqp.Table{key: value, key + "-n": n, key + "-b": []byte(value)}}
		m, err := rabbit.Marshaler{}.Unmarshal(d)
		if err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		p, err := rabbit.Marshaler{}.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := rabbit.Marshaler{}.Unmarshal(amqp.Delivery{DeliveryTag: 1, ContentType: p.ContentType, MessageId: p.MessageId, Body: p.Body, Headers: p.Headers})
		if err != nil {
			t.Fatalf("Unmarshal again: %v", err)
		}
		if again.UUID != m.UUID || !bytes.Equal(again.Payload, m.Payload) || len(again.Metadata) != len(m.Metadata) {
			t.Fatalf("round trip changed the message: %s %v -> %s %v", m.UUID, m.Metadata, again.UUID, again.Metadata)
		}
		for k, v := range m.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("round trip changed %s: %q -> %q", k, v, again.Metadata[k])
			}
		}
	})
}
