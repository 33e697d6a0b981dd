package server_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStaticMemberRestartsWithoutRebalance restarts a static member
// (group.instance.id) and checks that the other member keeps its
// partitions throughout: no rebalance happens.
func TestStaticMemberRestartsWithoutRebalance(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 4, 1, nil, "static"); err != nil {
		t.Fatal(err)
	}
	var revokedA atomic.Int32
	member := func(instance string, revoked *atomic.Int32) *kgo.Client {
		opts := []kgo.Opt{
			kgo.SeedBrokers(b.Addr()),
			kgo.ConsumerGroup("sg"),
			kgo.ConsumeTopics("static"),
			kgo.InstanceID(instance),
			kgo.SessionTimeout(30 * time.Second),
			kgo.HeartbeatInterval(100 * time.Millisecond),
			kgo.FetchMaxWait(100 * time.Millisecond),
		}
		if revoked != nil {
			opts = append(opts, kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) {
				revoked.Add(1)
			}))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		// Poll in the background so the client joins and heartbeats.
		pollCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for pollCtx.Err() == nil {
				cl.PollFetches(pollCtx)
			}
		}()
		t.Cleanup(func() { cancel(); <-done; cl.Close() })
		return cl
	}
	stableWith := func(n int) func() bool {
		return func() bool {
			dg, err := adm.DescribeGroups(ctx, "sg")
			return err == nil && dg["sg"].State == "Stable" && len(dg["sg"].Members) == n
		}
	}
	member("instance-a", &revokedA)
	waitFor(t, 15*time.Second, "a alone", stableWith(1))
	bCl := member("instance-b", nil)
	waitFor(t, 15*time.Second, "a and b", stableWith(2))
	before := revokedA.Load()

	// b stops (a static member does not leave the group) and comes back
	// with the same instance id.
	bCl.Close()
	member("instance-b", nil)
	waitFor(t, 15*time.Second, "b back", func() bool {
		dg, err := adm.DescribeGroups(ctx, "sg")
		if err != nil || dg["sg"].State != "Stable" || len(dg["sg"].Members) != 2 {
			return false
		}
		for _, m := range dg["sg"].Members {
			if m.InstanceID != nil && *m.InstanceID == "instance-b" {
				ca, ok := m.Assigned.AsConsumer()
				return ok && len(ca.Topics) == 1 && len(ca.Topics[0].Partitions) == 2
			}
		}
		return false
	})
	if got := revokedA.Load(); got != before {
		t.Fatalf("member a had partitions revoked %d times during b's restart, want none", got-before)
	}
}
