package group_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func openService(t *testing.T, dir string, clk group.Clock) *group.Service {
	t.Helper()
	s, err := group.Open(group.ServiceConfig{Dir: dir, Clock: clk, TickInterval: time.Millisecond, CompactAfter: 100})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func serviceCommit(t *testing.T, s *group.Service, groupName, member string, gen int32, topic string, p int32, off int64) {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.MemberID, req.Generation = groupName, member, gen
	meta := "m"
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: p, Offset: off, LeaderEpoch: -1, Metadata: &meta}}}}
	resp := s.OffsetCommit(req)(context.Background())
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("OffsetCommit: %v", kerr.ErrorForCode(code))
	}
}

func serviceFetch(t *testing.T, s *group.Service, groupName, topic string, p int32) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group = groupName
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{p}}}
	return s.OffsetFetch(req).Topics[0].Partitions[0].Offset
}

func TestServiceKeepsOffsetsAcrossRestartAndCompacts(t *testing.T) {
	dir := t.TempDir() + "/__consumer_offsets"
	s := openService(t, dir, nil)
	for i := range int64(300) {
		serviceCommit(t, s, "g", "", -1, "t", int32(i%3), i)
	}
	serviceCommit(t, s, "other", "", -1, "u", 0, 9)
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"other"}
	if code := s.DeleteGroups(del).Groups[0].ErrorCode; code != 0 {
		t.Fatalf("DeleteGroups: %v", kerr.ErrorForCode(code))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openService(t, dir, nil)
	defer s.Close()
	// Reopening rewrote the log with the live records only.
	if size := logBytes(t, dir); size > 2048 {
		t.Errorf("offsets log holds %d bytes after compaction, want a few hundred", size)
	}
	for p, want := range []int64{297, 298, 299} {
		if got := serviceFetch(t, s, "g", "t", int32(p)); got != want {
			t.Errorf("after restart, offset of t/%d = %d, want %d", p, got, want)
		}
	}
	if got := serviceFetch(t, s, "other", "u", 0); got != -1 {
		t.Errorf("deleted group's offset came back: %d", got)
	}
}

func TestServiceJoinSyncThroughChannels(t *testing.T) {
	s := openService(t, t.TempDir()+"/o", nil)
	defer s.Close()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 3
	req.Group, req.ProtocolType = "g", "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{1}}}
	jr := <-s.JoinGroup(req, group.Client{ID: "c"})
	if jr.ErrorCode != 0 || jr.Generation != 1 {
		t.Fatalf("JoinGroup = %+v", jr)
	}
	sreq := kmsg.NewPtrSyncGroupRequest()
	sreq.Version = 3
	sreq.Group, sreq.MemberID, sreq.Generation = "g", jr.MemberID, jr.Generation
	sreq.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: jr.MemberID, MemberAssignment: []byte("mine")}}
	sr := <-s.SyncGroup(sreq)
	if sr.ErrorCode != 0 || string(sr.MemberAssignment) != "mine" {
		t.Fatalf("SyncGroup = %+v", sr)
	}
}

func TestServiceTickerEvictsSilentMembers(t *testing.T) {
	clk := &lockedClock{now: time.Now()}
	s := openService(t, t.TempDir()+"/o", clk)
	defer s.Close()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 3
	req.Group, req.ProtocolType = "g", "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 6000, 6000
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	jr := <-s.JoinGroup(req, group.Client{ID: "c"})
	clk.Advance(7 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := kmsg.NewPtrDescribeGroupsRequest()
		d.Groups = []string{"g"}
		if st := s.DescribeGroups(d).Groups[0].State; st == "Empty" || st == "Dead" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member %s not evicted by the ticker", jr.MemberID)
		}
		time.Sleep(time.Millisecond)
	}
}

// logBytes sums the sizes of the .log files in dir.
func logBytes(t *testing.T, dir string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no segment files in %s: %v", dir, err)
	}
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// TestServiceCommitsDuringCompaction commits from several goroutines while
// the background compacts the log every few records: every commit must be
// acknowledged and survive a restart.
func TestServiceCommitsDuringCompaction(t *testing.T) {
	dir := t.TempDir() + "/o"
	s, err := group.Open(group.ServiceConfig{Dir: dir, TickInterval: time.Millisecond, CompactAfter: 5})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range int64(100) {
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Version = 8
				req.Group, req.Generation = "g", -1
				req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: int32(w), Offset: i, LeaderEpoch: -1}}}}
				if code := s.OffsetCommit(req)(context.Background()).Topics[0].Partitions[0].ErrorCode; code != 0 {
					t.Errorf("commit %d of worker %d: %v", i, w, kerr.ErrorForCode(code))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openService(t, dir, nil)
	defer s.Close()
	for p := range int32(4) {
		if got := serviceFetch(t, s, "g", "t", p); got != 99 {
			t.Errorf("t/%d = %d after restart, want 99", p, got)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts group.Options
		ok   bool
	}{
		{"zero value", group.Options{}, true},
		{"negative delay", group.Options{InitialRebalanceDelay: -time.Second}, false},
		{"min above max", group.Options{MinSessionTimeout: time.Minute, MaxSessionTimeout: time.Second}, false},
		{"negative retention", group.Options{OffsetsRetention: -time.Hour}, false},
		{"negative metadata size", group.Options{MaxMetadataSize: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.opts.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
		s, err := group.Open(group.ServiceConfig{Dir: t.TempDir() + "/o", Group: tt.opts})
		if (err == nil) != tt.ok {
			t.Errorf("%s: Open = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err == nil {
			_ = s.Close()
		}
	}
	if _, err := group.Open(group.ServiceConfig{}); err == nil {
		t.Errorf("Open without a directory succeeded")
	}
}
