package rabbit_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cloudevents/sdk-go/v2/event"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// TestCloudEventOnTheWire reads with a plain AMQP client what the binder
// sends: cloudEvents: headers, the content-type property, the message id,
// persistent delivery, the destination as routing key, no private entries.
func TestCloudEventOnTheWire(t *testing.T) {
	b := newBinder(t)
	d := dest()
	p := publisher(t, b, d)
	ch := rawChannel(t)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "#", d, false, nil); err != nil {
		t.Fatal(err)
	}
	e := event.New()
	e.SetID("evt-1")
	e.SetSource("urn:test")
	e.SetType("test.wire")
	e.SetSubject("s")
	e.SetExtension(cloudevent.PartitionKeyExtension, "k1")
	if err := e.SetData("text/plain", "hello"); err != nil {
		t.Fatal(err)
	}
	m, err := cloudevent.ToMessage(e, cloudevent.Binary, b.Convention())
	if err != nil {
		t.Fatal(err)
	}
	m.Metadata[cloudevent.MetadataKey] = "k1"
	if err := p.Publish(d, m); err != nil {
		t.Fatal(err)
	}
	got := get(t, ch, q.Name)
	if string(got.Body) != "hello" || got.ContentType != "text/plain" || got.MessageId != "evt-1" ||
		got.DeliveryMode != amqp.Persistent || got.RoutingKey != d || got.Exchange != d {
		t.Errorf("delivery body %q content-type %q message-id %q mode %d exchange %q key %q; want hello, text/plain, evt-1, 2, %s, %s",
			got.Body, got.ContentType, got.MessageId, got.DeliveryMode, got.Exchange, got.RoutingKey, d, d)
	}
	want := map[string]string{
		"cloudEvents:specversion": "1.0", "cloudEvents:id": "evt-1", "cloudEvents:source": "urn:test",
		"cloudEvents:type": "test.wire", "cloudEvents:subject": "s", "cloudEvents:partitionkey": "k1",
	}
	for k, v := range want {
		if got.Headers[k] != v {
			t.Errorf("header %s = %v, want %q", k, got.Headers[k], v)
		}
	}
	for k := range got.Headers {
		if !strings.HasPrefix(k, "cloudEvents:") {
			t.Errorf("unexpected header %s = %v", k, got.Headers[k])
		}
	}
}

// TestPartitionedRouting: the SDK's partition becomes the routing key
// <destination>-<p>, and a partitioned binding's queue
// <destination>.<group>-<instance-index> gets only its partitions.
func TestPartitionedRouting(t *testing.T) {
	b := newBinder(t)
	d := dest()
	instance := func(idx int) stream.Subscription {
		s := subscription(d, "g")
		s.Properties.Partitioned, s.Properties.InstanceCount, s.Properties.InstanceIndex, s.Properties.PartitionCount = true, 2, idx, 4
		s.Partitions = []int{idx, idx + 2}
		return s
	}
	sub0, ch0 := members(t, b, instance(0), 1)
	_, ch1 := members(t, b, instance(1), 1)
	if q := sub0.(*rabbit.Subscriber).Topology().Queue; q != d+".g-0" {
		t.Errorf("queue of instance 0 = %s, want %s.g-0", q, d)
	}
	p := publisher(t, b, d)
	const n = 20
	for i := range n {
		m := message.NewMessage(strconv.Itoa(i), nil)
		m.Metadata[cloudevent.MetadataPartition] = strconv.Itoa(i % 4)
		if err := p.Publish(d, m); err != nil {
			t.Fatal(err)
		}
	}
	for idx, ch := range [][]<-chan *message.Message{ch0, ch1} {
		for range n / 2 {
			m := receive(t, ch[0])
			m.Ack()
			i, _ := strconv.Atoi(m.UUID)
			if i%2 != idx {
				t.Errorf("instance %d got message %d of partition %d", idx, i, i%4)
			}
		}
	}
}

func TestAnonymousQueueDeletedOnClose(t *testing.T) {
	b := newBinder(t)
	d := dest()
	sub, _ := members(t, b, subscription(d, ""), 1)
	queue := sub.(*rabbit.Subscriber).Topology().Queue
	if !strings.HasPrefix(queue, d+".anonymous.") {
		t.Errorf("anonymous queue = %s, want %s.anonymous.<id>", queue, d)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ch := rawChannel(t)
	_, err := ch.QueueDeclarePassive(queue, false, true, true, false, nil)
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
		t.Fatalf("queue %s after Close: declare-passive error %v, want NOT_FOUND", queue, err)
	}
}

func TestSubscriptionTopology(t *testing.T) {
	props := stream.BindingProperties{Group: "g", DLQ: true}.WithDefaults("orders")
	got := rabbit.SubscriptionTopology(stream.Subscription{Destination: "orders", Group: "g", Properties: props})
	want := rabbit.Topology{Exchange: "orders", Queue: "orders.g", Durable: true, BindingKeys: []string{"#"},
		DeadLetterExchange: "orders.g.dlq", DeadLetterQueue: "orders.g.dlq"}
	if got.Exchange != want.Exchange || got.Queue != want.Queue || got.Durable != want.Durable ||
		!slices.Equal(got.BindingKeys, want.BindingKeys) || got.DeadLetterExchange != want.DeadLetterExchange || got.DeadLetterQueue != want.DeadLetterQueue {
		t.Errorf("SubscriptionTopology = %+v, want %+v", got, want)
	}
	bare := rabbit.SubscriptionTopology(stream.Subscription{Destination: "orders", Group: "g"})
	if bare.DeadLetterExchange != "orders.g.dlq" || bare.DeadLetterQueue != "" {
		t.Errorf("without properties: dead-letter exchange %q, queue %q; want orders.g.dlq and none (dlq off)", bare.DeadLetterExchange, bare.DeadLetterQueue)
	}
}

// TestQueueArgumentsMismatch: a group queue declared earlier with another
// dead-letter exchange is reported with the fix, not used silently.
func TestQueueArgumentsMismatch(t *testing.T) {
	b := newBinder(t)
	d := dest()
	ch := rawChannel(t)
	if _, err := ch.QueueDeclare(d+".g", true, false, false, false, amqp.Table{"x-dead-letter-exchange": "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	_, err := b.Subscriber(t.Context(), subscription(d, "g"))
	if err == nil || !strings.Contains(err.Error(), "delete_queue "+d+".g") {
		t.Fatalf("Subscriber on a queue with other arguments: %v, want an error naming rabbitmqctl delete_queue %s.g", err, d)
	}
}
