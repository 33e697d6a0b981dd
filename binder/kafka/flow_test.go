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
	sub := flowSubscriber(t, brokers, topic, 4, nil)
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

// backlog is random payloads written to every partition of a topic, and
// what a subscriber delivered of them.
type backlog struct {
	partitions, n int
	want          [][][]byte
	mu            sync.Mutex
	got           [][][]byte
	total         int
}

// flowSubscriber is a group member reading topic from its start, with
// buffers of buffered records per partition; more, when not nil, sets the
// rest.
func flowSubscriber(t *testing.T, brokers []string, topic string, buffered int, more func(*kafka.SubscriberConfig)) *kafka.Subscriber {
	t.Helper()
	return subscriber(t, brokers, func(c *kafka.SubscriberConfig) {
		c.StartOffset = kafka.Earliest
		c.Group = "g-" + topic
		c.MaxBufferedRecords = buffered
		if more != nil {
			more(c)
		}
	})
}

// newBacklog publishes n random payloads to each of partitions partitions
// of topic.
func newBacklog(t *testing.T, brokers []string, topic string, partitions, n int) *backlog {
	t.Helper()
	b := &backlog{partitions: partitions, n: n, want: make([][][]byte, partitions), got: make([][][]byte, partitions)}
	for p := range partitions {
		b.want[p] = publishTo(t, brokers, topic, partitions, p, n)
	}
	return b
}

// partition returns the partition of m and how many of its messages were
// delivered before it.
func (b *backlog) partition(t *testing.T, m *message.Message) (p, before int) {
	p, err := strconv.Atoi(m.Metadata.Get(cloudevent.MetadataPartition))
	if err != nil || p < 0 || p >= b.partitions {
		t.Errorf("message %s: partition %q", m.UUID, m.Metadata.Get(cloudevent.MetadataPartition))
		return 0, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return p, len(b.got[p])
}

// add records the delivery of m.
func (b *backlog) add(t *testing.T, m *message.Message) {
	p, _ := b.partition(t, m)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got[p] = append(b.got[p], m.Payload)
	b.total++
}

// check waits for the whole backlog and checks that every message came
// once, in order within its partition, bytes unchanged.
func (b *backlog) check(t *testing.T) {
	t.Helper()
	waitUntil(t, "the whole backlog", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.total >= b.partitions*b.n
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	for p := range b.partitions {
		if len(b.got[p]) != b.n {
			t.Fatalf("partition %d delivered %d messages, want %d", p, len(b.got[p]), b.n)
		}
		for i := range b.n {
			if !bytes.Equal(b.got[p][i], b.want[p][i]) {
				t.Fatalf("partition %d message %d is %x, want %x", p, i, b.got[p][i], b.want[p][i])
			}
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
			b := newBacklog(t, brokers, topic, 4, 300)
			sub := flowSubscriber(t, brokers, topic, 8, nil)
			handle := func(m *message.Message) {
				if p, before := b.partition(t, m); p == 0 && before%50 == 0 {
					time.Sleep(80 * time.Millisecond)
				}
				b.add(t, m)
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
			b.check(t)
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
	b := newBacklog(t, brokers, topic, 4, 400)
	sub := flowSubscriber(t, brokers, topic, 10, func(c *kafka.SubscriberConfig) { c.FetchMaxWait = 5 * time.Second })
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		b.add(t, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.check(t)
	if pauses := kafka.FetchPauses(sub); pauses != 0 {
		t.Errorf("handlers that keep up: %d partitions paused, want none", pauses)
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
