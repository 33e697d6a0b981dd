package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
)

// publishTo publishes n messages with random payloads to partition p of
// topic (made with partitions partitions when missing) and returns the
// payloads in order.
func publishTo(t *testing.T, brokers []string, topic string, partitions, p, n int) [][]byte {
	t.Helper()
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = int32(partitions) })
	out := make([][]byte, n)
	msgs := make([]*message.Message, n)
	for i := range n {
		out[i] = make([]byte, 1+rand.IntN(200))
		for j := range out[i] {
			out[i][j] = byte(rand.Uint32())
		}
		msgs[i] = message.NewMessage(fmt.Sprintf("%d-%d", p, i), out[i])
		msgs[i].Metadata.Set(cloudevent.MetadataPartition, strconv.Itoa(p))
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// A partition whose queue is full and whose handler is stuck does not hold
// up the consumer's other partitions: the poll loop stops waiting for it
// (its fetching is paused instead). Afterwards its backlog comes in order,
// none lost.
func TestFullStuckPartitionDoesNotStallOthers(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	backlog := publishTo(t, brokers, topic, 2, 0, 60)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) {
		c.StartOffset = kafka.Earliest
		c.Group = "g-" + topic
		c.MaxBufferedRecords = 4
	})
	release := make(chan struct{})
	var releaseOnce sync.Once
	unstick := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unstick) // registered after the subscriber's: runs before its Close
	var mu sync.Mutex
	var got [][]byte
	other := make(chan []byte, 1)
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		if m.Metadata.Get(cloudevent.MetadataPartition) == "1" {
			other <- m.Payload
			return nil
		}
		mu.Lock()
		got = append(got, m.Payload)
		first := len(got) == 1
		mu.Unlock()
		if first {
			<-release // stuck until partition 1's message went through
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the first call on partition 0", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	})
	want := publishTo(t, brokers, topic, 2, 1, 1)[0]
	select {
	case p := <-other:
		if !bytes.Equal(p, want) {
			t.Fatalf("partition 1 delivered %x, want %x", p, want)
		}
	case <-time.After(waitFor):
		t.Fatal("partition 1's message did not come while partition 0's full queue was stuck")
	}
	unstick()
	waitUntil(t, "partition 0's backlog", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(backlog)
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(backlog) {
		t.Fatalf("partition 0 delivered %d messages, want %d", len(got), len(backlog))
	}
	for i := range backlog {
		if !bytes.Equal(got[i], backlog[i]) {
			t.Fatalf("partition 0 message %d is %x, want %x", i, got[i], backlog[i])
		}
	}
}

// A backlog far larger than the buffers, with partition 0's handler
// sleeping now and then (longer than the flow control's tick, so that it
// may be paused rather than waited for): every message is delivered once,
// in order within its partition, bytes unchanged; on both delivery paths.
func TestBacklogThroughSmallBuffers(t *testing.T) {
	for _, mode := range []string{"channel", "handler"} {
		t.Run(mode, func(t *testing.T) {
			brokers := testBrokers(t)
			topic := newTopic(t)
			const partitions, n = 4, 300
			want := make([][][]byte, partitions)
			for p := range partitions {
				want[p] = publishTo(t, brokers, topic, partitions, p, n)
			}
			sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) {
				c.StartOffset = kafka.Earliest
				c.Group = "g-" + topic
				c.MaxBufferedRecords = 8
			})
			var mu sync.Mutex
			got := make([][][]byte, partitions)
			total := 0
			handle := func(m *message.Message) {
				p, err := strconv.Atoi(m.Metadata.Get(cloudevent.MetadataPartition))
				if err != nil {
					t.Error(err)
					return
				}
				// Partition 0 is slow: its queue stays full long enough
				// for the poll loop to give up waiting and pause it.
				mu.Lock()
				slow := p == 0 && len(got[0])%50 == 0
				mu.Unlock()
				if slow {
					time.Sleep(80 * time.Millisecond)
				}
				mu.Lock()
				got[p] = append(got[p], m.Payload)
				total++
				mu.Unlock()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if mode == "handler" {
				err := sub.SubscribeHandler(ctx, topic, func(m *message.Message) error { handle(m); return nil })
				if err != nil {
					t.Fatal(err)
				}
			} else {
				msgs, err := sub.Subscribe(ctx, topic)
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					for m := range msgs {
						handle(m)
						m.Ack()
					}
				}()
			}
			waitUntil(t, "the whole backlog", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return total >= partitions*n
			})
			mu.Lock()
			defer mu.Unlock()
			for p := range partitions {
				if len(got[p]) != n {
					t.Fatalf("partition %d delivered %d messages, want %d", p, len(got[p]), n)
				}
				for i := range n {
					if !bytes.Equal(got[p][i], want[p][i]) {
						t.Fatalf("partition %d message %d is %x, want %x", p, i, got[p][i], want[p][i])
					}
				}
			}
		})
	}
}

// A member whose handlers keep up is never paused: its poll loop waits for
// full buffers to drain, so that a partition is not left waiting, once
// resumed, behind a fetch of its caught-up neighbours. (The flow control's
// tick is made long, so that a pause here could only come from pausing a
// partition that keeps up, not from a test machine's hiccup.)
func TestKeepingUpIsNotPaused(t *testing.T) {
	t.Cleanup(kafka.SetRoomStall(2 * time.Second)) // runs after the subscriber's Close
	brokers := testBrokers(t)
	topic := newTopic(t)
	const partitions, n = 4, 400
	want := make([][][]byte, partitions)
	for p := range partitions {
		want[p] = publishTo(t, brokers, topic, partitions, p, n)
	}
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) {
		c.StartOffset = kafka.Earliest
		c.Group = "g-" + topic
		c.MaxBufferedRecords = 10
		c.FetchMaxWait = 5 * time.Second
	})
	var mu sync.Mutex
	got := make([][][]byte, partitions)
	total := 0
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		p, err := strconv.Atoi(m.Metadata.Get(cloudevent.MetadataPartition))
		if err != nil {
			return err
		}
		mu.Lock()
		got[p] = append(got[p], m.Payload)
		total++
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the whole backlog", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return total >= partitions*n
	})
	if pauses := kafka.FetchPauses(sub); pauses != 0 {
		t.Errorf("handlers that keep up: %d partitions paused, want none", pauses)
	}
	mu.Lock()
	defer mu.Unlock()
	for p := range partitions {
		if len(got[p]) != n {
			t.Fatalf("partition %d delivered %d messages, want %d", p, len(got[p]), n)
		}
		for i := range n {
			if !bytes.Equal(got[p][i], want[p][i]) {
				t.Fatalf("partition %d message %d is %x, want %x", p, i, got[p][i], want[p][i])
			}
		}
	}
}

// waitUntil polls cond until it holds, failing the test after waitFor.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(5 * time.Millisecond) // a poll interval, not a wait for an outcome
	}
}
