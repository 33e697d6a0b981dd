package memory_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// TestMembershipChurn sends while members join and leave one group: every
// message is handled once, and each partition's messages in order.
func TestMembershipChurn(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	const partitions = 4
	b := memory.New()
	defer b.Close()
	ctx := context.Background()
	p, _ := b.Publisher(ctx, stream.Publication{Destination: "d", Properties: props("d", stream.BindingProperties{PartitionCount: partitions})})
	s := stream.Subscription{Destination: "d", Group: "g", StartOffset: stream.Earliest, Properties: props("d", stream.BindingProperties{})}

	var mu sync.Mutex
	seen := make(map[int]int)
	last := make(map[string]int) // partition -> last seq
	var orderErr string
	done := make(chan struct{})
	var closeDone sync.Once
	consume := func(ch <-chan *message.Message) {
		for m := range ch {
			seq, _ := strconv.Atoi(string(m.Payload))
			part := m.Metadata[cloudevent.MetadataPartition]
			mu.Lock()
			seen[seq]++
			if prev, ok := last[part]; ok && seq < prev && orderErr == "" {
				orderErr = "partition " + part + ": " + strconv.Itoa(seq) + " after " + strconv.Itoa(prev)
			}
			last[part] = seq
			if len(seen) == n {
				closeDone.Do(func() { close(done) })
			}
			mu.Unlock()
			m.Ack()
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after the subscribers close, before the binder does
	join := func() message.Subscriber {
		sub, err := b.Subscriber(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := sub.Subscribe(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { consume(ch) })
		return sub
	}
	stable := join()
	defer stable.Close()
	go func() {
		for i := range n {
			m := message.NewMessage(strconv.Itoa(i), []byte(strconv.Itoa(i)))
			m.Metadata[cloudevent.MetadataPartition] = strconv.Itoa(i % partitions)
			if err := p.Publish("d", m); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	// Churn: members come and go until everything is in.
	for churn := 0; ; churn++ {
		select {
		case <-done:
			mu.Lock()
			defer mu.Unlock()
			for seq, c := range seen {
				if c != 1 {
					t.Errorf("message %d handled %d times", seq, c)
				}
			}
			if orderErr != "" {
				t.Error("order lost: " + orderErr)
			}
			return
		case <-time.After(10 * time.Second):
			mu.Lock()
			t.Fatalf("handled %d of %d after %d churns", len(seen), n, churn)
		default:
		}
		extra := join()
		extra.Close()
	}
}
