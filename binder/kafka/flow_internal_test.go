package kafka

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A partition the member let go is never paused afterwards, even when the
// poll loop saw its queue full just before: the client would keep it
// paused, should the partition be assigned to the member again.
func TestReleasedPartitionIsNotPaused(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1")) // never dialled
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	m := &member{s: &Subscriber{cfg: SubscriberConfig{MaxBufferedRecords: 2}}, topic: "t", cl: cl,
		msgCtx: context.Background(), room: make(chan struct{}, 1)}
	full := func(id int32) *partition {
		p := newPartition(m, id)
		p.push([]*kgo.Record{{Offset: 0}, {Offset: 1}, {Offset: 2}}, 3)
		return p
	}
	paused := func() []int32 { return cl.PauseFetchPartitions(nil)["t"] }

	kept := full(0)
	kept.pauseFetch()
	if got := paused(); len(got) != 1 || got[0] != 0 {
		t.Fatalf("a full partition's pause left %v paused, want [0]", got)
	}
	cl.ResumeFetchPartitions(map[string][]int32{"t": {0}})

	let := full(1)
	if let.unpause() {
		t.Fatal("unpause reported a pause that did not happen")
	}
	let.pauseFetch()
	if got := paused(); len(got) != 0 {
		t.Fatalf("a released partition was paused: %v paused", got)
	}
}
