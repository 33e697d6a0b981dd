package group_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The model test drives one group with a random mix of client behaviour
// (joins, rejoins, syncs, heartbeats, commits, leaves, static restarts,
// silence) and time, and checks what every client relies on:
//
//   - every JoinGroup and SyncGroup is answered exactly once, and nothing is
//     left waiting once time runs on with nobody talking;
//   - within a generation, every successful JoinGroup names the same leader
//     and protocol, and the leader's member list holds every member told it
//     is part of that generation;
//   - a SyncGroup that succeeds returns what the leader assigned to that
//     member in that generation;
//   - generations never go backwards.

type modelClient struct {
	id       string // "" until it has one
	instance string // static membership when set
	gen      int32
	joins    []*joinResult
	syncs    []*syncResult
}

type modelRun struct {
	t       testing.TB
	h       *harness
	rng     *rand.Rand
	clients []*modelClient
	// per generation: leader, protocol, members in the leader's list,
	// dynamic members told they are in it, and the leader's assignment.
	leader    map[int32]string
	protocol  map[int32]string
	listed    map[int32][]string
	joined    map[int32][]string
	assigned  map[int32]map[string]string
	lastGen   int32
	allJoins  []*joinResult
	allSyncs  []*syncResult
	ops       []string
	protocols [][]string
}

func newModelRun(t testing.TB, seed uint64, opts group.Options) *modelRun {
	h := newHarness(t, opts)
	m := &modelRun{
		t: t, h: h, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		leader: map[int32]string{}, protocol: map[int32]string{}, listed: map[int32][]string{},
		joined: map[int32][]string{}, assigned: map[int32]map[string]string{},
		protocols: [][]string{{"range", "roundrobin"}, {"roundrobin", "range"}, {"range"}, {"cooperative-sticky", "range"}},
	}
	for i := range 4 {
		c := &modelClient{}
		if i%2 == 1 {
			c.instance = fmt.Sprintf("inst-%d", i)
		}
		m.clients = append(m.clients, c)
	}
	return m
}

func (m *modelRun) fail(format string, args ...any) {
	m.t.Helper()
	tail := m.ops
	if len(tail) > 30 {
		tail = tail[len(tail)-30:]
	}
	m.t.Fatalf("%s\nlast ops:\n  %s", fmt.Sprintf(format, args...), joinLines(tail))
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

func (m *modelRun) spec(c *modelClient, i int) joinSpec {
	return joinSpec{
		member: c.id, instance: c.instance, protocols: m.protocols[i%len(m.protocols)],
		session: 8 * time.Second, rebalance: 12 * time.Second,
	}
}

// step performs one random action.
func (m *modelRun) step() {
	i := m.rng.IntN(len(m.clients))
	c := m.clients[i]
	switch op := m.rng.IntN(10); op {
	case 0, 1: // join (or rejoin)
		s := m.spec(c, i)
		j := m.h.join("g", s)
		m.ops = append(m.ops, fmt.Sprintf("c%d join id=%q", i, c.id))
		m.trackJoin(c, j)
		if j.done() && j.resp.ErrorCode == kerr.MemberIDRequired.Code {
			c.id = j.resp.MemberID
		}
	case 2, 3: // sync, the leader with assignments
		if c.id == "" {
			return
		}
		var assign map[string]string
		if m.leader[c.gen] == c.id {
			assign = map[string]string{}
			for _, id := range m.listed[c.gen] {
				assign[id] = fmt.Sprintf("g%d:%s", c.gen, id)
			}
			m.assigned[c.gen] = assign
		}
		s := m.h.sync("g", c.id, c.gen, assign)
		m.ops = append(m.ops, fmt.Sprintf("c%d sync gen=%d leader=%v", i, c.gen, assign != nil))
		m.trackSync(c, s)
	case 4, 5: // heartbeat
		if c.id != "" {
			code := m.h.heartbeat("g", c.id, c.gen)
			m.ops = append(m.ops, fmt.Sprintf("c%d heartbeat gen=%d -> %v", i, c.gen, kerr.ErrorForCode(code)))
			if code == kerr.UnknownMemberID.Code || code == kerr.FencedInstanceID.Code {
				c.id = ""
			}
		}
	case 6: // commit
		if c.id != "" {
			code := m.h.commit("g", c.id, c.gen, "t", int32(i), int64(m.rng.IntN(100)), "")
			m.ops = append(m.ops, fmt.Sprintf("c%d commit gen=%d -> %v", i, c.gen, kerr.ErrorForCode(code)))
		}
	case 7: // leave, or a static member restarting (forgets its id)
		if c.id == "" {
			return
		}
		if c.instance != "" && m.rng.IntN(2) == 0 {
			m.ops = append(m.ops, fmt.Sprintf("c%d restarts (static)", i))
			c.id = ""
			return
		}
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Version = 3
		req.Group = "g"
		req.Members = []kmsg.LeaveGroupRequestMember{{MemberID: c.id}}
		m.h.c.LeaveGroup(req)
		m.ops = append(m.ops, fmt.Sprintf("c%d leave", i))
		c.id = ""
	default: // time passes
		d := time.Duration(m.rng.IntN(4000)) * time.Millisecond
		m.h.tick(d)
		m.ops = append(m.ops, fmt.Sprintf("tick %v", d))
	}
	m.check()
}

func (m *modelRun) trackJoin(c *modelClient, j *joinResult) {
	c.joins = append(c.joins, j)
	m.allJoins = append(m.allJoins, j)
}

func (m *modelRun) trackSync(c *modelClient, s *syncResult) {
	c.syncs = append(c.syncs, s)
	m.allSyncs = append(m.allSyncs, s)
}

// check looks at every answer that arrived since the last check.
func (m *modelRun) check() {
	m.t.Helper()
	for _, j := range m.allJoins {
		if j.calls > 1 {
			m.fail("a JoinGroup was answered %d times", j.calls)
		}
	}
	for _, s := range m.allSyncs {
		if s.calls > 1 {
			m.fail("a SyncGroup was answered %d times", s.calls)
		}
	}
	for ci, c := range m.clients {
		for _, j := range c.joins {
			if !j.done() || j.resp.Version < 0 {
				continue
			}
			r := j.resp
			r.Version = -1 // checked
			if r.ErrorCode != 0 {
				continue
			}
			gen := r.Generation
			if gen < m.lastGen-1 {
				m.fail("client %d joined generation %d after generation %d existed", ci, gen, m.lastGen)
			}
			m.lastGen = max(m.lastGen, gen)
			if p, ok := m.protocol[gen]; ok && p != *r.Protocol {
				m.fail("generation %d: protocol %q, earlier %q", gen, *r.Protocol, p)
			}
			m.protocol[gen] = *r.Protocol
			if r.MemberID == r.LeaderID {
				var ids []string
				for _, mm := range r.Members {
					ids = append(ids, mm.MemberID)
				}
				if !slices.Contains(ids, r.MemberID) {
					m.fail("leader's member list %v lacks the leader %s", ids, r.MemberID)
				}
				m.listed[gen] = ids
			}
			m.leader[gen] = r.LeaderID
			c.id, c.gen = r.MemberID, gen
			if c.instance == "" {
				m.joined[gen] = append(m.joined[gen], r.MemberID)
			}
		}
		for _, s := range c.syncs {
			if s.calls == 0 || s.resp.Version < 0 {
				continue
			}
			s.resp.Version = -1
			if s.resp.ErrorCode != 0 || len(s.resp.MemberAssignment) == 0 {
				continue
			}
			var g int32
			var id string
			if _, err := fmt.Sscanf(string(s.resp.MemberAssignment), "g%d:%s", &g, &id); err != nil {
				m.fail("client %d got assignment %q", ci, s.resp.MemberAssignment)
			}
			// A dynamic member gets its own assignment; a static one may
			// inherit the assignment of its previous incarnation.
			if c.instance == "" && id != c.id {
				m.fail("client %d (%s) got the assignment of %s", ci, c.id, id)
			}
		}
	}
	for gen, joined := range m.joined {
		listed, ok := m.listed[gen]
		if !ok {
			continue
		}
		for _, id := range joined {
			if !slices.Contains(listed, id) {
				m.fail("generation %d: member %s was told it joined but is not in the leader's list %v", gen, id, listed)
			}
		}
	}
}

// drain lets time run with nobody talking: everything pending must be
// answered and the group must end up without members.
func (m *modelRun) drain() {
	m.t.Helper()
	for range 200 {
		m.h.tick(time.Second)
	}
	m.check()
	for i, j := range m.allJoins {
		if j.calls != 1 {
			m.fail("JoinGroup #%d answered %d times after draining", i, j.calls)
		}
	}
	for i, s := range m.allSyncs {
		if s.calls != 1 {
			m.fail("SyncGroup #%d answered %d times after draining", i, s.calls)
		}
	}
	if d := m.h.describe("g"); d.State != "Empty" && d.State != "Dead" || len(d.Members) != 0 {
		m.fail("after draining the group is %s with %d members", d.State, len(d.Members))
	}
}

func TestModelRandomized(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for seed := range uint64(seeds) {
		opts := group.Options{}
		if seed%3 == 0 {
			opts.InitialRebalanceDelay = 2 * time.Second
		}
		m := newModelRun(t, seed, opts)
		for range 300 {
			m.step()
		}
		m.drain()
	}
}

func FuzzModel(f *testing.F) {
	f.Add(uint64(1), uint16(200))
	f.Add(uint64(42), uint16(500))
	f.Fuzz(func(t *testing.T, seed uint64, steps uint16) {
		m := newModelRun(t, seed, group.Options{InitialRebalanceDelay: time.Duration(seed%3) * time.Second})
		for range int(steps % 1000) {
			m.step()
		}
		m.drain()
	})
}
