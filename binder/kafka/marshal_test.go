package kafka_test

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
)

// FuzzUnmarshal feeds records of any shape (they come from the network)
// through the default unmarshaler and back: it must not fail or panic, the
// payload must be the value, and marshaling the message again must give the
// same value, key and (non-private) headers.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte("k"), []byte("hello"), "ce_id", []byte("1"), "content-type", []byte("text/plain"))
	f.Add([]byte(nil), []byte{0, 0xff}, kafka.UUIDHeader, []byte("u-1"), "x", []byte(""))
	f.Add([]byte(""), []byte(nil), "_millstream_key", []byte("sneaky"), "ce_id", []byte(""))
	f.Add([]byte("k"), bytes.Repeat([]byte("large"), 400), "ce_id", []byte("1"), "h", []byte("v")) // its own allocation
	f.Fuzz(func(t *testing.T, key, value []byte, h1 string, v1 []byte, h2 string, v2 []byte) {
		rec := &kgo.Record{Topic: "t", Partition: 3, Offset: 9, Key: key, Value: value,
			Headers: []kgo.RecordHeader{{Key: h1, Value: v1}, {Key: h2, Value: v2}}}
		m := kafka.DefaultMarshaler{}
		msg, err := m.Unmarshal(rec)
		if err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if !bytes.Equal(msg.Payload, value) || msg.UUID == "" {
			t.Fatalf("payload %q uuid %q from value %q", msg.Payload, msg.UUID, value)
		}
		if _, forged := msg.Metadata[cloudevent.MetadataKey]; key == nil && forged {
			t.Fatalf("a header forged the record key: %v", msg.Metadata)
		}
		if msg.Metadata.Get(cloudevent.MetadataPartition) != "3" {
			t.Fatalf("metadata %v", msg.Metadata)
		}
		// A handler writing over the payload, or appending to it, changes
		// neither the metadata nor the record.
		before := maps.Clone(msg.Metadata)
		for i := range msg.Payload {
			msg.Payload[i] ^= 0xff
		}
		grown := append(msg.Payload, "more"...)
		if !maps.Equal(msg.Metadata, before) || !bytes.Equal(rec.Value, value) {
			t.Fatalf("writing the payload changed metadata %v to %v", before, msg.Metadata)
		}
		_ = grown
		for i := range msg.Payload {
			msg.Payload[i] ^= 0xff
		}
		out, err := m.Marshal("t", msg)
		if err != nil {
			t.Fatalf("Marshal of an unmarshaled record: %v", err)
		}
		if !bytes.Equal(out.Value, value) || (key != nil && !bytes.Equal(out.Key, key)) {
			t.Fatalf("round trip: key %q value %q, want %q %q", out.Key, out.Value, key, value)
		}
		got := map[string]string{}
		for _, h := range out.Headers {
			if cloudevent.IsPrivate(h.Key) {
				t.Fatalf("private metadata %q sent as a header", h.Key)
			}
			got[h.Key] = string(h.Value)
		}
		if (key == nil) != (msg.Metadata[cloudevent.MetadataKey] == "" && key == nil) {
			t.Fatalf("key %q became metadata %q", key, msg.Metadata[cloudevent.MetadataKey])
		}
		// Every ordinary header comes back with its value (the last one of
		// a repeated name), whatever the lengths of the others.
		want := map[string]string{}
		for _, h := range rec.Headers {
			if !cloudevent.IsPrivate(h.Key) && h.Key != kafka.UUIDHeader {
				want[h.Key] = string(h.Value)
			}
		}
		for k, v := range want {
			if msg.Metadata[k] != v {
				t.Fatalf("header %q: metadata %q, want %q", k, msg.Metadata[k], v)
			}
			if got[k] != v {
				t.Fatalf("header %q: sent back as %q, want %q", k, got[k], v)
			}
		}
		if key != nil && msg.Metadata[cloudevent.MetadataKey] != string(key) {
			t.Fatalf("key %q became metadata %q", key, msg.Metadata[cloudevent.MetadataKey])
		}
	})
}

// FuzzMarshalEventAgrees: the record PublishEvent makes of an event is the
// one DefaultMarshaler makes of the event's message (up to the order of the
// headers), key and value included.
func FuzzMarshalEventAgrees(f *testing.F) {
	f.Add("id", "orders", "t", "subject", "text/plain", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k",
		int64(1700000000123456789), "correlation_id", "c-1", []byte("data"))
	f.Add("id", "urn:orders", "t", "", "application/json", "", "", int64(0), "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, id, source, typ, subject, ct, traceparent, key string, nanos int64,
		extraKey, extraValue string, data []byte) {
		if id == "" || source == "" || typ == "" {
			return
		}
		c := cloudevent.Kafka()
		ev := &cloudevent.BinaryEvent{Attributes: cloudevent.Attributes{ID: id, Source: source, Type: typ, Subject: subject,
			ContentType: ct, Traceparent: traceparent, PartitionKey: key}, Data: data, Partition: -1}
		if nanos != 0 {
			ev.Time = time.Unix(0, nanos)
		}
		if extraKey != "" && !cloudevent.IsPrivate(extraKey) && !ev.Sets(c, extraKey) {
			ev.Extra = []cloudevent.Entry{{Key: extraKey, Value: extraValue}}
		}
		msg, err := ev.Message(c)
		if err != nil {
			t.Fatal(err)
		}
		want, err := kafka.DefaultMarshaler{}.Marshal("topic", msg)
		if err != nil {
			t.Fatal(err)
		}
		got := kafka.MarshalEvent("topic", ev, c)
		if got.Topic != want.Topic || !bytes.Equal(got.Key, want.Key) || (got.Key == nil) != (want.Key == nil) ||
			!bytes.Equal(got.Value, want.Value) || got.Partition != want.Partition {
			t.Fatalf("record %s/%d key %q value %q, want %s/%d key %q value %q",
				got.Topic, got.Partition, got.Key, got.Value, want.Topic, want.Partition, want.Key, want.Value)
		}
		sorted := func(hs []kgo.RecordHeader) []kgo.RecordHeader {
			return slices.SortedFunc(slices.Values(hs), func(a, b kgo.RecordHeader) int { return strings.Compare(a.Key, b.Key) })
		}
		if g, w := sorted(got.Headers), sorted(want.Headers); !reflect.DeepEqual(g, w) {
			t.Fatalf("headers %v, want %v", g, w)
		}
	})
}
