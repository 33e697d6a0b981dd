package kafka_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/broker/auth"
	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
)

// saslEnv names more SASL clusters to test against (a Kafka or Redpanda
// container, say): entries "host:port,MECHANISM,user,password" separated
// by ";", e.g. "localhost:9094,SCRAM-SHA-512,alice,secret". The bundled
// broker, with SASL on, is always tested.
const saslEnv = "MILLSTREAM_KAFKA_TEST_SASL"

type saslCluster struct {
	name, addr, mechanism, user, password string
}

func TestSASL(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) {
		c.SASLMechanisms = auth.Mechanisms
		c.SASLUsers = map[string]auth.User{"alice": {Password: "alice-secret"}}
	}))
	clusters := []saslCluster{
		{"bundled/PLAIN", b.Addr(), kafka.SASLPlain, "alice", "alice-secret"},
		{"bundled/SCRAM-SHA-256", b.Addr(), kafka.SASLScramSHA256, "alice", "alice-secret"},
		{"bundled/SCRAM-SHA-512", b.Addr(), kafka.SASLScramSHA512, "alice", "alice-secret"},
	}
	if spec := os.Getenv(saslEnv); spec != "" {
		for _, entry := range strings.Split(spec, ";") {
			f := strings.Split(entry, ",")
			if len(f) != 4 {
				t.Fatalf("%s entry %q: want host:port,MECHANISM,user,password", saslEnv, entry)
			}
			clusters = append(clusters, saslCluster{"external/" + f[1] + "@" + f[0], f[0], f[1], f[2], f[3]})
		}
	}
	for _, cl := range clusters {
		t.Run(cl.name, func(t *testing.T) {
			conn := kafka.Connection{Brokers: []string{cl.addr}, SASL: &kafka.SASLConfig{Mechanism: cl.mechanism, Username: cl.user, Password: cl.password}}
			pub := publisher(t, nil, func(c *kafka.PublisherConfig) { c.Connection = conn })
			sub := subscriber(t, nil, func(c *kafka.SubscriberConfig) { c.Connection = conn; c.StartOffset = kafka.Earliest })
			topic := newTopic(t)
			if err := pub.Publish(topic, message.NewMessage("1", []byte(cl.mechanism))); err != nil {
				t.Fatal(err)
			}
			msgs, err := sub.Subscribe(context.Background(), topic)
			if err != nil {
				t.Fatal(err)
			}
			if m := receive(t, msgs); string(m.Payload) != cl.mechanism {
				t.Errorf("got %q, want %q", m.Payload, cl.mechanism)
			}
			wrong := conn
			wrong.SASL = &kafka.SASLConfig{Mechanism: cl.mechanism, Username: cl.user, Password: cl.password + "-wrong"}
			bad := publisher(t, nil, func(c *kafka.PublisherConfig) { c.Connection = wrong; c.DeliveryTimeout = 3e9 })
			if err := bad.Publish(topic, message.NewMessage("2", nil)); err == nil {
				t.Error("publish with a wrong password succeeded")
			}
		})
	}
}
