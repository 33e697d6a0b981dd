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
	// bHasHalf returns b's member id once the group is stable with a and
	// b, and b holds two of the four partitions. With the cooperative
	// protocol a second rebalance follows b's join (a gives partitions
	// up, then b gets them), so a stable group of two is not yet the end
	// of it; this is.
	bHasHalf := func() string {
		dg, err := adm.DescribeGroups(ctx, "sg")
		if err != nil || dg["sg"].State != "Stable" || len(dg["sg"].Members) != 2 {
			return ""
		}
		for _, m := range dg["sg"].Members {
			if m.InstanceID != nil && *m.InstanceID == "instance-b" {
				if ca, ok := m.Assigned.AsConsumer(); ok && len(ca.Topics) == 1 && len(ca.Topics[0].Partitions) == 2 {
					return m.MemberID
				}
			}
		}
		return ""
	}
	member("instance-a", &revokedA)
	waitFor(t, 15*time.Second, "a alone", stableWith(1))
	bCl := member("instance-b", nil)
	var oldB string
	waitFor(t, 15*time.Second, "a and b", func() bool { oldB = bHasHalf(); return oldB != "" })
	before := revokedA.Load()

	// b stops (a static member does not leave the group) and comes back
	// with the same instance id, under a new member id.
	bCl.Close()
	member("instance-b", nil)
	waitFor(t, 15*time.Second, "b back", func() bool { id := bHasHalf(); return id != "" && id != oldB })
	if got := revokedA.Load(); got != before {
		t.Fatalf("member a had partitions revoked %d times during b's restart, want none", got-before)
	}
}
