package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConcurrentProducersOnePartition has kcat processes and franz-go
// clients write to the same partition at the same time, over separate
// connections, while a consumer reads. Every record must land exactly once,
// each producer's records in the order it sent them, and the offsets must
// be contiguous.
func TestConcurrentProducersOnePartition(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	const (
		topic     = "concurrent"
		producers = 4 // of each kind
		perEach   = 5000
	)
	createTopic(t, b.Addr(), topic, 1)

	var wg sync.WaitGroup
	errs := make(chan error, 2*producers)
	for k := range producers {
		wg.Go(func() {
			var in bytes.Buffer
			for i := range perEach {
				fmt.Fprintf(&in, "kcat%d-%d\n", k, i)
			}
			if _, err := runTool(t, 90*time.Second, in.Bytes(), kcat, "-b", b.Addr(), "-P", "-t", topic, "-p", "0",
				"-X", "linger.ms=1", "-X", "batch.num.messages=50"); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(topic),
				kgo.ProducerLinger(time.Millisecond), kgo.ProducerBatchMaxBytes(4<<10))
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			var mu sync.Mutex
			var perr error
			for i := range perEach {
				cl.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "franz%d-%d", k, i)}, func(_ *kgo.Record, err error) {
					if err != nil {
						mu.Lock()
						perr = err
						mu.Unlock()
					}
				})
			}
			if err := cl.Flush(ctx); err != nil {
				errs <- err
			}
			mu.Lock()
			defer mu.Unlock()
			if perr != nil {
				errs <- perr
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("producer: %v", err)
	}

	got := readAll(t, b.Addr(), topic, 60*time.Second)
	start, end := endOffsets(t, newClient(t, b.Addr()), topic)
	checkContiguous(t, got, start, end)
	next := map[string]int{}
	for _, r := range got[0] {
		source, n, ok := strings.Cut(string(r.Value), "-")
		var i int
		if _, err := fmt.Sscanf(n, "%d", &i); !ok || err != nil {
			t.Fatalf("offset %d: value %q is none of the produced ones", r.Offset, r.Value)
		}
		if i != next[source] {
			t.Fatalf("offset %d: %s record %d, want %d (each record once, in its producer's order)", r.Offset, source, i, next[source])
		}
		next[source]++
	}
	if len(got[0]) != 2*producers*perEach {
		t.Fatalf("partition holds %d records, want %d", len(got[0]), 2*producers*perEach)
	}
}
