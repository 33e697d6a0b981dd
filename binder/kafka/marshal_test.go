package kafka_test

import (
	"bytes"
	"testing"

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
		if msg.Metadata.Get(cloudevent.MetadataPartition) != "3" || msg.Metadata.Get(kafka.MetadataOffset) != "9" {
			t.Fatalf("metadata %v", msg.Metadata)
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
