package compat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzGoConsumerAcrossRestarts keeps a franz-go consumer (which uses
// fetch sessions) polling three partitions while records are produced and
// the broker is killed with SIGKILL, restarted, and once stopped cleanly.
// The broker forgets its fetch sessions each time; the consumer must
// nevertheless read every record of each partition exactly once, in order.
func TestFranzGoConsumerAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the broker several times; runs without -short")
	}
	t.Parallel()
	const (
		topic      = "consume-restarts"
		partitions = 3
	)
	b := startBroker(t)
	createTopic(t, b.Addr(), topic, partitions)
	prod := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }))
	cons := newClient(t, b.Addr(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart(), 2: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(300*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }))

	var mu sync.Mutex // guards read
	read := map[int32][]string{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cons.PollFetches(ctx)
			mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { read[r.Partition] = append(read[r.Partition], string(r.Value)) })
			mu.Unlock()
		}
	}()
	defer func() { cancel(); <-done }()

	n := 0
	burst := func() {
		t.Helper()
		recs := make([]*kgo.Record, 300)
		for i := range recs {
			recs[i] = &kgo.Record{Partition: int32(n % partitions), Value: fmt.Appendf(nil, "r-%d", n)}
			n++
		}
		pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer pcancel()
		if err := prod.ProduceSync(pctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	caughtUp := func(what string) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() error {
			mu.Lock()
			defer mu.Unlock()
			got := 0
			for _, rs := range read {
				got += len(rs)
			}
			if got < n {
				return fmt.Errorf("consumer read %d of %d records", got, n)
			}
			return nil
		})
	}

	burst()
	caughtUp("read the first records")
	for cycle := range 4 {
		burst()
		if cycle == 2 {
			b.Stop()
		} else {
			b.Kill()
		}
		b.Restart()
		burst()
		caughtUp(fmt.Sprintf("read after restart %d", cycle+1))
	}

	log := readAll(t, b.Addr(), topic, 30*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for p := range int32(partitions) {
		if len(read[p]) != len(log[p]) {
			t.Fatalf("partition %d: consumer read %d records, the log holds %d", p, len(read[p]), len(log[p]))
		}
		for i, r := range log[p] {
			if read[p][i] != string(r.Value) {
				t.Fatalf("partition %d offset %d: consumer read %q, the log holds %q (each record once, in order)", p, r.Offset, read[p][i], r.Value)
			}
		}
	}
}
