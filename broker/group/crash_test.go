package group_test

import (
	"context"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/millstream/millstream/broker/vfs"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestAcknowledgedCommitsSurvivePowerLoss commits through the Service on an
// in-memory file system, simulates a power loss (only fsynced data stays),
// and reopens: every acknowledged commit is there.
func TestAcknowledgedCommitsSurvivePowerLoss(t *testing.T) {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := group.ServiceConfig{Dir: "/data/__consumer_offsets", FS: fs, CompactAfter: 1 << 30}
	s, err := group.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(20) {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 8
		req.Group, req.Generation = "g", -1
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: int32(i % 2), Offset: i, LeaderEpoch: -1}}}}
		if code := s.OffsetCommit(req)(context.Background()).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("commit %d: error %d", i, code)
		}
	}
	fs.Crash()
	defer s.Close() // its files are detached by the crash

	s2, err := group.Open(cfg)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s2.Close()
	for p, want := range []int64{18, 19} {
		if got := serviceFetch(t, s2, "g", "t", int32(p)); got != want {
			t.Errorf("after power loss t/%d = %d, want %d", p, got, want)
		}
	}
}

// TestDeletedTopicOffsetsStayGoneAfterPowerLoss: once TopicDeleted returns,
// the removal of the topic's offsets is durable: a power loss right after
// it does not bring them back (a topic created again under the name would
// otherwise resume from them).
func TestDeletedTopicOffsetsStayGoneAfterPowerLoss(t *testing.T) {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	// No background fsync before the crash: only what TopicDeleted waits
	// for is on disk.
	cfg := group.ServiceConfig{Dir: "/data/__consumer_offsets", FS: fs, CompactAfter: 1 << 30, TickInterval: time.Hour}
	s, err := group.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	serviceCommit(t, s, "g", "", -1, "gone", 0, 5)
	serviceCommit(t, s, "g", "", -1, "kept", 0, 7)
	s.TopicDeleted("gone")
	fs.Crash()
	defer s.Close() // its files are detached by the crash

	s2, err := group.Open(cfg)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s2.Close()
	if got := serviceFetch(t, s2, "g", "gone", 0); got != -1 {
		t.Errorf("after power loss the deleted topic's offset = %d, want -1 (none)", got)
	}
	if got := serviceFetch(t, s2, "g", "kept", 0); got != 7 {
		t.Errorf("after power loss kept/0 = %d, want 7", got)
	}
}
