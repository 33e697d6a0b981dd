package server_test

import (
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDeleteTopicClearsOffsetsAndProducerState deletes a topic a group has
// committed offsets for and an idempotent producer has written to, then
// creates it again: the group must not resume from the old positions, and
// the broker must hold no producer state for the old partitions.
func TestDeleteTopicClearsOffsetsAndProducerState(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "kept"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("gone"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := int32(0); p < 2; p++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Server().Stats().ProducerStates; n != 2 {
		t.Fatalf("ProducerStates after producing to 2 partitions = %d, want 2", n)
	}

	offsets := make(kadm.Offsets)
	offsets.Add(kadm.Offset{Topic: "gone", Partition: 0, At: 1, LeaderEpoch: -1})
	offsets.Add(kadm.Offset{Topic: "gone", Partition: 1, At: 1, LeaderEpoch: -1})
	offsets.Add(kadm.Offset{Topic: "kept", Partition: 0, At: 0, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(ctx, "g", offsets); err != nil {
		t.Fatal(err)
	}

	if _, err := adm.DeleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if n := b.Server().Stats().ProducerStates; n != 0 {
		t.Errorf("ProducerStates after deleting the topic = %d, want 0", n)
	}
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "gone"); err != nil {
		t.Fatal(err)
	}
	got, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		if o, ok := got.Lookup("gone", p); ok && o.At >= 0 {
			t.Errorf("FetchOffsets(g) for recreated gone/%d = %d, want no committed offset", p, o.At)
		}
	}
	if o, ok := got.Lookup("kept", 0); !ok || o.At != 0 {
		t.Errorf("FetchOffsets(g) for kept/0 = %+v (found %v), want 0: other topics' offsets must stay", o, ok)
	}

	// After a restart too (the removal is durable).
	b.Restart()
	adm = newAdmin(t, b.Addr())
	got, err = adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.Lookup("gone", 0); ok && o.At >= 0 {
		t.Errorf("after restart FetchOffsets(g) for gone/0 = %d, want none", o.At)
	}
	if n := b.Server().Stats().ProducerStates; n != 0 {
		t.Errorf("ProducerStates after restart = %d, want 0", n)
	}
}
