package cloudevent_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/millstream/millstream/sdk/cloudevent"
)

func sample(ct string, data []byte) event.Event {
	e := event.New()
	e.SetID("id-1")
	e.SetSource("urn:orders")
	e.SetType("com.example.order")
	e.SetSubject("order/1")
	e.SetTime(time.Date(2026, 11, 21, 9, 0, 0, 123456789, time.UTC))
	e.SetDataContentType(ct)
	e.SetExtension("partitionkey", "customer-1")
	e.SetExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	e.SetExtension("tenant", "acme")
	e.DataEncoded = data
	e.DataBase64 = ct == cloudevent.OctetStream
	return e
}

func TestBinaryHeaders(t *testing.T) {
	for _, tc := range []struct {
		conv cloudevent.Convention
		want map[string]string
	}{
		{cloudevent.Kafka(), map[string]string{
			"ce_specversion": "1.0", "ce_id": "id-1", "ce_source": "urn:orders", "ce_type": "com.example.order",
			"ce_subject": "order/1", "ce_time": "2026-11-21T09:00:00.123456789Z", "content-type": "application/json",
			"ce_partitionkey": "customer-1", "ce_traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			"ce_tenant": "acme", cloudevent.MetadataKey: "customer-1",
		}},
		{cloudevent.AMQP(), map[string]string{
			"cloudEvents:specversion": "1.0", "cloudEvents:id": "id-1", "cloudEvents:source": "urn:orders",
			"cloudEvents:type": "com.example.order", "cloudEvents:subject": "order/1",
			"cloudEvents:time": "2026-11-21T09:00:00.123456789Z", "content-type": "application/json",
			"cloudEvents:partitionkey": "customer-1", "cloudEvents:traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			"cloudEvents:tenant": "acme",
		}},
	} {
		t.Run(tc.conv.Name, func(t *testing.T) {
			m, err := cloudevent.ToMessage(sample(cloudevent.JSON, []byte(`{"id":1}`)), cloudevent.Binary, tc.conv)
			if err != nil {
				t.Fatal(err)
			}
			if got := map[string]string(m.Metadata); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("metadata =\n%v\nwant\n%v", got, tc.want)
			}
			if string(m.Payload) != `{"id":1}` || m.UUID != "id-1" {
				t.Errorf("payload %q uuid %q", m.Payload, m.UUID)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	random := make([]byte, 300)
	for i := range random {
		random[i] = byte(i*7 + 3)
	}
	for _, conv := range []cloudevent.Convention{cloudevent.Kafka(), cloudevent.AMQP(), cloudevent.Memory()} {
		for _, mode := range []cloudevent.Mode{cloudevent.Binary, cloudevent.Structured} {
			for _, tc := range []struct {
				ct   string
				data []byte
			}{
				{cloudevent.JSON, []byte(`{"id":1,"items":["a","b"]}`)},
				{cloudevent.Text, []byte("hello, world")},
				{cloudevent.OctetStream, random},
			} {
				t.Run(fmt.Sprintf("%s/%s/%s", conv.Name, mode, tc.ct), func(t *testing.T) {
					want := sample(tc.ct, tc.data)
					m, err := cloudevent.ToMessage(want, mode, conv)
					if err != nil {
						t.Fatal(err)
					}
					got, err := cloudevent.FromMessage(m, conv)
					if err != nil {
						t.Fatal(err)
					}
					if got.ID() != want.ID() || got.Source() != want.Source() || got.Type() != want.Type() ||
						got.Subject() != want.Subject() || !got.Time().Equal(want.Time()) || got.DataContentType() != tc.ct {
						t.Errorf("attributes = %v, want %v", got.Context, want.Context)
					}
					for k, v := range want.Extensions() {
						if g := fmt.Sprint(got.Extensions()[k]); g != v {
							t.Errorf("extension %s = %q, want %q", k, g, v)
						}
					}
					if !bytes.Equal(got.Data(), tc.data) {
						t.Errorf("data = %q, want %q", got.Data(), tc.data)
					}
				})
			}
		}
	}
}

func TestStructuredContentType(t *testing.T) {
	m, err := cloudevent.ToMessage(sample(cloudevent.JSON, []byte(`{"a":1}`)), cloudevent.Structured, cloudevent.Kafka())
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata["content-type"] != cloudevent.StructuredContentType || m.Metadata[cloudevent.MetadataKey] != "customer-1" {
		t.Fatalf("structured metadata = %v", m.Metadata)
	}
	if !bytes.Contains(m.Payload, []byte(`"data":{"a":1}`)) {
		t.Fatalf("JSON data is not inlined: %s", m.Payload)
	}
}

func TestExternalMessage(t *testing.T) {
	m := message.NewMessage("wm-uuid", []byte("from kcat"))
	m.Metadata = message.Metadata{cloudevent.MetadataKey: "k1", "x-custom": "v"}
	before := time.Now()
	e, err := cloudevent.FromMessage(m, cloudevent.Kafka())
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "wm-uuid" || e.Source() != cloudevent.ExternalSource || e.Type() != cloudevent.ExternalType ||
		e.Time().Before(before) || string(e.Data()) != "from kcat" || e.Extensions()["partitionkey"] != "k1" {
		t.Fatalf("external event = %v data %q", e, e.Data())
	}
	if h := cloudevent.Headers(m, cloudevent.Kafka()); !reflect.DeepEqual(h, map[string]string{"x-custom": "v"}) {
		t.Fatalf("Headers = %v", h)
	}
	noID := message.NewMessage("", nil)
	if e, err := cloudevent.FromMessage(noID, cloudevent.AMQP()); err != nil || e.ID() == "" {
		t.Fatalf("message without uuid: id %q, err %v", e.ID(), err)
	}
}

func TestFromMessageErrors(t *testing.T) {
	base := func() message.Metadata {
		return message.Metadata{"ce_specversion": "1.0", "ce_id": "1", "ce_source": "s", "ce_type": "t"}
	}
	for _, tc := range []struct {
		name string
		mod  func(message.Metadata)
		body string
		want error
	}{
		{"bad time", func(m message.Metadata) { m["ce_time"] = "yesterday" }, "", cloudevent.ErrInvalidEvent},
		{"missing id", func(m message.Metadata) { delete(m, "ce_id") }, "", cloudevent.ErrInvalidEvent},
		{"missing source", func(m message.Metadata) { delete(m, "ce_source") }, "", cloudevent.ErrInvalidEvent},
		{"version 0.3", func(m message.Metadata) { m["ce_specversion"] = "0.3" }, "", cloudevent.ErrUnsupportedVersion},
		{"broken structured", func(m message.Metadata) { m["content-type"] = cloudevent.StructuredContentType }, "{", cloudevent.ErrInvalidEvent},
		{"structured 0.3", func(m message.Metadata) { m["content-type"] = cloudevent.StructuredContentType },
			`{"specversion":"0.3","id":"1","source":"s","type":"t"}`, cloudevent.ErrUnsupportedVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := message.NewMessage("u", []byte(tc.body))
			m.Metadata = base()
			tc.mod(m.Metadata)
			if _, err := cloudevent.FromMessage(m, cloudevent.Kafka()); !errors.Is(err, tc.want) {
				t.Fatalf("FromMessage = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestInvalidExtensionNameStaysHeader(t *testing.T) {
	m := message.NewMessage("u", nil)
	m.Metadata = message.Metadata{"ce_specversion": "1.0", "ce_id": "1", "ce_source": "s", "ce_type": "t", "ce_bad-name": "x"}
	e, err := cloudevent.FromMessage(m, cloudevent.Kafka())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Extensions()["bad-name"]; ok {
		t.Fatal("an invalid extension name became an extension")
	}
}

func TestToMessageRejectsInvalidEvent(t *testing.T) {
	e := event.New()
	e.SetID("x")
	if _, err := cloudevent.ToMessage(e, cloudevent.Binary, cloudevent.Kafka()); !errors.Is(err, cloudevent.ErrInvalidEvent) {
		t.Fatalf("ToMessage(no source, no type) = %v, want ErrInvalidEvent", err)
	}
	if _, err := cloudevent.ToMessage(sample("", nil), cloudevent.Binary, cloudevent.Convention{}); err == nil {
		t.Fatal("ToMessage with an empty convention succeeded")
	}
}

// FuzzFromMessage decodes arbitrary metadata and payloads: it must never
// panic, and what it accepts must survive a round trip.
func FuzzFromMessage(f *testing.F) {
	f.Add("1.0", "id", "urn:s", "t", "2026-01-01T00:00:00Z", "application/json", "tenant", "acme", []byte(`{"a":1}`), false)
	f.Add("", "", "", "", "", "", "", "", []byte("from kcat"), false)
	f.Add("1.0", "id", "urn:s", "t", "", "text/plain; charset=utf-8", "partitionkey", "k", []byte("hi"), false)
	f.Add("", "", "", "", "", cloudevent.StructuredContentType, "", "", []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AAE="}`), true)
	f.Add("", "", "", "", "", cloudevent.StructuredContentType, "", "", []byte(`{"specversion":"1.0","id":"1","source":"%zz","type":"t","time":"x"}`), true)
	f.Add("1.0", "id", "::::", "t", "not a time", "", "BAD", "v", []byte{0xff, 0}, false)
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, tm, ct, extName, extValue string, payload []byte, structured bool) {
		m := message.NewMessage("uuid", payload)
		set := func(k, v string) {
			if v != "" {
				m.Metadata[k] = v
			}
		}
		if structured {
			set("content-type", ct)
		} else {
			set("ce_specversion", specversion)
			set("ce_id", id)
			set("ce_source", source)
			set("ce_type", typ)
			set("ce_time", tm)
			set("content-type", ct)
			if extName != "" {
				set("ce_"+extName, extValue)
			}
		}
		e, err := cloudevent.FromMessage(m, cloudevent.Kafka())
		if err != nil {
			if !errors.Is(err, cloudevent.ErrInvalidEvent) && !errors.Is(err, cloudevent.ErrUnsupportedVersion) {
				t.Fatalf("FromMessage error %v wraps neither ErrInvalidEvent nor ErrUnsupportedVersion", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("FromMessage accepted an invalid event: %v", err)
		}
		for _, mode := range []cloudevent.Mode{cloudevent.Binary, cloudevent.Structured} {
			m2, err := cloudevent.ToMessage(e, mode, cloudevent.Kafka())
			if err != nil {
				t.Fatalf("ToMessage(%s) of an accepted event: %v", mode, err)
			}
			e2, err := cloudevent.FromMessage(m2, cloudevent.Kafka())
			if err != nil {
				t.Fatalf("FromMessage(ToMessage(%s)) = %v", mode, err)
			}
			if e2.ID() != e.ID() || e2.Source() != e.Source() || e2.Type() != e.Type() || !bytes.Equal(e2.Data(), e.Data()) {
				t.Fatalf("%s round trip changed the event: %v data %q -> %v data %q", mode, e, e.Data(), e2, e2.Data())
			}
		}
	})
}

// FuzzReadBinaryAgrees checks the SDK's fast reading of binary-mode
// messages against FromMessage on arbitrary metadata: what ReadBinary
// accepts, FromMessage accepts too, with the same attributes and
// extensions; what it declines is left to FromMessage, which must never be
// bypassed for a message it would refuse.
func FuzzReadBinaryAgrees(f *testing.F) {
	f.Add("1.0", "id", "orders", "t", "2026-01-01T00:00:00Z", "text/plain", "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k", " subject ")
	f.Add("1.0", " id ", "orders", " t ", "", "application/json; charset=utf-8", "partitionkey", "p", "", "")
	f.Add("1.0", "id", "urn:orders", "t", "", "text/plain", "tenant", "acme", "", "")
	f.Add("0.3", "id", "orders", "t", "", "text/plain", "", "", "", "")
	f.Add("", "id", "orders", "t", "", "text/plain", "", "", "", "")
	f.Add("1.0", "   ", "orders", "t", "", "text/plain", "", "", "", "")
	f.Add("1.0", "id", "orders", "t", "yesterday", "text/plain", "", "", "", "")
	f.Add("1.0", "id", "orders", "t", "", "not a type", "ID", "x", "", "")
	f.Add("1.0", "id", "orders", "t", "", cloudevent.StructuredContentType, "", "", "", "")
	f.Add("1.0", "id", "orders", "t", "", "", "datacontenttype", "text/plain", "", "")
	f.Add("1.0", "id", "orders", "t", "", "text/plain", "partitionkey", "", "record-key", "")
	f.Add("1.0", "id", "orders", "t", "0001-01-01T01:00:00+01:00", "text/plain", "", "", "", "")
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, tm, ct, extName, extValue, key, subject string) {
		m := message.NewMessage("uuid", []byte("payload"))
		// An empty value is a header absent, but for an extension: its
		// header is there, empty, when it has a name.
		set := func(k, v string) {
			if v != "" {
				m.Metadata[k] = v
			}
		}
		set("ce_specversion", specversion)
		set("ce_id", id)
		set("ce_source", source)
		set("ce_type", typ)
		set("ce_time", tm)
		set("ce_subject", subject)
		set("content-type", ct)
		set(cloudevent.MetadataKey, key)
		if extName != "" {
			m.Metadata["ce_"+extName] = extValue
		}
		a, ok := cloudevent.ReadBinary(m, cloudevent.Kafka())
		if !ok {
			return
		}
		e, err := cloudevent.FromMessage(m, cloudevent.Kafka())
		if err != nil {
			t.Fatalf("ReadBinary accepted %v, which FromMessage refuses: %v", m.Metadata, err)
		}
		ext := func(name string) string {
			s, _ := e.Extensions()[name].(string)
			return s
		}
		want := cloudevent.Attributes{ID: e.ID(), Source: cloudevent.Source(e), Type: e.Type(), Subject: e.Subject(),
			Time: e.Time(), ContentType: e.DataContentType(), DataSchema: e.DataSchema(),
			Traceparent: ext(cloudevent.TraceparentExtension), PartitionKey: ext(cloudevent.PartitionKeyExtension)}
		// Each parse of an offset makes its own zone: compare the instants.
		if !a.Time.Equal(want.Time) || a.Time.IsZero() != want.Time.IsZero() {
			t.Fatalf("time of %v: ReadBinary %v, FromMessage %v", m.Metadata, a.Time, want.Time)
		}
		a.Time, want.Time = time.Time{}, time.Time{}
		if a != want {
			t.Fatalf("metadata %v: ReadBinary %+v, FromMessage %+v", m.Metadata, a, want)
		}
	})
}

// What the SDK writes for its own outputs, ReadBinary reads back on the
// short way, unchanged.
func TestReadBinaryReadsBinaryMessage(t *testing.T) {
	for _, a := range []cloudevent.Attributes{
		{ID: cloudevent.NewID(), Source: "orders-service", Type: "millstream.string", ContentType: "text/plain",
			Time: time.Date(2026, 11, 21, 9, 0, 0, 123456789, time.UTC), Traceparent: cloudevent.NewTraceparent()},
		{ID: "id-2", Source: "orders", Type: "com.example.order", ContentType: "application/json; charset=utf-8",
			Subject: "order/7", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Traceparent: cloudevent.NewTraceparent(), PartitionKey: "customer-7"},
	} {
		for _, c := range []cloudevent.Convention{cloudevent.Kafka(), cloudevent.AMQP()} {
			m, err := cloudevent.BinaryMessage(&a, []byte("data"), c, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := cloudevent.ReadBinary(m, c)
			if !ok {
				t.Fatalf("%s: ReadBinary declined what BinaryMessage wrote: %v", c.Name, m.Metadata)
			}
			if got != a {
				t.Fatalf("%s: ReadBinary read %+v, BinaryMessage wrote %+v", c.Name, got, a)
			}
		}
	}
}

// FuzzBinaryMessageAgrees checks the SDK's direct writing of binary-mode
// messages against ToMessage of the same event: the same metadata.
func FuzzBinaryMessageAgrees(f *testing.F) {
	f.Add("id", "orders", "t", "subject", "text/plain", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k", int64(1700000000123456789))
	f.Add("id", "urn:orders", "t", "", "application/json", "", "", int64(0))
	f.Fuzz(func(t *testing.T, id, source, typ, subject, ct, traceparent, key string, nanos int64) {
		ec := &event.EventContextV1{}
		if ec.SetID(id) != nil || ec.SetSource(source) != nil || ec.SetType(typ) != nil || ec.SetSubject(subject) != nil ||
			ec.SetDataContentType(ct) != nil {
			return
		}
		if nanos != 0 && ec.SetTime(time.Unix(0, nanos)) != nil {
			return
		}
		if traceparent != "" && ec.SetExtension(cloudevent.TraceparentExtension, traceparent) != nil {
			return
		}
		if key != "" && ec.SetExtension(cloudevent.PartitionKeyExtension, key) != nil {
			return
		}
		e := event.Event{Context: ec, DataEncoded: []byte("data")}
		want, err := cloudevent.ToMessage(e, cloudevent.Binary, cloudevent.Kafka())
		if err != nil {
			return
		}
		ext := func(name string) string {
			s, _ := e.Extensions()[name].(string)
			return s
		}
		got, err := cloudevent.BinaryMessage(&cloudevent.Attributes{ID: e.ID(), Source: cloudevent.Source(e), Type: e.Type(),
			Subject: e.Subject(), Time: e.Time(), ContentType: e.DataContentType(),
			Traceparent: ext(cloudevent.TraceparentExtension), PartitionKey: ext(cloudevent.PartitionKeyExtension)},
			e.Data(), cloudevent.Kafka(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Metadata, want.Metadata) || got.UUID != want.UUID || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("BinaryMessage %s %v %q, ToMessage %s %v %q", got.UUID, got.Metadata, got.Payload, want.UUID, want.Metadata, want.Payload)
		}
	})
}

// FuzzBinaryReaderAgrees checks a BinaryReader given metadata entries one
// at a time, some of them repeated, against ReadBinary of the map they
// make (the last of a repeated entry wins).
func FuzzBinaryReaderAgrees(f *testing.F) {
	f.Add("0=1.0\n1=id\n2=orders\n3=t\n8=text/plain")
	f.Add("0=0.3\n1=id\n2=orders\n3=t\n8=text/plain\n0=1.0")
	f.Add("0=1.0\n1=id\n2=orders\n3=t\n8=text/plain\n0=0.3")
	f.Add("0=1.0\n1=id\n2=orders\n3=t\n4=yesterday\n4=2026-01-01T00:00:00Z\n8=text/plain")
	f.Add("0=1.0\n1=id\n2=orders\n3=t\n8=text/plain\n9=k\n6=\n7=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	f.Add("0=1.0\n1=id\n2=orders\n3=t\n8=text/plain\na=x\nb=s")
	keys := []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "ce_partitionkey",
		"ce_traceparent", "content-type", cloudevent.MetadataKey, "ce_Tenant", "ce_tenant", "ce_dataschema", "x-other"}
	f.Fuzz(func(t *testing.T, entries string) {
		m := message.NewMessage("uuid", []byte("payload"))
		r := cloudevent.NewBinaryReader(cloudevent.Kafka())
		more := true
		for _, e := range strings.Split(entries, "\n") {
			k, v, ok := strings.Cut(e, "=")
			i := strings.Index("0123456789abcdef", k)
			if !ok || len(k) != 1 || i < 0 {
				continue
			}
			key := keys[i%len(keys)]
			m.Metadata[key] = v
			if more {
				more = r.Add(key, v)
			}
		}
		got, gotOK := r.Attributes()
		want, wantOK := cloudevent.ReadBinary(m, cloudevent.Kafka())
		if gotOK != wantOK || !got.Time.Equal(want.Time) {
			t.Fatalf("entries %q: reader %+v %v, ReadBinary of %v %+v %v", entries, got, gotOK, m.Metadata, want, wantOK)
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		if got != want {
			t.Fatalf("entries %q: reader %+v, ReadBinary of %v %+v", entries, got, m.Metadata, want)
		}
	})
}
