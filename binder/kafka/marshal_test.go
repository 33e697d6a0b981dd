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
	"github.com/millstream/millstream/sdk/stream"
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

// FuzzDeliveryAgrees: what a delivery reads of a record as a binary-mode
// CloudEvent, straight from its headers, is what cloudevent.ReadBinary
// reads of the message DefaultMarshaler makes of the record, with the
// message's payload and correlation id, for records of any shape: repeated,
// private and UUID headers, with and without key, with another key
// metadata name.
func FuzzDeliveryAgrees(f *testing.F) {
	f.Add([]byte("k"), false, []byte("hello"), "0=1.0\n1=id\n2=orders\n3=t\n4=text/plain", false)
	f.Add([]byte(nil), true, []byte("x"), "0=1.0\n1=id\n2=orders\n3=t\n4=text/plain\n5=c-1\n5=c-2\n6=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", false)
	f.Add([]byte("k"), false, []byte("x"), "0=0.3\n1=id\n2=orders\n3=t\n4=text/plain\n0=1.0\n7=forged\n8=u", true)
	f.Add([]byte("k"), false, bytes.Repeat([]byte("large"), 400), "0=1.0\n1=id\n2=orders\n3=t\n4=text/plain\n9=pk\na=k2", false)
	f.Add([]byte(""), false, []byte(nil), "0=1.0\n1=id\n2=orders\n3=t\n4=text/plain\nc=2026-01-01T00:00:00Z\nd=9", false)
	f.Add([]byte("k"), false, []byte("x"), "0=1.0\n1=id\n2=orders\n3=t\n4=text/plain\nb=x", false)
	keys := []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "content-type", stream.HeaderCorrelationID,
		"ce_traceparent", "ce_subject", kafka.UUIDHeader, "ce_partitionkey", cloudevent.MetadataKey, "ce_Tenant",
		"ce_time", cloudevent.MetadataPartition, "x-other", "_millstream_other"}
	f.Fuzz(func(t *testing.T, key []byte, keyNil bool, value []byte, headers string, otherKeyName bool) {
		if keyNil {
			key = nil
		}
		rec := &kgo.Record{Topic: "t", Partition: 2, Offset: 7, Key: key, Value: value}
		for _, e := range strings.Split(headers, "\n") {
			k, v, ok := strings.Cut(e, "=")
			i := strings.Index("0123456789abcdef", k)
			if !ok || len(k) != 1 || i < 0 {
				continue
			}
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: keys[i%len(keys)], Value: []byte(v)})
		}
		m := kafka.DefaultMarshaler{}
		if otherKeyName {
			m.KeyMetadata = stream.HeaderCorrelationID
		}
		for _, c := range []cloudevent.Convention{cloudevent.Kafka(), cloudevent.AMQP()} {
			got, ok := kafka.ReadDelivery(m, rec, c)
			msg, err := m.Unmarshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			want, wantOK := cloudevent.ReadBinary(msg, c)
			if ok != wantOK {
				t.Fatalf("%s, record %v: delivery read ok %v, message read %v (metadata %v)", c.Name, rec.Headers, ok, wantOK, msg.Metadata)
			}
			if !ok {
				continue
			}
			if !got.Attributes.Time.Equal(want.Time) {
				t.Fatalf("%s: time %v, want %v", c.Name, got.Attributes.Time, want.Time)
			}
			got.Attributes.Time, want.Time = time.Time{}, time.Time{}
			if got.Attributes != want || !bytes.Equal(got.Data, msg.Payload) || got.Correlation != msg.Metadata[stream.HeaderCorrelationID] {
				t.Fatalf("%s, record %v: delivery read %+v, message %+v, payload %q, correlation %q", c.Name, rec.Headers,
					got, want, msg.Payload, msg.Metadata[stream.HeaderCorrelationID])
			}
		}
	})
}

// A delivery of a record that is a CloudEvent in the Kafka binding reads its
// attributes, payload and correlation id (the cases FuzzDeliveryAgrees
// compares with the message's).
func TestDeliveryReadsCloudEvent(t *testing.T) {
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	rec := &kgo.Record{Key: []byte("k-1"), Value: []byte("hello"), Headers: []kgo.RecordHeader{
		{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("id-1")},
		{Key: "ce_source", Value: []byte("orders")}, {Key: "ce_type", Value: []byte("t")},
		{Key: "ce_time", Value: []byte("2026-01-02T03:04:05Z")}, {Key: "ce_traceparent", Value: []byte(parent)},
		{Key: "content-type", Value: []byte("text/plain")}, {Key: stream.HeaderCorrelationID, Value: []byte("c-1")},
	}}
	got, ok := kafka.ReadDelivery(kafka.DefaultMarshaler{}, rec, cloudevent.Kafka())
	want := cloudevent.Attributes{ID: "id-1", Source: "orders", Type: "t", ContentType: "text/plain",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Traceparent: parent, PartitionKey: "k-1"}
	if !ok || got.Attributes != want || string(got.Data) != "hello" || got.Correlation != "c-1" {
		t.Fatalf("read %+v, %v; want %+v, payload hello, correlation c-1", got, ok, want)
	}
}
