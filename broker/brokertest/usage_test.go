package brokertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A test starts a real broker, talks to it with any Kafka client, and can
// restart it to check what survives.
func TestStartProduceRestartConsume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) {
		c.DefaultPartitions = 1
	}))
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("events"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	b.Restart() // a clean stop and start: same address, same data

	cons, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("record not read back after restart")
		}
		var got []string
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		if len(got) > 0 {
			if got[0] != "hello" {
				t.Fatalf("read %q, want hello", got[0])
			}
			return
		}
	}
}
