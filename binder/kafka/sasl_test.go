package kafka_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
)

// saslEnv names SASL clusters to test against, since the bundled broker has
// no SASL: entries "host:port,MECHANISM,user,password" separated by ";",
// e.g. "localhost:9094,SCRAM-SHA-512,alice,secret".
const saslEnv = "MILLSTREAM_KAFKA_TEST_SASL"

func TestSASLExternal(t *testing.T) {
	spec := os.Getenv(saslEnv)
	if spec == "" {
		t.Skip(saslEnv + " is not set: no SASL cluster to test against")
	}
	for _, entry := range strings.Split(spec, ";") {
		f := strings.Split(entry, ",")
		if len(f) != 4 {
			t.Fatalf("%s entry %q: want host:port,MECHANISM,user,password", saslEnv, entry)
		}
		t.Run(f[1], func(t *testing.T) {
			conn := kafka.Connection{Brokers: []string{f[0]}, SASL: &kafka.SASLConfig{Mechanism: f[1], Username: f[2], Password: f[3]}}
			pub := publisher(t, nil, func(c *kafka.PublisherConfig) { c.Connection = conn })
			sub := subscriber(t, nil, func(c *kafka.SubscriberConfig) { c.Connection = conn; c.StartOffset = kafka.Earliest })
			topic := newTopic(t)
			if err := pub.Publish(topic, message.NewMessage("1", []byte(f[1]))); err != nil {
				t.Fatal(err)
			}
			msgs, err := sub.Subscribe(context.Background(), topic)
			if err != nil {
				t.Fatal(err)
			}
			if m := receive(t, msgs); string(m.Payload) != f[1] {
				t.Errorf("got %q", m.Payload)
			}
			wrong := conn
			wrong.SASL = &kafka.SASLConfig{Mechanism: f[1], Username: f[2], Password: f[3] + "-wrong"}
			bad := publisher(t, nil, func(c *kafka.PublisherConfig) { c.Connection = wrong; c.DeliveryTimeout = 3e9 })
			if err := bad.Publish(topic, message.NewMessage("2", nil)); err == nil {
				t.Error("publish with a wrong password succeeded")
			}
		})
	}
}
