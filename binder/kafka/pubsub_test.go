package kafka_test

import (
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/binder/kafka"
)

// payloadKey keys records by payload: Watermill's order test sends 16
// kinds of payload and checks order per kind, which a keyed partitioning
// keeps across partitions.
type payloadKey struct{ kafka.DefaultMarshaler }

func (m payloadKey) Marshal(topic string, msg *message.Message) (*kgo.Record, error) {
	rec, err := m.DefaultMarshaler.Marshal(topic, msg)
	if err == nil {
		rec.Key = append([]byte(nil), msg.Payload...)
	}
	return rec, err
}

func newPubSub(t *testing.T, brokers []string, group string, partitions int32) (message.Publisher, message.Subscriber) {
	t.Helper()
	conn := kafka.Connection{Brokers: brokers}
	prov := kafka.ProvisionConfig{Topic: kafka.TopicSpec{Partitions: partitions}}
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Connection: conn, Marshaler: payloadKey{}, Provision: prov})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Connection:      conn,
		Group:           group,
		StartOffset:     kafka.Earliest,
		NackResendDelay: 5 * time.Millisecond,
		CloseTimeout:    200 * time.Millisecond,
		CommitInterval:  100 * time.Millisecond,
		Provision:       prov,
	})
	if err != nil {
		t.Fatal(err)
	}
	return pub, sub
}

// TestPubSubNoGroup runs the suite without groups: every subscriber reads
// the whole topic from the earliest offset, so new subscribers get old
// messages.
func TestPubSubNoGroup(t *testing.T) {
	brokers := testBrokers(t)
	features := tests.Features{
		ConsumerGroups:                   false,
		GuaranteedOrder:                  true,
		Persistent:                       true,
		NewSubscriberReceivesOldMessages: true,
		GenerateTopicFunc:                func(tctx tests.TestContext) string { return "wm-n-" + string(tctx.TestID) },
	}
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSub(t, brokers, "", 1)
		},
		nil)
}
