package kafka_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
)

func partitionCount(t *testing.T, brokers []string, topic string) int {
	t.Helper()
	details, err := admin(t, brokers).ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return len(details[topic].Partitions)
}

func TestProvisionCreatesTopic(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) {
		c.Provision.Topic = kafka.TopicSpec{Partitions: 5, Configs: map[string]string{"retention.ms": "3600000"}}
	})
	if err := sub.SubscribeInitialize(topic); err != nil {
		t.Fatal(err)
	}
	if n := partitionCount(t, brokers, topic); n != 5 {
		t.Errorf("topic has %d partitions, want 5", n)
	}
	rcs, err := admin(t, brokers).DescribeTopicConfigs(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" && c.Value != nil {
			got = *c.Value
		}
	}
	if got != "3600000" {
		t.Errorf("retention.ms = %q, want 3600000", got)
	}
}

func TestProvisionFewerPartitions(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	if _, err := admin(t, brokers).CreateTopic(context.Background(), 2, -1, nil, topic); err != nil {
		t.Fatal(err)
	}
	ask := func(how string) error {
		pub := publisher(t, brokers, func(c *kafka.PublisherConfig) {
			c.Provision.Topic.Partitions = 4
			c.Provision.FewerPartitions = how
		})
		return pub.Publish(topic, message.NewMessage("1", nil))
	}

	var tooFew *kafka.TooFewPartitionsError
	if err := ask(""); !errors.As(err, &tooFew) || tooFew.Partitions != 2 || tooFew.Want != 4 {
		t.Errorf("publish to a 2-partition topic asking for 4 = %v, want TooFewPartitionsError{2, 4}", err)
	}
	if err := ask(kafka.FewerPartitionsWarn); err != nil {
		t.Errorf("with fewer-partitions warn: %v", err)
	}
	if n := partitionCount(t, brokers, topic); n != 2 {
		t.Errorf("after warn the topic has %d partitions, want 2 (untouched)", n)
	}
	if err := ask(kafka.FewerPartitionsAdd); err != nil {
		t.Fatalf("with fewer-partitions add: %v", err)
	}
	if n := partitionCount(t, brokers, topic); n != 4 {
		t.Errorf("after add the topic has %d partitions, want 4", n)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := kafka.Connection{Brokers: []string{"localhost:9092"}}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"no brokers", (&kafka.PublisherConfig{}).Validate()},
		{"bad acks", (&kafka.PublisherConfig{Connection: ok, Acks: "2"}).Validate()},
		{"acks 1 with idempotence", (&kafka.PublisherConfig{Connection: ok, Acks: "1"}).Validate()},
		{"bad start offset", (&kafka.SubscriberConfig{Connection: ok, StartOffset: "middle"}).Validate()},
		{"bad fewer-partitions", (&kafka.SubscriberConfig{Connection: ok, Provision: kafka.ProvisionConfig{FewerPartitions: "ignore"}}).Validate()},
		{"bad sasl", (&kafka.PublisherConfig{Connection: kafka.Connection{Brokers: ok.Brokers, SASL: &kafka.SASLConfig{Mechanism: "GSSAPI", Username: "u"}}}).Validate()},
		{"cert without key", (&kafka.PublisherConfig{Connection: kafka.Connection{Brokers: ok.Brokers, TLS: &kafka.TLSConfig{CertFile: "c.pem"}}}).Validate()},
	} {
		if tc.err == nil {
			t.Errorf("%s: Validate() = nil, want an error", tc.name)
		}
	}
	for _, good := range []error{
		(&kafka.PublisherConfig{Connection: ok}).Validate(),
		(&kafka.PublisherConfig{Connection: ok, Acks: "1", DisableIdempotence: true}).Validate(),
		(&kafka.SubscriberConfig{Connection: ok, Group: "g", StartOffset: kafka.Latest}).Validate(),
		(&kafka.SubscriberConfig{Connection: kafka.Connection{Brokers: ok.Brokers, SASL: &kafka.SASLConfig{Mechanism: "scram-sha-512", Username: "u"}}}).Validate(),
	} {
		if good != nil {
			t.Errorf("Validate() = %v, want nil", good)
		}
	}
}
