package server_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// seen records which consumer got which record, to check that a group
// delivers every record once.
type seen struct {
	mu     sync.Mutex
	by     map[string]string // "partition/offset" -> consumer
	dups   []string
	counts map[string]int
}

func newSeen() *seen { return &seen{by: map[string]string{}, counts: map[string]int{}} }

func (s *seen) add(consumer string, r *kgo.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
	if prev, ok := s.by[k]; ok {
		s.dups = append(s.dups, fmt.Sprintf("%s read by %s and %s", k, prev, consumer))
		return
	}
	s.by[k] = consumer
	s.counts[consumer]++
}

func (s *seen) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.by)
}

// produceN produces n records round-robin over the topic's partitions and
// waits for them.
func produceN(t *testing.T, addr, topic string, n int) {
	t.Helper()
	cl := newClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Value: []byte(fmt.Sprintf("v%d", i))}
	}
	if err := cl.ProduceSync(testCtx(t), rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConsumerGroupSharesPartitionsAndRebalances(t *testing.T) {
	for name, bal := range map[string]kgo.GroupBalancer{
		"range":              kgo.RangeBalancer(),
		"cooperative-sticky": kgo.CooperativeStickyBalancer(),
	} {
		t.Run(name, func(t *testing.T) {
			b := brokertest.Start(t)
			adm := newAdmin(t, b.Addr())
			ctx := testCtx(t)
			if _, err := adm.CreateTopic(ctx, 4, 1, nil, "work"); err != nil {
				t.Fatal(err)
			}
			s := newSeen()
			produceN(t, b.Addr(), "work", 200)
			stopA := groupConsumer(t, b.Addr(), "a", "g", "work", s, bal)
			waitFor(t, 15*time.Second, "consumer a to read 200", func() bool { return s.total() == 200 })

			stopB := groupConsumer(t, b.Addr(), "b", "g", "work", s, bal)
			// Wait until the group is stable with both members holding two
			// partitions each.
			waitFor(t, 20*time.Second, "two members with two partitions each", func() bool {
				dg, err := adm.DescribeGroups(ctx, "g")
				if err != nil {
					return false
				}
				g := dg["g"]
				if g.State != "Stable" || len(g.Members) != 2 {
					return false
				}
				for _, m := range g.Members {
					ca, ok := m.Assigned.AsConsumer()
					if !ok || len(ca.Topics) != 1 || len(ca.Topics[0].Partitions) != 2 {
						return false
					}
				}
				return true
			})
			produceN(t, b.Addr(), "work", 200)
			waitFor(t, 15*time.Second, "400 records", func() bool { return s.total() == 400 })
			s.mu.Lock()
			if s.counts["b"] == 0 {
				t.Errorf("consumer b read nothing after joining: %v", s.counts)
			}
			s.mu.Unlock()

			// b leaves; a takes over everything.
			stopB()
			produceN(t, b.Addr(), "work", 100)
			waitFor(t, 15*time.Second, "500 records", func() bool { return s.total() == 500 })
			stopA()
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.dups) > 0 {
				t.Fatalf("records read twice: %v", s.dups)
			}

			// Every partition's committed offset is its end.
			offs, err := adm.FetchOffsets(ctx, "g")
			if err != nil {
				t.Fatal(err)
			}
			ends, err := adm.ListEndOffsets(ctx, "work")
			if err != nil {
				t.Fatal(err)
			}
			for p := range int32(4) {
				o, _ := offs.Lookup("work", p)
				e, _ := ends.Lookup("work", p)
				if o.At != e.Offset {
					t.Errorf("partition %d committed %d, end %d", p, o.At, e.Offset)
				}
			}
		})
	}
}

func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	produceN(t, b.Addr(), "orders", 50)
	s := newSeen()
	stop := groupConsumer(t, b.Addr(), "a", "g", "orders", s, kgo.CooperativeStickyBalancer())
	waitFor(t, 15*time.Second, "50 records", func() bool { return s.total() == 50 })
	stop()

	b.Restart()
	adm = newAdmin(t, b.Addr())
	offs, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		if o, ok := offs.Lookup("orders", p); !ok || o.At != 25 {
			t.Fatalf("after restart partition %d committed %+v, want 25", p, o)
		}
	}
	// A consumer of the group resumes where the last one stopped.
	produceN(t, b.Addr(), "orders", 10)
	s2 := newSeen()
	groupConsumer(t, b.Addr(), "b", "g", "orders", s2, kgo.CooperativeStickyBalancer())
	waitFor(t, 15*time.Second, "10 new records", func() bool { return s2.total() == 10 })
	s2.mu.Lock()
	defer s2.mu.Unlock()
	for k := range s2.by {
		var p, o int
		fmt.Sscanf(k, "%d/%d", &p, &o)
		if o < 25 {
			t.Fatalf("after restart the group re-read %s", k)
		}
	}
}

func TestGroupAdminAPIs(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	// A simple (group-less) commit, as `groups reset-offsets` does.
	os := kadm.Offsets{}
	os.AddOffset("t", 0, 7, -1)
	os.AddOffset("t", 2, 9, -1)
	if r, err := adm.CommitOffsets(ctx, "idle", os); err != nil || r.Error() != nil {
		t.Fatalf("CommitOffsets: %v %v", err, r.Error())
	}
	fetched, err := adm.FetchOffsets(ctx, "idle")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fetched.Lookup("t", 2); o.At != 9 {
		t.Fatalf("fetched %+v, want 9", o)
	}
	lg, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lg["idle"]; !ok || lg["idle"].State != "Empty" {
		t.Fatalf("ListGroups = %+v, want idle Empty", lg)
	}
	if r, err := adm.DeleteOffsets(ctx, "idle", kadm.TopicsSet{"t": {0: {}}}); err != nil || r.Error() != nil {
		t.Fatalf("DeleteOffsets: %v %v", err, r.Error())
	}
	fetched, _ = adm.FetchOffsets(ctx, "idle")
	if _, ok := fetched.Lookup("t", 0); ok {
		t.Fatalf("deleted offset still there: %+v", fetched)
	}
	dr, err := adm.DeleteGroups(ctx, "idle", "nope")
	if err != nil {
		t.Fatal(err)
	}
	if dr["idle"].Err != nil || dr["nope"].Err == nil {
		t.Fatalf("DeleteGroups = %+v, want idle deleted and nope an error", dr)
	}
	// Committing to an unknown partition fails clearly.
	bad := kadm.Offsets{}
	bad.AddOffset("t", 5, 1, -1)
	if r, err := adm.CommitOffsets(ctx, "idle", bad); err == nil && r.Error() == nil {
		t.Fatalf("commit to partition 5 of a 3-partition topic succeeded")
	}
}
