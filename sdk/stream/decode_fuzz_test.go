package stream_test

import (
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// FuzzDecode feeds arbitrary wire messages to the decoding a binding does
// before calling a handler: it must never panic, and every failure must be
// an ErrDecode (which sends the message to the dead-letter destination
// instead of retrying it).
func FuzzDecode(f *testing.F) {
	f.Add("1.0", "application/json", "k", []byte(`{"id":"o-1","total":3}`))
	f.Add("", "", "", []byte("from kcat"))
	f.Add("1.0", "text/plain", "", []byte("hello"))
	f.Add("", cloudevent.StructuredContentType, "", []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/json","data":{"id":"x"}}`))
	f.Add("1.0", "application/x-unknown", "", []byte{0, 1})
	f.Add("0.3", "application/json", "", []byte(`{}`))
	f.Fuzz(func(t *testing.T, specversion, ct, key string, payload []byte) {
		m := message.NewMessage("uuid", payload)
		if specversion != "" {
			m.Metadata["ce_specversion"] = specversion
			m.Metadata["ce_id"] = "id"
			m.Metadata["ce_source"] = "urn:s"
			m.Metadata["ce_type"] = "t"
		}
		if ct != "" {
			m.Metadata["content-type"] = ct
		}
		if key != "" {
			m.Metadata[cloudevent.MetadataKey] = key
		}
		got, err := stream.Decode[order](m, cloudevent.Kafka(), nil)
		if err != nil {
			if !errors.Is(err, stream.ErrDecode) || !stream.IsPermanent(err) {
				t.Fatalf("Decode error %v is not a permanent ErrDecode", err)
			}
			return
		}
		if got.ID == "" || got.Source == "" || got.Type == "" {
			t.Fatalf("decoded message lacks attributes: %+v", got)
		}
		if key != "" && m.Metadata["ce_partitionkey"] == "" && got.Key != key {
			t.Fatalf("key = %q, want the record key %q", got.Key, key)
		}
		if _, err := stream.Decode[string](m, cloudevent.Kafka(), nil); err != nil {
			t.Fatalf("a message that decodes as a struct fails as a string: %v", err)
		}
	})
}
