package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/stream"
)

// TestEmbeddedBroker starts the bundled broker inside the binder, sends
// through it, and finds the message again after a restart on the same data
// directory.
func TestEmbeddedBroker(t *testing.T) {
	dir := t.TempDir()
	cfg, err := kafka.ParseConfig(stream.BinderConfig{"brokers": "embedded", "embedded-data-dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, err := kafka.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Health(ctx); err != nil {
		t.Errorf("Health of a running embedded broker: %v", err)
	}
	props := stream.BindingProperties{PartitionCount: 2}.WithDefaults("words")
	pub, err := b.Publisher(ctx, stream.Publication{Destination: "words", Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscriber(ctx, stream.Subscription{Destination: "words", Group: "anonymous.x", Anonymous: true,
		StartOffset: stream.Latest, Properties: stream.BindingProperties{}.WithDefaults("words")})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(ctx, "words")
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("words", message.NewMessage("m1", []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	got.Ack()
	if string(got.Payload) != "hello" {
		t.Errorf("payload = %q, want hello", got.Payload)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b2, err := kafka.New(ctx, cfg)
	if err != nil {
		t.Fatalf("restart on the same data dir: %v", err)
	}
	defer b2.Close()
	recs := readAll(t, b2.Brokers(), "words", 1)
	if string(recs[0].Value) != "hello" {
		t.Errorf("after restart the topic holds %q, want hello", recs[0].Value)
	}
	if n := partitionCount(t, b2.Brokers(), "words"); n != 2 {
		t.Errorf("words has %d partitions, want 2 (partition-count)", n)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := kafka.ParseConfig(stream.BinderConfig{
		"brokers":            []any{"a:9092", "b:9092"},
		"client-id":          "app",
		"tls-ca-file":        "/etc/ca.pem",
		"sasl-mechanism":     "scram-sha-256",
		"sasl-username":      "u",
		"sasl-password":      "p",
		"replication-factor": 3,
		"topic-configs":      map[string]any{"retention.ms": 1000},
		"auto-create-topics": "false",
		"close-timeout":      "2s",
		"fetch-max-wait":     "250ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Brokers) != 2 || cfg.ClientID != "app" || cfg.TLS == nil || cfg.TLS.CAFile != "/etc/ca.pem" ||
		cfg.SASL == nil || cfg.SASL.Mechanism != kafka.SASLScramSHA256 || cfg.ReplicationFactor != 3 ||
		cfg.TopicConfigs["retention.ms"] != "1000" || cfg.AutoCreateTopics || cfg.CloseTimeout.String() != "2s" ||
		cfg.FetchMaxWait != 250*time.Millisecond {
		t.Errorf("ParseConfig = %+v", cfg)
	}
	def, err := kafka.ParseConfig(nil)
	if err != nil || len(def.Brokers) != 1 || def.Brokers[0] != "localhost:9092" || !def.AutoCreateTopics {
		t.Errorf("ParseConfig(nil) = %+v, %v; want brokers [localhost:9092], auto-create-topics", def, err)
	}
	for _, bad := range []stream.BinderConfig{
		{"fetch-max-wait": "1ms"},
		{"fetch-max-wait": "-1s"},
		{"brokers": []any{"embedded", "x:1"}},
		{"brokrs": "x:1"},
		{"replication-factor": "many"},
		{"close-timeout": "soon"},
		{"sasl-mechanism": "GSSAPI", "sasl-username": "u"},
		{"fewer-partitions": "ignore"},
	} {
		if _, err := kafka.ParseConfig(bad); err == nil {
			t.Errorf("ParseConfig(%v) = nil error", bad)
		}
	}
}

func TestBinderLag(t *testing.T) {
	brokers := testBrokers(t)
	ctx := context.Background()
	b, err := kafka.New(ctx, kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true, CloseTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	topic := newTopic(t)
	pub, err := b.Publisher(ctx, stream.Publication{Destination: topic, Properties: stream.BindingProperties{}.WithDefaults(topic)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := pub.Publish(topic, message.NewMessage(string(rune('a'+i)), nil)); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := b.Subscriber(ctx, stream.Subscription{Destination: topic, Group: "lagging", StartOffset: stream.Earliest,
		Properties: stream.BindingProperties{Group: "lagging"}.WithDefaults(topic)})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, msgs).Ack()
	receive(t, msgs) // the second is delivered, not acked: 4 records after the last ack
	var lag []kafka.BindingLag
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lag = b.Lag(); len(lag) == 1 && lag[0].Total == 4 {
			break
		}
	}
	if len(lag) != 1 || lag[0].Destination != topic || lag[0].Group != "lagging" || lag[0].Total != 4 {
		t.Errorf("Lag() = %+v, want %s/lagging with 4", lag, topic)
	}
	d := b.HealthDetails(ctx)
	if _, ok := d["lag"].(map[string]any)[topic+"/lagging"]; !ok || d["error"] != nil {
		t.Errorf("HealthDetails = %v", d)
	}
}
