package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/fx"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/sdk/streamfx"
)

// TestPartitionedByCustomerOnKafka runs the pipeline against a real broker
// and reads payments with a plain Kafka client: payments has 4 partitions,
// and every payment of one customer is on the same one, keyed by the
// customer id.
func TestPartitionedByCustomerOnKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	b := brokertest.Start(t)
	t.Setenv("MILLSTREAM_BINDERS_KAFKA_BROKERS", b.Addr())
	var bridge *streamfx.Bridge
	app := fx.New(application(), fx.Populate(&bridge), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })

	const customers, perCustomer = 8, 3
	for i := range customers * perCustomer {
		o := Order{ID: fmt.Sprintf("o-%d", i), Customer: fmt.Sprintf("c-%d", i%customers), Address: "x",
			Items: []Item{{SKU: "s", Quantity: 1, Cents: 100}}}
		if err := bridge.Send(ctx, newOrdersBinding, o); err != nil {
			t.Fatal(err)
		}
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("payments"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	partitionOf := map[string]int32{}
	used := map[int32]bool{}
	for n := 0; n < customers*perCustomer; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d payments before the deadline", n, customers*perCustomer)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			c := string(r.Key)
			if p, ok := partitionOf[c]; ok && p != r.Partition {
				t.Errorf("customer %s on partitions %d and %d, want one", c, p, r.Partition)
			}
			partitionOf[c] = r.Partition
			used[r.Partition] = true
		})
	}
	if len(partitionOf) != customers {
		t.Errorf("keys seen: %v, want %d customers", partitionOf, customers)
	}
	if len(used) < 2 {
		t.Errorf("payments used partitions %v of 4; %d customers should spread", used, customers)
	}
}
