package brokercontainer_test

import (
	"context"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokercontainer"
	"github.com/testcontainers/testcontainers-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestUsage is the example the docs quote: start the broker in Docker,
// produce one record through Brokers() and read it back.
func TestUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a container")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	ctr, err := brokercontainer.Run(ctx, brokercontainer.DefaultImage,
		brokercontainer.WithBuildFromRepo("../.."), // build the image from this checkout
		brokercontainer.WithConfig("fsync", "never"),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	seeds, err := ctr.Brokers(ctx)
	if err != nil {
		t.Fatal(err)
	}

	client, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics("greetings"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	rec := &kgo.Record{Topic: "greetings", Key: []byte("k"), Value: []byte("hello")}
	if err := client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fetches := client.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	got := fetches.Records()
	if len(got) != 1 || string(got[0].Value) != "hello" || got[0].Offset != 0 {
		t.Fatalf("read %v, want the one record hello at offset 0", got)
	}
}
