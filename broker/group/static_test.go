package group_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// staticGroup makes a Stable group of static members "i0".."i<n-1>".
func staticGroup(t *testing.T, h *harness, n int, base ...joinSpec) (ids []string, gen int32) {
	t.Helper()
	var spec joinSpec
	if len(base) > 0 {
		spec = base[0]
	}
	var joins []*joinResult
	for i := range n {
		// Static members skip MEMBER_ID_REQUIRED.
		s := spec
		s.instance = instance(i)
		joins = append(joins, h.join("g", s))
		for k := range i {
			s := spec
			s.instance, s.member = instance(k), ids[k]
			joins[k] = h.join("g", s)
		}
		if !joins[i].done() || joins[i].resp.ErrorCode != 0 {
			t.Fatalf("static join %d = %+v", i, joins[i].resp)
		}
		ids = append(ids, joins[i].resp.MemberID)
	}
	gen = joins[0].resp.Generation
	assign := map[string]string{}
	for i, id := range ids {
		assign[id] = "part-" + instance(i)
	}
	if s := h.sync("g", joins[0].resp.LeaderID, gen, assign); s.resp.ErrorCode != 0 {
		t.Fatalf("leader sync = %+v", s.resp)
	}
	return ids, gen
}

func instance(i int) string { return "i" + string(rune('0'+i)) }

func TestStaticMemberRejoinKeepsAssignmentWithoutRebalance(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := staticGroup(t, h, 2)
	// i1 restarts: it joins with no member id and the same instance id.
	j := h.join("g", joinSpec{instance: "i1"})
	if !j.done() || j.resp.ErrorCode != 0 {
		t.Fatalf("static rejoin = %+v, want immediate success", j.resp)
	}
	if j.resp.MemberID == ids[1] || j.resp.Generation != gen {
		t.Fatalf("static rejoin = member %q generation %d, want a new id and generation %d", j.resp.MemberID, j.resp.Generation, gen)
	}
	if d := h.describe("g"); d.State != "Stable" {
		t.Fatalf("state = %s, want Stable (no rebalance)", d.State)
	}
	s := h.sync("g", j.resp.MemberID, gen, nil)
	if string(s.resp.MemberAssignment) != "part-i1" {
		t.Fatalf("assignment after static rejoin = %q, want part-i1", s.resp.MemberAssignment)
	}
	// The old incarnation is fenced.
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.MemberID, req.Generation = "g", ids[1], gen
	inst := "i1"
	req.InstanceID = &inst
	if got := h.c.Heartbeat(req).ErrorCode; got != kerr.FencedInstanceID.Code {
		t.Fatalf("old incarnation heartbeat = %v, want FENCED_INSTANCE_ID", kerr.ErrorForCode(got))
	}
	if got := h.commit("g", ids[1], gen, "t", 0, 1, ""); got != kerr.UnknownMemberID.Code {
		t.Fatalf("old incarnation commit = %v, want UNKNOWN_MEMBER_ID", kerr.ErrorForCode(got))
	}
}

func TestStaticLeaderRejoinStaysLeader(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := staticGroup(t, h, 2)
	j := h.join("g", joinSpec{instance: "i0"})
	if j.resp.LeaderID != j.resp.MemberID || len(j.resp.Members) != 2 || j.resp.Generation != gen {
		t.Fatalf("static leader rejoin = %+v, want leader with 2 members, generation %d", j.resp, gen)
	}
	_ = ids
}

func TestStaticMemberSurvivesRebalanceTimeoutUntilSessionEnds(t *testing.T) {
	h := newHarness(t, group.Options{})
	spec := joinSpec{rebalance: 5 * time.Second, session: 20 * time.Second}
	ids, gen := staticGroup(t, h, 2, spec)
	// A new dynamic member joins; i1 is offline and does not rejoin.
	n := h.joinNew("g", spec)
	spec.instance, spec.member = "i0", ids[0]
	h.join("g", spec)
	h.tick(6 * time.Second)
	if !n.done() || n.resp.Generation != gen+1 {
		t.Fatalf("join = %+v, want generation %d", n.resp, gen+1)
	}
	if d := h.describe("g"); len(d.Members) != 3 {
		t.Fatalf("members = %d, want 3 (static i1 kept until its session ends)", len(d.Members))
	}
	h.tick(15 * time.Second) // i1's 20s session is over
	if d := h.describe("g"); len(d.Members) != 2 {
		t.Fatalf("members = %d, want 2 after i1's session timeout", len(d.Members))
	}
}

func TestLeaveGroup(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 3)
	// v1: one member.
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 1
	req.Group, req.MemberID = "g", ids[2]
	if got := h.c.LeaveGroup(req).ErrorCode; got != 0 {
		t.Fatalf("LeaveGroup v1 = %v", kerr.ErrorForCode(got))
	}
	if got := h.heartbeat("g", ids[0], gen); got != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat after leave = %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(got))
	}
	req.MemberID = "ghost"
	if got := h.c.LeaveGroup(req).ErrorCode; got != kerr.UnknownMemberID.Code {
		t.Fatalf("LeaveGroup v1 of unknown = %v, want UNKNOWN_MEMBER_ID", kerr.ErrorForCode(got))
	}
	// v3: a batch; per-member errors.
	req = kmsg.NewPtrLeaveGroupRequest()
	req.Version = 3
	req.Group = "g"
	req.Members = []kmsg.LeaveGroupRequestMember{{MemberID: ids[0]}, {MemberID: "ghost"}, {MemberID: ids[1]}}
	resp := h.c.LeaveGroup(req)
	want := []int16{0, kerr.UnknownMemberID.Code, 0}
	for i, m := range resp.Members {
		if m.ErrorCode != want[i] {
			t.Errorf("LeaveGroup v3 member %d = %v, want %v", i, kerr.ErrorForCode(m.ErrorCode), kerr.ErrorForCode(want[i]))
		}
	}
	if d := h.describe("g"); d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("after everyone left: %s with %d members, want Empty", d.State, len(d.Members))
	}
}

func TestLeaveGroupByInstanceID(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, _ := staticGroup(t, h, 2)
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 4
	req.Group = "g"
	i1, i0 := "i1", "i0"
	req.Members = []kmsg.LeaveGroupRequestMember{{InstanceID: &i1}, {MemberID: "wrong", InstanceID: &i0}}
	resp := h.c.LeaveGroup(req)
	if resp.Members[0].ErrorCode != 0 || resp.Members[1].ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("LeaveGroup = %+v, want ok and FENCED_INSTANCE_ID", resp.Members)
	}
	if d := h.describe("g"); len(d.Members) != 1 || d.Members[0].MemberID != ids[0] {
		t.Fatalf("members = %+v, want only %s", d.Members, ids[0])
	}
}

func TestLeaveWhileOthersWaitCompletesJoin(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 2)
	n := h.joinNew("g", joinSpec{})
	a := h.join("g", joinSpec{member: ids[0]})
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 1
	req.Group, req.MemberID = "g", ids[1]
	h.c.LeaveGroup(req)
	if !n.done() || !a.done() || a.resp.Generation != gen+1 {
		t.Fatalf("joins not completed by the last missing member leaving")
	}
}
