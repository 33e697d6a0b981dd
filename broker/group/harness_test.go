package group_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// manualClock is a Clock the test moves by hand.
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time          { return c.now }
func (c *manualClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// harness drives one Coordinator with a manual clock.
type harness struct {
	t   testing.TB
	c   *group.Coordinator
	clk *manualClock
}

func newHarness(t testing.TB, opts group.Options) *harness {
	t.Helper()
	clk := &manualClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return &harness{t: t, c: group.New(opts, clk, nil), clk: clk}
}

func (h *harness) tick(d time.Duration) {
	h.clk.Advance(d)
	h.c.Tick()
}

// joinResult collects the answers to one JoinGroup.
type joinResult struct {
	calls int
	resp  *kmsg.JoinGroupResponse
}

func (r *joinResult) done() bool { return r.calls > 0 }

// joinSpec describes a JoinGroup request; zero fields take test defaults.
type joinSpec struct {
	version      int16
	member       string
	instance     string
	protocolType string
	protocols    []string
	meta         string // metadata of every protocol
	session      time.Duration
	rebalance    time.Duration
}

func (h *harness) join(groupName string, s joinSpec) *joinResult {
	h.t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = s.version
	if req.Version == 0 {
		req.Version = 7
	}
	req.Group = groupName
	req.MemberID = s.member
	if s.instance != "" {
		inst := s.instance
		req.InstanceID = &inst
	}
	req.ProtocolType = s.protocolType
	if req.ProtocolType == "" {
		req.ProtocolType = "consumer"
	}
	ps := s.protocols
	if ps == nil {
		ps = []string{"range"}
	}
	for _, p := range ps {
		req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte(s.meta + "/" + p)})
	}
	req.SessionTimeoutMillis = int32(orDefault(s.session, 10*time.Second) / time.Millisecond)
	req.RebalanceTimeoutMillis = int32(orDefault(s.rebalance, 30*time.Second) / time.Millisecond)
	r := &joinResult{}
	h.c.JoinGroup(req, group.Client{ID: "client", Host: "/127.0.0.1"}, func(resp *kmsg.JoinGroupResponse) {
		r.calls++
		r.resp = resp
	})
	return r
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// joinNew performs the v4+ MEMBER_ID_REQUIRED round trip and returns the
// pending second join.
func (h *harness) joinNew(groupName string, s joinSpec) *joinResult {
	h.t.Helper()
	first := h.join(groupName, s)
	if !first.done() || first.resp.ErrorCode != kerr.MemberIDRequired.Code {
		h.t.Fatalf("first JoinGroup = %+v, want MEMBER_ID_REQUIRED", first.resp)
	}
	s.member = first.resp.MemberID
	return h.join(groupName, s)
}

type syncResult struct {
	calls int
	resp  *kmsg.SyncGroupResponse
}

func (h *harness) sync(groupName, member string, gen int32, assign map[string]string) *syncResult {
	h.t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.Generation = groupName, member, gen
	for m, a := range assign {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: []byte(a)})
	}
	r := &syncResult{}
	h.c.SyncGroup(req, func(resp *kmsg.SyncGroupResponse) {
		r.calls++
		r.resp = resp
	})
	return r
}

func (h *harness) heartbeat(groupName, member string, gen int32) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.MemberID, req.Generation = groupName, member, gen
	return h.c.Heartbeat(req).ErrorCode
}

func (h *harness) describe(groupName string) kmsg.DescribeGroupsResponseGroup {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version = 5
	req.Groups = []string{groupName}
	return h.c.DescribeGroups(req).Groups[0]
}

func (h *harness) commit(groupName, member string, gen int32, topic string, partition int32, offset int64, meta string) int16 {
	h.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.MemberID, req.Generation = groupName, member, gen
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.Metadata = partition, offset, &meta
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{p}}}
	return h.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode
}

// fetch returns the committed offset and metadata of one partition.
func (h *harness) fetch(groupName, topic string, partition int32) (int64, string) {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group = groupName
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{partition}}}
	resp := h.c.OffsetFetch(req)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("OffsetFetch(%s) error %v", groupName, kerr.ErrorForCode(resp.ErrorCode))
	}
	p := resp.Topics[0].Partitions[0]
	return p.Offset, *p.Metadata
}

// stableGroup brings n dynamic members into a Stable group and returns
// their ids (the first is the leader) and the generation.
func (h *harness) stableGroup(groupName string, n int) ([]string, int32) {
	h.t.Helper()
	joins := make([]*joinResult, n)
	ids := make([]string, n)
	for i := range n {
		joins[i] = h.joinNew(groupName, joinSpec{})
		// Every earlier member must rejoin for the rebalance to finish.
		for k := range i {
			joins[k] = h.join(groupName, joinSpec{member: ids[k]})
		}
		if !joins[i].done() {
			h.t.Fatalf("join of member %d not answered after all rejoined", i)
		}
		ids[i] = joins[i].resp.MemberID
	}
	for k, j := range joins {
		if !j.done() || j.resp.ErrorCode != 0 {
			h.t.Fatalf("join %d = %+v, want done without error", k, j.resp)
		}
	}
	gen := joins[0].resp.Generation
	leader := joins[0].resp.LeaderID
	assign := map[string]string{}
	for _, id := range ids {
		assign[id] = "assignment-of-" + id
	}
	s := h.sync(groupName, leader, gen, assign)
	for _, id := range ids {
		if id != leader {
			h.sync(groupName, id, gen, nil)
		}
	}
	if s.resp == nil || s.resp.ErrorCode != 0 {
		h.t.Fatalf("leader SyncGroup = %+v", s.resp)
	}
	// Put the leader first.
	for i, id := range ids {
		if id == leader {
			ids[0], ids[i] = ids[i], ids[0]
		}
	}
	return ids, gen
}
