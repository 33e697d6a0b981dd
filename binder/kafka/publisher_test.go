package kafka_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
)

// murmur2 values from the Java client's own test (UtilsTest.testMurmur2):
// Utils.murmur2(key) as a Java int. Its default partitioner picks
// (murmur2(key) & 0x7fffffff) % partitions.
var javaMurmur2 = []struct {
	key  string
	hash int32
}{
	{"21", -973932308},
	{"foobar", -790332482},
	{"a-little-bit-long-string", -985981536},
	{"a-little-bit-longer-string", -1486304829},
	{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
	{"abc", 479470107},
}

func TestPublisherPartitionsKeysLikeJavaClient(t *testing.T) {
	brokers := testBrokers(t)
	const partitions = 7
	topic := newTopic(t)
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = partitions })
	for _, v := range javaMurmur2 {
		msg := message.NewMessage(watermill.NewUUID(), []byte(v.key))
		msg.Metadata.Set(cloudevent.MetadataKey, v.key)
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range readAll(t, brokers, topic, len(javaMurmur2)) {
		var want int32 = -1
		for _, v := range javaMurmur2 {
			if v.key == string(rec.Key) {
				want = int32(uint32(v.hash)&0x7fffffff) % partitions
			}
		}
		if rec.Partition != want {
			t.Errorf("key %q went to partition %d, want %d (the Java client's)", rec.Key, rec.Partition, want)
		}
	}
}

func TestPublisherMapsMetadataToHeaders(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)

	plain := message.NewMessage("uuid-1", []byte("payload one"))
	plain.Metadata.Set("trace", "abc")
	plain.Metadata.Set(cloudevent.MetadataKey, "key-1")
	plain.Metadata.Set(cloudevent.PrivatePrefix+"internal", "not sent")

	event := message.NewMessage("event-7", []byte("payload two"))
	event.Metadata.Set("ce_id", "event-7")
	event.Metadata.Set("ce_specversion", "1.0")
	if err := pub.Publish(topic, plain, event); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, brokers, topic, 2)
	headers := func(i int) map[string]string {
		h := map[string]string{}
		for _, x := range recs[i].Headers {
			h[x.Key] = string(x.Value)
		}
		return h
	}
	h0 := headers(0)
	if want := map[string]string{"trace": "abc", kafka.UUIDHeader: "uuid-1"}; !equalMaps(h0, want) {
		t.Errorf("headers = %v, want %v", h0, want)
	}
	if string(recs[0].Key) != "key-1" || string(recs[0].Value) != "payload one" {
		t.Errorf("record key, value = %q, %q; want key-1, payload one", recs[0].Key, recs[0].Value)
	}
	h1 := headers(1)
	if want := map[string]string{"ce_id": "event-7", "ce_specversion": "1.0"}; !equalMaps(h1, want) {
		t.Errorf("headers of a CloudEvent = %v, want %v (no UUID header: ce_id carries it)", h1, want)
	}
	if recs[1].Key != nil {
		t.Errorf("record key = %q, want none", recs[1].Key)
	}
}

func TestPublisherExplicitPartition(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = 3 })
	for _, p := range []int{2, 0, 1} {
		msg := message.NewMessage(watermill.NewUUID(), []byte(strconv.Itoa(p)))
		msg.Metadata.Set(cloudevent.MetadataPartition, strconv.Itoa(p))
		msg.Metadata.Set(cloudevent.MetadataKey, "same key everywhere")
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range readAll(t, brokers, topic, 3) {
		if want := string(rec.Value); strconv.Itoa(int(rec.Partition)) != want {
			t.Errorf("message for partition %s went to %d", want, rec.Partition)
		}
	}

	for _, bad := range []string{"3", "-1", "one"} {
		msg := message.NewMessage(watermill.NewUUID(), nil)
		msg.Metadata.Set(cloudevent.MetadataPartition, bad)
		var perr *kafka.InvalidPartitionError
		if err := pub.Publish(topic, msg); !errors.As(err, &perr) {
			t.Errorf("Publish to partition %q = %v, want an InvalidPartitionError", bad, err)
		}
	}
}

func TestPublishAfterClose(t *testing.T) {
	pub := publisher(t, testBrokers(t), nil)
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("x", message.NewMessage("1", nil)); !errors.Is(err, kafka.ErrPublisherClosed) {
		t.Errorf("Publish after Close = %v, want ErrPublisherClosed", err)
	}
	if err := pub.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestPublishCanceledContext(t *testing.T) {
	pub := publisher(t, testBrokers(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msg := message.NewMessage("1", []byte("x"))
	msg.SetContext(ctx)
	if err := pub.Publish(newTopic(t), msg); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a canceled message context = %v, want context.Canceled", err)
	}
}

// The context given to PublishAsync or PublishEvent ends the delivery: with
// no broker to take the message, done reports the context's end soon after
// it, not after DeliveryTimeout. This is what bounds, by shutdown-timeout,
// how long an application's stop waits for its queued outputs.
func TestPublishAsyncContextEndsDelivery(t *testing.T) {
	pub := publisher(t, []string{unreachable(t)}, func(c *kafka.PublisherConfig) {
		c.Provision.Disabled, c.DeliveryTimeout = true, time.Minute
	})
	ev := &cloudevent.BinaryEvent{Attributes: cloudevent.Attributes{ID: watermill.NewUUID(), Source: "test", Type: "t"},
		Data: []byte("event"), Partition: -1}
	for name, publish := range map[string]func(context.Context, func(error)){
		"PublishAsync": func(ctx context.Context, done func(error)) {
			pub.PublishAsync(ctx, "t", message.NewMessage(watermill.NewUUID(), []byte("message")), done)
		},
		"PublishEvent": func(ctx context.Context, done func(error)) {
			if !pub.PublishEvent(ctx, "t", ev, cloudevent.Kafka(), done) {
				t.Fatal("PublishEvent declined")
			}
		},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		errc := make(chan error, 1)
		publish(ctx, func(err error) { errc <- err })
		select {
		case err := <-errc:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: delivery ended with %v, want the context's deadline", name, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s: delivery still going 15s after its context ended", name)
		}
		cancel()
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// PublishEvent writes the record the event's message would make, to the
// partition the event names (checked against the topic), and fails a
// partition the topic does not have, or any event after Close; with a
// marshaler of the user's, a key taken from other metadata or a convention
// other than Kafka's it declines, so that the SDK sends a message.
func TestPublishEvent(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = 3 })
	c := cloudevent.Kafka()
	publish := func(ev *cloudevent.BinaryEvent) error {
		errc := make(chan error, 1)
		if !pub.PublishEvent(t.Context(), topic, ev, c, func(err error) { errc <- err }) {
			t.Fatal("PublishEvent declined with the default marshaler")
		}
		return <-errc
	}
	event := func(p int) *cloudevent.BinaryEvent {
		return &cloudevent.BinaryEvent{Attributes: cloudevent.Attributes{ID: watermill.NewUUID(), Source: "test", Type: "t",
			ContentType: "text/plain", Time: time.Now(), PartitionKey: "same key everywhere"},
			Data: []byte(strconv.Itoa(p)), Extra: []cloudevent.Entry{{Key: "x-tenant", Value: "acme"}}, Partition: p}
	}
	sent := map[string]*cloudevent.BinaryEvent{}
	for _, p := range []int{2, 0, 1} {
		ev := event(p)
		sent[ev.ID] = ev
		if err := publish(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range readAll(t, brokers, topic, 3) {
		headers := map[string]string{}
		for _, h := range rec.Headers {
			headers[h.Key] = string(h.Value)
		}
		ev := sent[headers["ce_id"]]
		if ev == nil {
			t.Fatalf("record with headers %v was not sent", headers)
		}
		if want := string(ev.Data); string(rec.Value) != want || strconv.Itoa(int(rec.Partition)) != want {
			t.Errorf("event for partition %s went to %d with value %q", want, rec.Partition, rec.Value)
		}
		if string(rec.Key) != ev.PartitionKey || headers["ce_partitionkey"] != ev.PartitionKey || headers["x-tenant"] != "acme" ||
			headers["ce_time"] != ev.Time.UTC().Format(time.RFC3339Nano) || headers["ce_specversion"] != "1.0" {
			t.Errorf("record key %q, headers %v; sent %+v", rec.Key, headers, ev)
		}
		if _, ok := headers[cloudevent.MetadataPartition]; ok {
			t.Errorf("record has the private header %s", cloudevent.MetadataPartition)
		}
	}

	var perr *kafka.InvalidPartitionError
	if err := publish(event(3)); !errors.As(err, &perr) {
		t.Errorf("PublishEvent to partition 3 of 3 = %v, want an InvalidPartitionError", err)
	}

	if pub.PublishEvent(t.Context(), topic, event(0), cloudevent.AMQP(), func(error) { t.Error("done called by a declining PublishEvent") }) {
		t.Error("PublishEvent took an event in the AMQP convention, whose id the default marshaler would also write as the UUID header")
	}
	for name, m := range map[string]kafka.Marshaler{
		"of the user's":               ownMarshaler{},
		"taking the key from another": kafka.DefaultMarshaler{KeyMetadata: "k"},
	} {
		custom := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Marshaler = m })
		if custom.PublishEvent(t.Context(), topic, event(0), c, func(error) { t.Error("done called by a declining PublishEvent") }) {
			t.Errorf("PublishEvent took an event with a marshaler %s", name)
		}
	}

	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := publish(event(0)); !errors.Is(err, kafka.ErrPublisherClosed) {
		t.Errorf("PublishEvent after Close = %v, want ErrPublisherClosed", err)
	}
}

type ownMarshaler struct{ kafka.DefaultMarshaler }
