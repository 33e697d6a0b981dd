package kafka_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
)

// TestKcatSeesTheKafkaBinding checks the wire format with a client nobody
// here wrote (kcat, librdkafka): a CloudEvent published by the binder has
// ce_ headers, a content-type header and its partitionkey as the key; a
// plain record written by kcat arrives as an external event.
func TestKcatSeesTheKafkaBinding(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (make tools installs it)")
	}
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	e := event.New()
	e.SetID("evt-1")
	e.SetSource("urn:test")
	e.SetType("order.placed")
	e.SetDataContentType("text/plain")
	e.SetExtension(cloudevent.PartitionKeyExtension, "customer-9")
	e.DataEncoded = []byte("two widgets")
	msg, err := cloudevent.ToMessage(e, cloudevent.Binary, cloudevent.Kafka())
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(topic, msg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-b", brokers[0], "-C", "-t", topic, "-o", "beginning", "-c", "1", "-e",
		"-f", "%k|%s|%h\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -C: %v: %s", err, out)
	}
	line := strings.TrimSpace(string(out))
	for _, want := range []string{"customer-9|two widgets|", "ce_specversion=1.0", "ce_id=evt-1", "ce_source=urn:test",
		"ce_type=order.placed", "content-type=text/plain", "ce_partitionkey=customer-9"} {
		if !strings.Contains(line, want) {
			t.Errorf("kcat read %q, which lacks %q", line, want)
		}
	}
	if strings.Contains(line, kafka.UUIDHeader) || strings.Contains(line, cloudevent.PrivatePrefix) {
		t.Errorf("kcat read %q: a UUID or private header went on the wire", line)
	}

	plain := newTopic(t)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	cmd := exec.CommandContext(ctx, kcat, "-b", brokers[0], "-P", "-t", plain, "-K", ":")
	cmd.Stdin = strings.NewReader("k1:hello from kcat\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v: %s", err, out)
	}
	msgs, err := sub.Subscribe(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	got.Ack()
	ev, err := cloudevent.FromMessage(got, cloudevent.Kafka())
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.Data()) != "hello from kcat" || ev.Source() != cloudevent.ExternalSource ||
		ev.Extensions()[cloudevent.PartitionKeyExtension] != "k1" {
		t.Errorf("kcat record decoded as %v data %q", ev.Context, ev.Data())
	}
}
