package kafka_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
)

func publishN(t *testing.T, pub message.Publisher, topic string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := pub.Publish(topic, message.NewMessage(strconv.Itoa(i), []byte(strconv.Itoa(i)))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGroupCommitsOnlyAcked: a message delivered but not acked when the
// subscriber closes comes again to the next member of the group; acked ones
// do not.
func TestGroupCommitsOnlyAcked(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	publishN(t, pub, topic, 0, 10)
	group := func(c *kafka.SubscriberConfig) { c.Group = "g-" + topic }

	sub := subscriber(t, brokers, group)
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if m := receive(t, msgs); m.UUID != strconv.Itoa(i) {
			t.Fatalf("got %s, want %d", m.UUID, i)
		} else {
			m.Ack()
		}
	}
	unacked := receive(t, msgs) // 4: delivered, never acked
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-unacked.Context().Done():
	default:
		t.Error("context of an unacked message still open after Close")
	}

	sub2 := subscriber(t, brokers, group)
	msgs2, err := sub2.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if m := receive(t, msgs2); m.UUID != "4" {
		t.Fatalf("next member starts at %s, want 4 (the first unacked)", m.UUID)
	}
}

// TestGroupAckDuringCloseCounts: an ack that arrives while Close waits is
// committed.
func TestGroupAckDuringCloseCounts(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	publishN(t, pub, topic, 0, 3)
	group := func(c *kafka.SubscriberConfig) { c.Group = "g-" + topic; c.CloseTimeout = 10 * time.Second }
	sub := subscriber(t, brokers, group)
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	m := receive(t, msgs)
	closed := make(chan error, 1)
	go func() { closed <- sub.Close() }()
	time.AfterFunc(100*time.Millisecond, func() { m.Ack() })
	start := time.Now()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %s", time.Since(start))
	sub2 := subscriber(t, brokers, group)
	msgs2, err := sub2.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs2)
	got.Ack()
	if got.UUID != "1" {
		t.Fatalf("after an ack during Close the next member starts at %s, want 1", got.UUID)
	}
}

// TestGroupPauseDoesNotRebalance: pausing keeps the member in the group
// (no new assignment) and delivers nothing until resumed.
func TestGroupPauseDoesNotRebalance(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	g := "g-" + topic
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.Group = g })
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	publishN(t, pub, topic, 0, 1)
	receive(t, msgs).Ack()
	before := kafka.Assignments(sub)
	if err := sub.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	publishN(t, pub, topic, 1, 2)
	receiveNone(t, msgs, 2*time.Second) // longer than the heartbeat and session checks
	if err := sub.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, msgs); m.UUID != "1" {
		t.Fatalf("after resume got %s, want 1", m.UUID)
	}
	if after := kafka.Assignments(sub); after != before {
		t.Errorf("assignments %d -> %d across pause and resume: a rebalance happened", before, after)
	}
}

// TestGroupRebalanceLosesNothing: a second member takes partitions from the
// first while messages flow; every message is handled, and none is handled
// by both members after it was acked.
func TestGroupRebalanceLosesNothing(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	const n = 400
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = 4 })
	group := func(c *kafka.SubscriberConfig) { c.Group = "g-" + topic; c.Provision.Topic.Partitions = 4 }
	publishN(t, pub, topic, 0, n/2)

	seen := make(chan string, 4*n)
	consume := func(msgs <-chan *message.Message) {
		for m := range msgs {
			seen <- m.UUID
			m.Ack()
		}
	}
	a := subscriber(t, brokers, group)
	ma, err := a.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	go consume(ma)
	b := subscriber(t, brokers, group)
	mb, err := b.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	go consume(mb)
	publishN(t, pub, topic, n/2, n)

	got := map[string]int{}
	deadline := time.After(waitFor)
	for len(got) < n {
		select {
		case id := <-seen:
			got[id]++
		case <-deadline:
			t.Fatalf("handled %d distinct messages of %d", len(got), n)
		}
	}
	dups := 0
	for _, c := range got {
		dups += c - 1
	}
	t.Logf("%d messages, %d redelivered across the rebalance", n, dups)
	// The second member may get its partitions only after the first handled
	// everything (its Subscribe returns unassigned after AssignmentTimeout).
	waitUntil(t, "the second member holds a partition after the rebalance", func() bool {
		return len(b.Lag()[topic]) > 0
	})
}

// TestAssignedPartitionsCommitToGroup: a subscriber restricted to some
// partitions (the SDK's partitioned instances) reads only those, and its
// offsets go to the group, so the next one resumes after them.
func TestAssignedPartitionsCommitToGroup(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = 2 })
	for i := range 6 {
		m := message.NewMessage(strconv.Itoa(i), nil)
		m.Metadata.Set(cloudevent.MetadataPartition, strconv.Itoa(i%2))
		if err := pub.Publish(topic, m); err != nil {
			t.Fatal(err)
		}
	}
	only1 := func(c *kafka.SubscriberConfig) { c.Group = "g-" + topic; c.Partitions = []int32{1} }
	sub := subscriber(t, brokers, only1)
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1", "3"} {
		m := receive(t, msgs)
		if m.UUID != want {
			t.Fatalf("got %s, want %s (partition 1 only)", m.UUID, want)
		}
		m.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	sub2 := subscriber(t, brokers, only1)
	msgs2, err := sub2.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	m := receive(t, msgs2)
	m.Ack()
	if m.UUID != "5" {
		t.Fatalf("after restart got %s, want 5 (offsets committed to the group)", m.UUID)
	}
	receiveNone(t, msgs2, 200*time.Millisecond)
}
