package kafka_test

import (
	"context"
	"sync"
	"testing"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/stream"
)

// TestProvisionOneTopicTwoBindings: an input binding on the default
// partition count and an output binding asking for 4, on one topic that
// does not exist yet, start together; start-up succeeds and the topic ends
// up with 4 partitions, whichever binding provisions first. Repeated, since
// the failure depended on the order the bindings raced in.
func TestProvisionOneTopicTwoBindings(t *testing.T) {
	brokers := testBrokers(t)
	for range 10 {
		topic := newTopic(t)
		binder, err := kafka.New(context.Background(), kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
		if err != nil {
			t.Fatal(err)
		}
		app := stream.New(stream.Config{Application: "logs", Bindings: map[string]stream.BindingProperties{
			"aggregate-in-0": {Destination: topic, Group: "aggregate"},
			"ship-out-0":     {Destination: topic, PartitionCount: 4},
		}}, stream.WithBinder("kafka", binder))
		if err := app.Register(stream.Consumer("aggregate", func(context.Context, string) error { return nil })); err != nil {
			t.Fatal(err)
		}
		if err := app.Register(stream.Supplier("ship", func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})); err != nil {
			t.Fatal(err)
		}
		if err := app.Start(context.Background()); err != nil {
			t.Fatalf("start: %v", err)
		}
		if err := app.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		binder.Close()
		if n := partitionCount(t, brokers, topic); n != 4 {
			t.Errorf("topic has %d partitions, want 4", n)
		}
	}
}

// TestProvisionConcurrentEnsure: publishers and subscribers of one binder
// asking for different partition counts of one new topic at the same time
// all succeed and the topic gets the largest count.
func TestProvisionConcurrentEnsure(t *testing.T) {
	brokers := testBrokers(t)
	for range 10 {
		topic := newTopic(t)
		binder, err := kafka.New(context.Background(), kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				ctx := context.Background()
				if i%2 == 0 {
					sub, err := binder.Subscriber(ctx, stream.Subscription{Destination: topic, Group: "g", Properties: stream.BindingProperties{Destination: topic}})
					if err == nil {
						err = sub.Close()
					}
					errs <- err
					return
				}
				_, err := binder.Publisher(ctx, stream.Publication{Destination: topic, Properties: stream.BindingProperties{Destination: topic, PartitionCount: 4}})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("provision: %v", err)
			}
		}
		binder.Close()
		if n := partitionCount(t, brokers, topic); n != 4 {
			t.Errorf("topic has %d partitions, want 4", n)
		}
	}
}
