package kafka_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/stream"
)

var _ stream.Pauser = (*kafka.Subscriber)(nil)

// TestAppPauseIsNative: an App on the Kafka binder pauses a binding by fetch
// pausing: while paused nothing is delivered and the group does not
// rebalance (its generation stays); after the resume every message comes,
// once each.
func TestAppPauseIsNative(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	group := "g-" + topic
	binder, err := kafka.New(context.Background(), kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { binder.Close() })
	app := stream.New(stream.Config{Application: "pause", Bindings: map[string]stream.BindingProperties{
		"sink-in-0": {Destination: topic, Group: group, Concurrency: 2, PartitionCount: 2},
	}}, stream.WithBinder("kafka", binder))
	var mu sync.Mutex
	got := map[string]int{}
	if err := app.Register(stream.Consumer("sink", func(_ context.Context, in string) error {
		mu.Lock()
		got[in]++
		mu.Unlock()
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("handled %d distinct messages, want %d", count(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	pub := publisher(t, brokers, nil)
	publishN(t, pub, topic, 0, 10)
	waitFor(10)
	// The group's generation is not in DescribeGroups; a rebalance shows as
	// a new assignment in a member and, for an eager group, new members.
	members := func() string {
		t.Helper()
		gs, err := admin(t, brokers).DescribeGroups(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := gs[group]
		if !ok || g.Err != nil {
			t.Fatalf("describe group %s: %v", group, g.Err)
		}
		ids := make([]string, 0, len(g.Members))
		for _, m := range g.Members {
			ids = append(ids, m.MemberID)
		}
		slices.Sort(ids)
		return g.State + " " + strings.Join(ids, ",")
	}
	before, assignedBefore := members(), kafka.BinderAssignments(binder)

	if err := app.SetState(ctx, "sink-in-0", stream.StatePaused); err != nil {
		t.Fatal(err)
	}
	if !kafka.BinderPaused(binder) {
		t.Fatal("the binding is paused but its Kafka subscriber is not: the SDK used its gate")
	}
	publishN(t, pub, topic, 10, 50)
	// Longer than the heartbeat interval and several fetch waits: a
	// paused consumer that still fetched or delivered would show.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if n := count(); n != 10 {
			t.Fatalf("handled %d messages while paused, want 10", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := app.SetState(ctx, "sink-in-0", stream.StateResumed); err != nil {
		t.Fatal(err)
	}
	waitFor(50)
	mu.Lock()
	for i := range 50 {
		if n := got[strconv.Itoa(i)]; n != 1 {
			t.Errorf("message %d handled %d times, want 1", i, n)
		}
	}
	mu.Unlock()
	if after := members(); after != before {
		t.Errorf("group %q -> %q across pause and resume: a rebalance happened", before, after)
	}
	if after := kafka.BinderAssignments(binder); after != assignedBefore {
		t.Errorf("assignments %d -> %d across pause and resume: a rebalance happened", assignedBefore, after)
	}
}

// TestPauseAfterClose: Pause and Resume on a closed subscriber fail.
func TestPauseAfterClose(t *testing.T) {
	sub := subscriber(t, testBrokers(t), nil)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Pause(context.Background()); err == nil {
		t.Error("Pause after Close = nil, want an error")
	}
	if err := sub.Resume(context.Background()); err == nil {
		t.Error("Resume after Close = nil, want an error")
	}
}

// TestPauseHoldsMessageBeingHandedOut: a message the partition is offering
// when Pause is called is not delivered until Resume.
func TestPauseHoldsMessageBeingHandedOut(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.Group = "g-" + topic })
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	publishN(t, pub, topic, 0, n)
	ctx := context.Background()
	for i := range n {
		m := receive(t, msgs)
		if m.UUID != strconv.Itoa(i) {
			t.Fatalf("got %s, want %d", m.UUID, i)
		}
		// Acking lets the partition offer the next message at once; a
		// pause right after must hold it.
		m.Ack()
		if err := sub.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		receiveNone(t, msgs, 200*time.Millisecond)
		if err := sub.Resume(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPauseNackedIsHeldBack: a message nacked while paused comes again only
// after Resume.
func TestPauseNackedIsHeldBack(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.Group = "g-" + topic })
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	publishN(t, pub, topic, 0, 1)
	m := receive(t, msgs)
	ctx := context.Background()
	if err := sub.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	m.Nack()
	receiveNone(t, msgs, 500*time.Millisecond)
	if err := sub.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, msgs); m.UUID != "0" {
		t.Fatalf("after resume got %s, want 0 again", m.UUID)
	}
}
