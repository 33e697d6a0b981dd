package kafka_test

import (
	"context"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
)

// TestWatermillExample is the publisher and subscriber used on their own,
// as any Watermill application would. docs/binders/kafka.md quotes it.
func TestWatermillExample(t *testing.T) {
	brokers := testBrokers(t) // e.g. []string{"localhost:9092"}
	conn := kafka.Connection{Brokers: brokers, ClientID: "orders-service"}

	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Connection: conn,
		Provision:  kafka.ProvisionConfig{Topic: kafka.TopicSpec{Partitions: 4}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Connection: conn,
		Group:      "billing", // a Kafka consumer group; starts at the earliest offset
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	msg := message.NewMessage("order-42", []byte(`{"total": 42}`))
	msg.Metadata.Set(cloudevent.MetadataKey, "customer-7") // the record key: picks the partition
	msg.Metadata.Set("trace-id", "abc123")                 // a record header
	if err := pub.Publish("orders", msg); err != nil {
		t.Fatal(err)
	}

	msgs, err := sub.Subscribe(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	got := <-msgs
	got.Ack() // committed with the next commit; Nack() would deliver it again
	if got.UUID != "order-42" || got.Metadata.Get("trace-id") != "abc123" {
		t.Errorf("got %s %v", got.UUID, got.Metadata)
	}
}
