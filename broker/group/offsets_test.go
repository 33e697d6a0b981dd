package group_test

import (
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestSimpleCommitOutsideAGroup(t *testing.T) {
	h := newHarness(t, group.Options{})
	if got := h.commit("standalone", "", -1, "orders", 3, 42, "meta-1"); got != 0 {
		t.Fatalf("simple commit = %v", kerr.ErrorForCode(got))
	}
	off, meta := h.fetch("standalone", "orders", 3)
	if off != 42 || meta != "meta-1" {
		t.Fatalf("OffsetFetch = %d %q, want 42 meta-1", off, meta)
	}
	if off, _ := h.fetch("standalone", "orders", 4); off != -1 {
		t.Fatalf("OffsetFetch of uncommitted partition = %d, want -1", off)
	}
	if off, _ := h.fetch("nobody", "orders", 3); off != -1 {
		t.Fatalf("OffsetFetch of unknown group = %d, want -1", off)
	}
}

func TestCommitChecks(t *testing.T) {
	h := newHarness(t, group.Options{
		MaxMetadataSize: 10,
		PartitionExists: func(topic string, p int32) bool { return topic != "missing" },
	})
	ids, gen := h.stableGroup("g", 2)
	tests := []struct {
		name    string
		group   string
		member  string
		gen     int32
		topic   string
		meta    string
		want    error
		applied bool
	}{
		{"member of current generation", "g", ids[1], gen, "t", "", nil, true},
		{"old generation", "g", ids[1], gen - 1, "t", "", kerr.IllegalGeneration, false},
		{"unknown member", "g", "ghost", gen, "t", "", kerr.UnknownMemberID, false},
		{"simple commit to a live group", "g", "", -1, "t", "", kerr.UnknownMemberID, false},
		{"generation for unknown group", "other", "m", 3, "t", "", kerr.IllegalGeneration, false},
		{"empty group id", "", "", -1, "t", "", kerr.InvalidGroupID, false},
		{"metadata too large", "g", ids[0], gen, "t", strings.Repeat("x", 11), kerr.OffsetMetadataTooLarge, false},
		{"unknown topic", "g", ids[0], gen, "missing", "", kerr.UnknownTopicOrPartition, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off := int64(100 + i)
			got := kerr.ErrorForCode(h.commit(tt.group, tt.member, tt.gen, tt.topic, 0, off, tt.meta))
			if got != tt.want {
				t.Fatalf("commit = %v, want %v", got, tt.want)
			}
			if tt.group == "" {
				return
			}
			fetched, _ := h.fetch(tt.group, tt.topic, 0)
			if (fetched == off) != tt.applied {
				t.Fatalf("after commit, fetch = %d; applied=%v wanted %v", fetched, fetched == off, tt.applied)
			}
		})
	}
	if d := h.describe("other"); d.State != "Dead" {
		t.Fatalf("rejected commit created group other: %+v", d)
	}
}

func TestCommitDuringRebalance(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 1)
	// PreparingRebalance: members of the current generation may commit
	// before rejoining.
	h.joinNew("g", joinSpec{})
	if got := h.commit("g", ids[0], gen, "t", 0, 7, ""); got != 0 {
		t.Fatalf("commit while preparing = %v, want success", kerr.ErrorForCode(got))
	}
	// CompletingRebalance: no commits until the assignment is known.
	j := h.join("g", joinSpec{member: ids[0]})
	if got := h.commit("g", ids[0], j.resp.Generation, "t", 0, 8, ""); got != kerr.RebalanceInProgress.Code {
		t.Fatalf("commit while completing = %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(got))
	}
}

func TestOffsetFetchAll(t *testing.T) {
	h := newHarness(t, group.Options{})
	for _, c := range []struct {
		topic string
		p     int32
		off   int64
	}{{"b", 1, 11}, {"a", 2, 22}, {"b", 0, 10}, {"a", 0, 20}} {
		if got := h.commit("g", "", -1, c.topic, c.p, c.off, ""); got != 0 {
			t.Fatalf("commit: %v", kerr.ErrorForCode(got))
		}
	}
	for _, v := range []int16{2, 7} {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = v
		req.Group = "g"
		resp := h.c.OffsetFetch(req)
		var got []string
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				got = append(got, tp.Topic+":"+itoa(int64(p.Partition))+"="+itoa(p.Offset))
			}
		}
		want := "a:0=20 a:2=22 b:0=10 b:1=11"
		if strings.Join(got, " ") != want {
			t.Fatalf("OffsetFetch v%d all = %v, want %s", v, got, want)
		}
	}
	// v8: several groups at once.
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}, {Group: "none", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "a", Partitions: []int32{0}}}}}
	resp := h.c.OffsetFetch(req)
	if len(resp.Groups) != 2 || len(resp.Groups[0].Topics) != 2 || resp.Groups[1].Topics[0].Partitions[0].Offset != -1 {
		t.Fatalf("OffsetFetch v8 = %+v", resp.Groups)
	}
}

func itoa(v int64) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

func TestOffsetDelete(t *testing.T) {
	h := newHarness(t, group.Options{})
	// A consumer-protocol group subscribed to "subbed".
	meta := (&kmsg.ConsumerMemberMetadata{Version: 0, Topics: []string{"subbed"}}).AppendTo(nil)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 3
	req.Group, req.ProtocolType = "g", "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta}}
	var jr *kmsg.JoinGroupResponse
	h.c.JoinGroup(req, group.Client{}, func(r *kmsg.JoinGroupResponse) { jr = r })
	h.sync("g", jr.MemberID, jr.Generation, nil)
	h.commit("g", jr.MemberID, jr.Generation, "subbed", 0, 1, "")
	h.commit("g", jr.MemberID, jr.Generation, "other", 0, 2, "")

	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	del.Topics = []kmsg.OffsetDeleteRequestTopic{
		{Topic: "subbed", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}},
		{Topic: "other", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}},
	}
	resp := h.c.OffsetDelete(del)
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code || resp.Topics[1].Partitions[0].ErrorCode != 0 {
		t.Fatalf("OffsetDelete = %+v", resp)
	}
	if off, _ := h.fetch("g", "other", 0); off != -1 {
		t.Fatalf("deleted offset still fetched: %d", off)
	}
	if off, _ := h.fetch("g", "subbed", 0); off != 1 {
		t.Fatalf("subscribed offset = %d, want 1 kept", off)
	}
	del.Group = "unknown"
	if got := h.c.OffsetDelete(del).ErrorCode; got != kerr.GroupIDNotFound.Code {
		t.Fatalf("OffsetDelete unknown group = %v", kerr.ErrorForCode(got))
	}
}

func TestOffsetExpiry(t *testing.T) {
	h := newHarness(t, group.Options{OffsetsRetention: time.Hour, OffsetsRetentionCheckInterval: time.Minute})
	ids, gen := h.stableGroup("live", 1)
	h.commit("live", ids[0], gen, "t", 0, 5, "")
	h.commit("solo", "", -1, "t", 0, 6, "")
	for range 90 * 12 {
		h.tick(5 * time.Second)
		if got := h.heartbeat("live", ids[0], gen); got != 0 {
			t.Fatalf("heartbeat = %v", kerr.ErrorForCode(got))
		}
	}
	if off, _ := h.fetch("live", "t", 0); off != 5 {
		t.Fatalf("offset of a live group expired: %d", off)
	}
	if off, _ := h.fetch("solo", "t", 0); off != -1 {
		t.Fatalf("offset of an unused simple group = %d, want expired", off)
	}
	if d := h.describe("solo"); d.State != "Dead" {
		t.Fatalf("group with no offsets and members = %s, want removed", d.State)
	}
	// The live group empties; its offsets go an hour later, counted from
	// when it became empty, not from the commit.
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 1
	req.Group, req.MemberID = "live", ids[0]
	h.c.LeaveGroup(req)
	h.tick(59 * time.Minute)
	if off, _ := h.fetch("live", "t", 0); off != 5 {
		t.Fatalf("offset expired before the retention after emptying: %d", off)
	}
	h.tick(2 * time.Minute)
	if off, _ := h.fetch("live", "t", 0); off != -1 {
		t.Fatalf("offset = %d, want expired", off)
	}
}

func TestDescribeListDelete(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, _ := h.stableGroup("live", 2)
	h.commit("idle", "", -1, "t", 0, 1, "")

	d := h.describe("live")
	if d.State != "Stable" || d.ProtocolType != "consumer" || d.Protocol != "range" || len(d.Members) != 2 {
		t.Fatalf("describe live = %+v", d)
	}
	for _, m := range d.Members {
		if m.ClientID != "client" || m.ClientHost != "/127.0.0.1" || !strings.HasPrefix(string(m.MemberAssignment), "assignment-of-") {
			t.Fatalf("member = %+v", m)
		}
	}

	list := kmsg.NewPtrListGroupsRequest()
	list.Version = 4
	resp := h.c.ListGroups(list)
	if len(resp.Groups) != 2 || resp.Groups[0].Group != "idle" || resp.Groups[0].GroupState != "Empty" || resp.Groups[1].GroupState != "Stable" {
		t.Fatalf("ListGroups = %+v", resp.Groups)
	}
	list.StatesFilter = []string{"stable"}
	if resp := h.c.ListGroups(list); len(resp.Groups) != 1 || resp.Groups[0].Group != "live" {
		t.Fatalf("ListGroups stable = %+v", resp.Groups)
	}

	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"live", "idle", "nope"}
	dr := h.c.DeleteGroups(del)
	want := []error{kerr.NonEmptyGroup, nil, kerr.GroupIDNotFound}
	for i, g := range dr.Groups {
		if got := kerr.ErrorForCode(g.ErrorCode); got != want[i] {
			t.Errorf("DeleteGroups %s = %v, want %v", g.Group, got, want[i])
		}
	}
	if off, _ := h.fetch("idle", "t", 0); off != -1 {
		t.Fatalf("offsets survived DeleteGroups: %d", off)
	}
	_ = ids
}

func TestTopicDeletedRemovesOffsets(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("live", 1)
	h.commit("live", ids[0], gen, "gone", 0, 5, "")
	h.commit("live", ids[0], gen, "kept", 0, 6, "")
	h.commit("solo", "", -1, "gone", 1, 7, "")
	h.c.TopicDeleted("gone")
	if off, _ := h.fetch("live", "gone", 0); off != -1 {
		t.Fatalf("offset of deleted topic = %d, want -1", off)
	}
	if off, _ := h.fetch("live", "kept", 0); off != 6 {
		t.Fatalf("offset of other topic = %d, want 6", off)
	}
	if d := h.describe("solo"); d.State != "Dead" {
		t.Fatalf("group left with nothing = %s, want removed", d.State)
	}
}
