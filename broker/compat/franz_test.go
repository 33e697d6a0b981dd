package compat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// newClient returns a franz-go client for addr that the test closes.
func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.ClientID("compat-franz"),
		kgo.RetryTimeout(30 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// createTopic creates a topic with the given partition count and configs
// (name, value pairs) and waits until its metadata shows a leader for every
// partition.
func createTopic(t testing.TB, addr, topic string, partitions int32, configs ...string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cfg map[string]*string
	for i := 0; i+1 < len(configs); i += 2 {
		if cfg == nil {
			cfg = map[string]*string{}
		}
		cfg[configs[i]] = &configs[i+1]
	}
	resp, err := adm.CreateTopic(ctx, partitions, 1, cfg, topic)
	if err != nil {
		t.Fatalf("CreateTopic(%q, %d partitions): %v", topic, partitions, err)
	}
	if resp.Err != nil {
		t.Fatalf("CreateTopic(%q, %d partitions): %v %s", topic, partitions, resp.Err, resp.ErrMessage)
	}
	eventually(t, 10*time.Second, "topic "+topic+" has leaders", func() error {
		td, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return err
		}
		d, ok := td[topic]
		if !ok || d.Err != nil {
			return fmt.Errorf("topic %s not listed: %v", topic, d.Err)
		}
		if int32(len(d.Partitions)) != partitions {
			return fmt.Errorf("topic %s has %d partitions, want %d", topic, len(d.Partitions), partitions)
		}
		for _, p := range d.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return fmt.Errorf("partition %d: leader %d, err %v", p.Partition, p.Leader, p.Err)
			}
		}
		return nil
	})
}

// endOffsets returns each partition's log start and end offset.
func endOffsets(t testing.TB, cl *kgo.Client, topic string) (start, end map[int32]int64) {
	t.Helper()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	so, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListStartOffsets(%s): %v", topic, err)
	}
	eo, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListEndOffsets(%s): %v", topic, err)
	}
	start, end = map[int32]int64{}, map[int32]int64{}
	so.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("ListStartOffsets(%s) partition %d: %v", topic, o.Partition, o.Err)
		}
		start[o.Partition] = o.Offset
	})
	eo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("ListEndOffsets(%s) partition %d: %v", topic, o.Partition, o.Err)
		}
		end[o.Partition] = o.Offset
	})
	return start, end
}

// readAll reads every partition of topic from its start to the end offset
// it has when the call begins, with a fresh client, and returns the records
// per partition in the order fetched. It fails the test on a fetch error, on
// a record past the end offset, and if the end is not reached in time.
func readAll(t testing.TB, addr, topic string, timeout time.Duration) map[int32][]*kgo.Record {
	t.Helper()
	meta := newClient(t, addr)
	start, end := endOffsets(t, meta, topic)
	parts := map[string]map[int32]kgo.Offset{topic: {}}
	for p := range end {
		parts[topic][p] = kgo.NewOffset().AtStart()
	}
	cl := newClient(t, addr, kgo.ConsumePartitions(parts), kgo.FetchMaxWait(200*time.Millisecond))
	out := map[int32][]*kgo.Record{}
	done := func() bool {
		for p, e := range end {
			n := int64(len(out[p]))
			if n > 0 {
				if out[p][n-1].Offset+1 < e {
					return false
				}
			} else if e > start[p] {
				return false
			}
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !done() {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			have := map[int32]int{}
			for p, rs := range out {
				have[p] = len(rs)
			}
			t.Fatalf("read %s: end offsets %v not reached after %v; records per partition %v", topic, end, timeout, have)
		}
		fs.EachError(func(tp string, p int32, err error) {
			t.Fatalf("fetch %s[%d]: %v", tp, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= end[r.Partition] {
				return // appended after the call began
			}
			out[r.Partition] = append(out[r.Partition], r)
		})
	}
	return out
}

// checkContiguous fails unless the records of each partition have the
// offsets start, start+1, ..., end-1.
func checkContiguous(t testing.TB, recs map[int32][]*kgo.Record, start, end map[int32]int64) {
	t.Helper()
	for p, e := range end {
		want := start[p]
		for _, r := range recs[p] {
			if r.Offset != want {
				t.Fatalf("partition %d: record offset = %d, want %d (offsets must be contiguous)", p, r.Offset, want)
			}
			want++
		}
		if want != e {
			t.Fatalf("partition %d: records end at offset %d, want end offset %d", p, want, e)
		}
	}
}
