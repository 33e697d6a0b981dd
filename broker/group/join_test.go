package group_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kerr"
)

func TestJoinMemberIDRequiredRoundTrip(t *testing.T) {
	h := newHarness(t, group.Options{})
	first := h.join("g", joinSpec{version: 4})
	if first.resp.ErrorCode != kerr.MemberIDRequired.Code || first.resp.MemberID == "" {
		t.Fatalf("JoinGroup v4 without member id = %+v, want MEMBER_ID_REQUIRED with an id", first.resp)
	}
	second := h.join("g", joinSpec{version: 4, member: first.resp.MemberID})
	if !second.done() || second.resp.ErrorCode != 0 {
		t.Fatalf("second JoinGroup = %+v, want success", second.resp)
	}
	if second.resp.MemberID != first.resp.MemberID || second.resp.LeaderID != first.resp.MemberID || second.resp.Generation != 1 {
		t.Fatalf("second JoinGroup = member %q leader %q generation %d, want %q, %q, 1",
			second.resp.MemberID, second.resp.LeaderID, second.resp.Generation, first.resp.MemberID, first.resp.MemberID)
	}
	if len(second.resp.Members) != 1 || string(second.resp.Members[0].ProtocolMetadata) != "/range" {
		t.Fatalf("leader's member list = %+v, want one member with its metadata", second.resp.Members)
	}
}

func TestJoinOldVersionsNeedNoMemberID(t *testing.T) {
	for _, v := range []int16{1, 2, 3} {
		h := newHarness(t, group.Options{})
		j := h.join("g", joinSpec{version: v})
		if !j.done() || j.resp.ErrorCode != 0 || j.resp.MemberID == "" || j.resp.Generation != 1 {
			t.Errorf("JoinGroup v%d = %+v, want immediate success with a member id", v, j.resp)
		}
	}
}

func TestJoinRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		spec  joinSpec
		group string
		want  error
	}{
		{name: "empty group id", group: "", spec: joinSpec{}, want: kerr.InvalidGroupID},
		{name: "session too short", group: "g", spec: joinSpec{session: time.Second}, want: kerr.InvalidSessionTimeout},
		{name: "session too long", group: "g", spec: joinSpec{session: time.Hour}, want: kerr.InvalidSessionTimeout},
		{name: "unknown member of unknown group", group: "g", spec: joinSpec{member: "ghost"}, want: kerr.UnknownMemberID},
		{name: "no protocols", group: "g", spec: joinSpec{protocols: []string{}}, want: kerr.InconsistentGroupProtocol},
		{
			name: "protocol type differs", group: "g",
			setup: func(h *harness) { h.stableGroup("g", 1) },
			spec:  joinSpec{protocolType: "connect"}, want: kerr.InconsistentGroupProtocol,
		},
		{
			name: "no common protocol", group: "g",
			setup: func(h *harness) { h.stableGroup("g", 1) },
			spec:  joinSpec{protocols: []string{"sticky"}}, want: kerr.InconsistentGroupProtocol,
		},
		{
			name: "unknown member of known group", group: "g",
			setup: func(h *harness) { h.stableGroup("g", 1) },
			spec:  joinSpec{member: "ghost"}, want: kerr.UnknownMemberID,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, group.Options{})
			if tt.setup != nil {
				tt.setup(h)
			}
			j := h.join(tt.group, tt.spec)
			if !j.done() {
				t.Fatalf("JoinGroup not answered")
			}
			if got := kerr.ErrorForCode(j.resp.ErrorCode); got != tt.want {
				t.Fatalf("JoinGroup error = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProtocolSelection(t *testing.T) {
	tests := []struct {
		name    string
		members [][]string
		want    string
	}{
		{"single", [][]string{{"range"}}, "range"},
		{"only common one", [][]string{{"range", "roundrobin"}, {"roundrobin"}}, "roundrobin"},
		{"most first votes", [][]string{{"a", "b"}, {"b", "a"}, {"b", "a"}}, "b"},
		{"tie goes to leader's preference", [][]string{{"a", "b"}, {"b", "a"}}, "a"},
		{"votes skip unsupported", [][]string{{"x", "a", "b"}, {"b", "a"}, {"a", "b"}}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Join everyone at v3 (no round trip) before any rebalance
			// completes: the first join would complete at once, so hold
			// the group with an initial delay.
			h := newHarness(t, group.Options{InitialRebalanceDelay: time.Second})
			var joins []*joinResult
			for _, ps := range tt.members {
				joins = append(joins, h.join("g", joinSpec{version: 3, protocols: ps}))
			}
			h.tick(5 * time.Second)
			for i, j := range joins {
				if !j.done() || j.resp.ErrorCode != 0 {
					t.Fatalf("join %d = %+v", i, j.resp)
				}
				if *j.resp.Protocol != tt.want {
					t.Fatalf("member %d got protocol %q, want %q", i, *j.resp.Protocol, tt.want)
				}
			}
		})
	}
}

func TestSecondMemberTriggersRebalance(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 1)
	if gen != 1 {
		t.Fatalf("generation = %d, want 1", gen)
	}
	m2 := h.joinNew("g", joinSpec{})
	if m2.done() {
		t.Fatalf("new member's join answered before the leader rejoined: %+v", m2.resp)
	}
	if got := h.heartbeat("g", ids[0], gen); got != kerr.RebalanceInProgress.Code {
		t.Fatalf("leader heartbeat = %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(got))
	}
	if d := h.describe("g"); d.State != "PreparingRebalance" {
		t.Fatalf("state = %s, want PreparingRebalance", d.State)
	}
	m1 := h.join("g", joinSpec{member: ids[0]})
	if !m1.done() || !m2.done() {
		t.Fatalf("joins not answered after all members rejoined")
	}
	if m1.resp.Generation != 2 || m2.resp.Generation != 2 {
		t.Fatalf("generations = %d, %d, want 2", m1.resp.Generation, m2.resp.Generation)
	}
	if m1.resp.LeaderID != ids[0] || len(m1.resp.Members) != 2 || len(m2.resp.Members) != 0 {
		t.Fatalf("leader %q got %d members, follower got %d; want leader %q with 2, follower 0",
			m1.resp.LeaderID, len(m1.resp.Members), len(m2.resp.Members), ids[0])
	}

	// Followers wait in SyncGroup for the leader.
	s2 := h.sync("g", m2.resp.MemberID, 2, nil)
	if s2.calls != 0 {
		t.Fatalf("follower SyncGroup answered before the leader's: %+v", s2.resp)
	}
	s1 := h.sync("g", ids[0], 2, map[string]string{ids[0]: "p0,p1", m2.resp.MemberID: "p2,p3"})
	if s1.calls != 1 || s2.calls != 1 {
		t.Fatalf("SyncGroup answers = %d, %d, want 1 each", s1.calls, s2.calls)
	}
	if string(s1.resp.MemberAssignment) != "p0,p1" || string(s2.resp.MemberAssignment) != "p2,p3" {
		t.Fatalf("assignments = %q, %q, want p0,p1 and p2,p3", s1.resp.MemberAssignment, s2.resp.MemberAssignment)
	}
	d := h.describe("g")
	if d.State != "Stable" || d.Protocol != "range" || len(d.Members) != 2 {
		t.Fatalf("describe = %+v, want Stable range with 2 members", d)
	}
	// A late SyncGroup in Stable gets the stored assignment.
	if late := h.sync("g", m2.resp.MemberID, 2, nil); string(late.resp.MemberAssignment) != "p2,p3" {
		t.Fatalf("SyncGroup in Stable = %q, want p2,p3", late.resp.MemberAssignment)
	}
}

func TestRebalanceTimeoutRemovesMembersThatDoNotRejoin(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 2)
	m3 := h.joinNew("g", joinSpec{rebalance: 20 * time.Second})
	m1 := h.join("g", joinSpec{member: ids[0], rebalance: 20 * time.Second})
	// ids[1] heartbeats but never rejoins.
	for range 3 {
		h.tick(5 * time.Second)
		if got := h.heartbeat("g", ids[1], gen); got != kerr.RebalanceInProgress.Code {
			t.Fatalf("heartbeat = %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(got))
		}
	}
	if m1.done() || m3.done() {
		t.Fatalf("joins completed before the rebalance timeout")
	}
	h.tick(15 * time.Second)
	if !m1.done() || !m3.done() {
		t.Fatalf("joins not completed after the rebalance timeout")
	}
	if m1.resp.Generation != gen+1 || len(m1.resp.Members) != 2 {
		t.Fatalf("leader join = generation %d, %d members; want %d, 2", m1.resp.Generation, len(m1.resp.Members), gen+1)
	}
	if got := h.heartbeat("g", ids[1], gen); got != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat of removed member = %v, want UNKNOWN_MEMBER_ID", kerr.ErrorForCode(got))
	}
}

func TestSessionTimeoutEvictsAndRebalances(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 2)
	for range 3 {
		h.tick(3 * time.Second)
		if got := h.heartbeat("g", ids[0], gen); got != 0 {
			t.Fatalf("heartbeat = %v", kerr.ErrorForCode(got))
		}
	}
	h.tick(2 * time.Second)
	// 11s passed; ids[1]'s 10s session is over.
	if d := h.describe("g"); d.State != "PreparingRebalance" || len(d.Members) != 1 {
		t.Fatalf("after session timeout: state %s with %d members, want PreparingRebalance with 1", d.State, len(d.Members))
	}
	if got := h.heartbeat("g", ids[0], gen); got != kerr.RebalanceInProgress.Code {
		t.Fatalf("survivor heartbeat = %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(got))
	}
	j := h.join("g", joinSpec{member: ids[0]})
	if !j.done() || j.resp.Generation != gen+1 || len(j.resp.Members) != 1 {
		t.Fatalf("rejoin = %+v, want generation %d alone", j.resp, gen+1)
	}
}

func TestLastMemberSessionTimeoutEmptiesGroup(t *testing.T) {
	h := newHarness(t, group.Options{})
	_, gen := h.stableGroup("g", 1)
	h.tick(11 * time.Second)
	d := h.describe("g")
	if d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("state %s with %d members, want Empty with none", d.State, len(d.Members))
	}
	// The generation moved on, so a commit from the old generation fails.
	if got := h.commit("g", "x", gen, "t", 0, 5, ""); got != kerr.UnknownMemberID.Code {
		t.Fatalf("commit from evicted member = %v, want UNKNOWN_MEMBER_ID", kerr.ErrorForCode(got))
	}
}

func TestHeartbeatErrors(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 1)
	tests := []struct {
		group, member string
		gen           int32
		want          error
	}{
		{"g", ids[0], gen, nil},
		{"g", ids[0], gen + 1, kerr.IllegalGeneration},
		{"g", ids[0], gen - 1, kerr.IllegalGeneration},
		{"g", "ghost", gen, kerr.UnknownMemberID},
		{"nope", ids[0], gen, kerr.UnknownMemberID},
		{"", ids[0], gen, kerr.InvalidGroupID},
	}
	for _, tt := range tests {
		if got := kerr.ErrorForCode(h.heartbeat(tt.group, tt.member, tt.gen)); got != tt.want {
			t.Errorf("Heartbeat(%q, %q, %d) = %v, want %v", tt.group, tt.member, tt.gen, got, tt.want)
		}
	}
}

func TestSyncGroupErrors(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 1)
	tests := []struct {
		group, member string
		gen           int32
		want          error
	}{
		{"g", ids[0], gen + 1, kerr.IllegalGeneration},
		{"g", "ghost", gen, kerr.UnknownMemberID},
		{"nope", ids[0], gen, kerr.UnknownMemberID},
	}
	for _, tt := range tests {
		r := h.sync(tt.group, tt.member, tt.gen, nil)
		if got := kerr.ErrorForCode(r.resp.ErrorCode); got != tt.want {
			t.Errorf("SyncGroup(%q, %q, %d) = %v, want %v", tt.group, tt.member, tt.gen, got, tt.want)
		}
	}
	// During PreparingRebalance, SyncGroup says to rejoin.
	h.joinNew("g", joinSpec{})
	if r := h.sync("g", ids[0], gen, nil); r.resp.ErrorCode != kerr.RebalanceInProgress.Code {
		t.Errorf("SyncGroup while preparing = %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(r.resp.ErrorCode))
	}
}

func TestLeaderThatNeverSyncsIsRemoved(t *testing.T) {
	h := newHarness(t, group.Options{})
	spec := joinSpec{session: 30 * time.Second, rebalance: 10 * time.Second}
	a := h.joinNew("g", spec)
	leader := a.resp.MemberID
	// A second member joins and everyone rejoins.
	b := h.joinNew("g", spec)
	spec.member = leader
	a = h.join("g", spec)
	if !b.done() || a.resp.LeaderID != leader {
		t.Fatalf("rebalance did not complete: %+v %+v", a.resp, b.resp)
	}
	follower := b.resp.MemberID
	s := h.sync("g", follower, b.resp.Generation, nil)
	h.tick(11 * time.Second)
	if s.calls != 1 || s.resp.ErrorCode != kerr.RebalanceInProgress.Code {
		t.Fatalf("waiting follower got %+v, want REBALANCE_IN_PROGRESS", s.resp)
	}
	d := h.describe("g")
	if d.State != "PreparingRebalance" || len(d.Members) != 1 || d.Members[0].MemberID != follower {
		t.Fatalf("describe = %+v, want the follower alone, preparing", d)
	}
}

func TestInitialRebalanceDelay(t *testing.T) {
	h := newHarness(t, group.Options{InitialRebalanceDelay: 3 * time.Second})
	a := h.joinNew("g", joinSpec{})
	h.tick(2 * time.Second)
	b := h.joinNew("g", joinSpec{}) // extends the delay to t=5s
	h.tick(2 * time.Second)         // t=4s
	if a.done() || b.done() {
		t.Fatalf("joins answered during the initial delay")
	}
	h.tick(1500 * time.Millisecond) // t=5.5s
	if !a.done() || !b.done() {
		t.Fatalf("joins not answered after the initial delay")
	}
	if a.resp.Generation != 1 || b.resp.Generation != 1 {
		t.Fatalf("generations = %d, %d, want 1 (one rebalance for both)", a.resp.Generation, b.resp.Generation)
	}
}

func TestRejoinInStableWithSameProtocolsIsAnsweredAtOnce(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 2)
	j := h.join("g", joinSpec{member: ids[1]})
	if !j.done() || j.resp.Generation != gen || j.resp.ErrorCode != 0 {
		t.Fatalf("follower rejoin = %+v, want generation %d at once", j.resp, gen)
	}
	if d := h.describe("g"); d.State != "Stable" {
		t.Fatalf("state = %s, want Stable", d.State)
	}
	// New subscriptions force a rebalance.
	j = h.join("g", joinSpec{member: ids[1], meta: "more-topics"})
	if j.done() {
		t.Fatalf("rejoin with new metadata answered at once")
	}
	if d := h.describe("g"); d.State != "PreparingRebalance" {
		t.Fatalf("state = %s, want PreparingRebalance", d.State)
	}
}

func TestPendingMemberHoldsRebalanceUntilItJoinsOrExpires(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("g", 1)
	n := h.joinNew("g", joinSpec{})        // rebalance starts
	p := h.join("g", joinSpec{version: 7}) // MEMBER_ID_REQUIRED: pending
	l := h.join("g", joinSpec{member: ids[0]})
	if l.done() || n.done() {
		t.Fatalf("rebalance completed while a member id was pending")
	}
	// The pending member joins: everyone is in.
	pj := h.join("g", joinSpec{member: p.resp.MemberID})
	if !pj.done() || !l.done() || !n.done() || pj.resp.Generation != gen+1 || len(l.resp.Members) != 3 {
		t.Fatalf("join of the pending member did not complete the rebalance with 3 members")
	}

	// Another round where the pending member never comes back: its session
	// timeout (10s), not the rebalance timeout (30s), releases the group.
	n2 := h.joinNew("g", joinSpec{})
	h.join("g", joinSpec{version: 7})
	h.join("g", joinSpec{member: ids[0]})
	h.join("g", joinSpec{member: n.resp.MemberID})
	h.join("g", joinSpec{member: pj.resp.MemberID})
	h.tick(9 * time.Second)
	if n2.done() {
		t.Fatalf("completed before the pending member id expired")
	}
	h.tick(2 * time.Second)
	if !n2.done() || n2.resp.Generation != gen+2 {
		t.Fatalf("rebalance not completed after the pending member id expired: %+v", n2.resp)
	}
}
