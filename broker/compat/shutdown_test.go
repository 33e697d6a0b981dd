package compat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCleanShutdownKeepsData stops the broker with SIGTERM while a producer
// with acks=1 (acknowledged before fsync) has just written and a consumer is
// long-polling: the broker must exit with status 0 in time, and after the
// restart every acknowledged record is there.
func TestCleanShutdownKeepsData(t *testing.T) {
	t.Parallel()
	const topic = "clean-shutdown"
	b := startBroker(t)
	createTopic(t, b.Addr(), topic, 2)
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.LeaderAck()),
		kgo.DisableIdempotentWrite())
	recs := make([]*kgo.Record, 5000)
	for i := range recs {
		recs[i] = &kgo.Record{Value: fmt.Appendf(nil, "clean-%d", i)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	// A consumer parked in a long poll at the end of the log.
	consumer := newClient(t, b.Addr(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(5*time.Second))
	pollCtx, stopPoll := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for pollCtx.Err() == nil {
			consumer.PollFetches(pollCtx)
		}
	}()
	defer func() { stopPoll(); <-polled }()
	eventually(t, 10*time.Second, "consumer connected", func() error {
		if len(consumer.DiscoveredBrokers()) == 0 {
			return fmt.Errorf("no broker discovered yet")
		}
		return nil
	})

	start := time.Now()
	b.Stop()
	t.Logf("SIGTERM to exit: %v", time.Since(start).Round(time.Millisecond))
	b.Restart()

	got := readAll(t, b.Addr(), topic, 30*time.Second)
	n := 0
	for p, rs := range got {
		for _, r := range rs {
			n++
			var i int
			if _, err := fmt.Sscanf(string(r.Value), "clean-%d", &i); err != nil || i < 0 || i >= len(recs) {
				t.Fatalf("partition %d offset %d: unexpected value %q", p, r.Offset, r.Value)
			}
			if w := recs[i]; w.Partition != p || w.Offset != r.Offset {
				t.Fatalf("record %d read at partition %d offset %d, acknowledged at %d/%d", i, p, r.Offset, w.Partition, w.Offset)
			}
		}
	}
	if n != len(recs) {
		t.Fatalf("after a clean restart the topic holds %d records, want the %d acknowledged", n, len(recs))
	}
}
