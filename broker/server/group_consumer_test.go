package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// groupConsumer polls in its own goroutine, committing after each poll
// with rebalances blocked while it works, so nothing is read twice. Stop it
// with the returned function, which leaves the group.
func groupConsumer(t *testing.T, addr, name, groupName, topic string, s *seen, balancer kgo.GroupBalancer) (stop func()) {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ClientID(name),
		kgo.ConsumerGroup(groupName),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(balancer),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(200*time.Millisecond),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) { s.add(name, r) })
			if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("%s: commit: %v", name, err)
			}
			cl.AllowRebalance()
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			// The loop may have been stopped in the middle of a commit.
			if err := cl.CommitUncommittedOffsets(context.Background()); err != nil {
				t.Errorf("%s: final commit: %v", name, err)
			}
			cl.Close() // leaves the group
		})
	}
	t.Cleanup(stop)
	return stop
}
