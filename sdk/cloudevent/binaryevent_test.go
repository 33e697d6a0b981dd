package cloudevent_test

import (
	"bytes"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// A BinaryEvent's headers are exactly the entries of its message that a
// transport sends (the private ones left out), under both conventions; its
// message is BinaryMessage's with the extra entries and the partition.
func FuzzBinaryEventAgrees(f *testing.F) {
	f.Add("id", "orders", "t", "subject", "", "text/plain", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k",
		int64(1700000000123456789), "correlation_id", "c-1", 3, []byte("data"))
	f.Add("id", "urn:orders", "t", "", "https://schema", "application/json", "", "", int64(0), "", "", -1, []byte(nil))
	f.Add("id", "s", "t", "", "", "", "", "", int64(-1), "ce_id", "forged", 0, []byte{0, 1})
	f.Fuzz(func(t *testing.T, id, source, typ, subject, schema, ct, traceparent, key string, nanos int64,
		extraKey, extraValue string, partition int, data []byte) {
		if id == "" || source == "" || typ == "" {
			return // not an event BinaryMessage is given
		}
		var at time.Time
		if nanos != 0 {
			at = time.Unix(0, nanos)
		}
		for _, c := range []cloudevent.Convention{cloudevent.Kafka(), cloudevent.AMQP()} {
			ev := cloudevent.BinaryEvent{Attributes: cloudevent.Attributes{ID: id, Source: source, Type: typ, Subject: subject,
				DataSchema: schema, ContentType: ct, Time: at, Traceparent: traceparent, PartitionKey: key},
				Data: data, Partition: max(partition, -1)}
			if extraKey != "" && !cloudevent.IsPrivate(extraKey) && !ev.Sets(c, extraKey) {
				ev.Extra = []cloudevent.Entry{{Key: extraKey, Value: extraValue}}
			}
			msg, err := ev.Message(c)
			if err != nil {
				t.Fatal(err)
			}
			base, err := cloudevent.BinaryMessage(&ev.Attributes, data, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(base.Metadata)
			for k := range base.Metadata {
				if !ev.Sets(c, k) {
					t.Errorf("%s: Sets(%q) false, but the attributes set it", c.Name, k)
				}
			}
			for _, x := range ev.Extra {
				want[x.Key] = x.Value
			}
			if ev.Partition >= 0 {
				want[cloudevent.MetadataPartition] = strconv.Itoa(ev.Partition)
			}
			if !maps.Equal(msg.Metadata, want) || msg.UUID != id || !bytes.Equal(msg.Payload, data) {
				t.Fatalf("%s: Message %s %v, want %s %v", c.Name, msg.UUID, msg.Metadata, id, want)
			}

			buf := make([]byte, 0, ev.HeadersSize())
			headers := map[string]string{}
			calls := 0
			out := ev.AppendHeaders(c, buf, func(k string, v []byte) {
				calls++
				if _, dup := headers[k]; dup {
					t.Errorf("%s: header %q twice", c.Name, k)
				}
				headers[k] = string(v)
			})
			sent := maps.Clone(msg.Metadata)
			maps.DeleteFunc(sent, func(k, _ string) bool { return cloudevent.IsPrivate(k) })
			if !maps.Equal(headers, sent) {
				t.Fatalf("%s: headers %v, want the message's %v", c.Name, headers, sent)
			}
			if calls != ev.HeadersCount() {
				t.Errorf("%s: %d headers, HeadersCount %d", c.Name, calls, ev.HeadersCount())
			}
			if len(out) > ev.HeadersSize() || &out[0] != &buf[:1][0] {
				t.Errorf("%s: values took %d bytes in a new array; HeadersSize is %d", c.Name, len(out), ev.HeadersSize())
			}
		}
	})
}
