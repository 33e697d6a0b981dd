package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup handles a JoinGroup request (v0-v9). respond is called exactly
// once: before JoinGroup returns when the answer is known at once (errors,
// MEMBER_ID_REQUIRED, a rejoin that changes nothing), otherwise when the
// rebalance completes, from inside a later call (another member's request
// or Tick).
//
// Versions: v1 adds the rebalance timeout (v0 uses the session timeout),
// v4 requires a member id (MEMBER_ID_REQUIRED round trip), v5 adds
// group.instance.id, v7 returns the protocol type.
func (c *Coordinator) JoinGroup(req *kmsg.JoinGroupRequest, client Client, respond func(*kmsg.JoinGroupResponse)) {
	now := c.clock.Now()
	fail := func(code int16, memberID string) {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version = req.Version
		resp.ErrorCode = code
		resp.MemberID = memberID
		resp.Generation = -1
		respond(resp)
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	rebalance := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 {
		rebalance = session
	}
	switch {
	case req.Group == "":
		fail(kerr.InvalidGroupID.Code, req.MemberID)
		return
	case session < c.opts.MinSessionTimeout || session > c.opts.MaxSessionTimeout:
		fail(kerr.InvalidSessionTimeout.Code, req.MemberID)
		return
	}
	if req.Version < 5 {
		req.InstanceID = nil
	}
	g, exists := c.groups[req.Group]
	if !exists {
		if req.MemberID != "" {
			fail(kerr.UnknownMemberID.Code, req.MemberID)
			return
		}
		g = c.getOrCreate(req.Group, now)
	}
	if !g.supports(req.ProtocolType, req.Protocols) {
		fail(kerr.InconsistentGroupProtocol.Code, req.MemberID)
		if len(g.members) == 0 && !exists {
			delete(c.groups, g.name)
		}
		return
	}
	j := join{req: req, client: client, session: session, rebalance: rebalance, respond: respond, now: now}
	if req.MemberID == "" {
		c.joinUnknown(g, j, fail)
		return
	}
	c.joinKnown(g, j, fail)
}

// join is one JoinGroup request on its way through the coordinator.
type join struct {
	req       *kmsg.JoinGroupRequest
	client    Client
	session   time.Duration
	rebalance time.Duration
	respond   func(*kmsg.JoinGroupResponse)
	now       time.Time
}

// joinUnknown handles a join without a member id.
func (c *Coordinator) joinUnknown(g *group, j join, fail func(int16, string)) {
	newID := c.newMemberID(j.client.ID)
	if j.req.InstanceID != nil {
		if oldID, ok := g.statics[*j.req.InstanceID]; ok {
			c.replaceStatic(g, oldID, newID, j)
			return
		}
		c.addMember(g, newID, j)
		return
	}
	if j.req.Version >= 4 {
		g.pending[newID] = j.now.Add(j.session)
		fail(kerr.MemberIDRequired.Code, newID)
		return
	}
	c.addMember(g, newID, j)
}

// joinKnown handles a join from a member that has an id.
func (c *Coordinator) joinKnown(g *group, j join, fail func(int16, string)) {
	id := j.req.MemberID
	if _, ok := g.pending[id]; ok {
		c.addMember(g, id, j)
		return
	}
	if g.fenced(id, j.req.InstanceID) {
		fail(kerr.FencedInstanceID.Code, id)
		return
	}
	m, ok := g.members[id]
	if !ok {
		fail(kerr.UnknownMemberID.Code, id)
		return
	}
	switch g.state {
	case PreparingRebalance:
		c.updateMember(g, m, j)
		c.tryCompleteJoin(g, j.now)
	case CompletingRebalance:
		if m.sameProtocols(j.req.ProtocolType, j.req.Protocols) {
			// A retry of a join that already completed: answer it again.
			m.lastHeartbeat = j.now
			j.respond(c.joinResponse(g, m, j.req.Version))
			return
		}
		c.updateMember(g, m, j)
		c.prepareRebalance(g, j.now)
	case Stable:
		if m.id == g.leader || !m.sameProtocols(j.req.ProtocolType, j.req.Protocols) {
			// The leader rejoins to force a new assignment (for example
			// when topics it subscribes to change), and a member with new
			// subscriptions needs one.
			c.updateMember(g, m, j)
			c.prepareRebalance(g, j.now)
			return
		}
		m.lastHeartbeat = j.now
		j.respond(c.joinResponse(g, m, j.req.Version))
	default:
		fail(kerr.UnknownMemberID.Code, id)
	}
}

// addMember adds a new member that waits for the rebalance it triggers.
func (c *Coordinator) addMember(g *group, id string, j join) {
	m := &member{
		id:         id,
		instanceID: j.req.InstanceID,
		client:     j.client,
	}
	c.setJoin(m, j)
	if len(g.members) == 0 {
		g.protocolType = j.req.ProtocolType
	}
	g.add(m)
	c.extendInitialDelay(g, j.now)
	c.maybePrepareRebalance(g, j.now)
	c.tryCompleteJoin(g, j.now)
}

// updateMember records a rejoin of an existing member.
func (c *Coordinator) updateMember(g *group, m *member, j join) {
	if m.joinRespond != nil && m.joinVersion >= 0 {
		// A second join while the first is pending: the first one is
		// superseded, as a client only waits on its latest request.
		prev := m.joinRespond
		m.joinRespond = nil
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version = m.joinVersion
		resp.MemberID = m.id
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		resp.Generation = -1
		prev(resp)
	}
	c.setJoin(m, j)
	if g.state != PreparingRebalance {
		return
	}
	c.extendInitialDelay(g, j.now)
}

func (c *Coordinator) setJoin(m *member, j join) {
	m.client = j.client
	m.sessionTimeout = j.session
	m.rebalanceTimeout = j.rebalance
	m.protocolType = j.req.ProtocolType
	m.protocols = cloneProtocols(j.req.Protocols)
	m.joinRespond = j.respond
	m.joinVersion = j.req.Version
	m.lastHeartbeat = j.now
}

func cloneProtocols(ps []kmsg.JoinGroupRequestProtocol) []kmsg.JoinGroupRequestProtocol {
	out := make([]kmsg.JoinGroupRequestProtocol, len(ps))
	for i, p := range ps {
		out[i] = kmsg.JoinGroupRequestProtocol{Name: p.Name, Metadata: append([]byte(nil), p.Metadata...)}
	}
	return out
}

// replaceStatic handles a join without a member id from a static member
// whose instance id the group already knows (a restarted consumer): the
// new member id takes over the old one's place and assignment, and the old
// member id is fenced. Like Kafka, this does not rebalance a stable group
// unless the protocol the group would pick changes.
func (c *Coordinator) replaceStatic(g *group, oldID, newID string, j join) {
	old := g.members[oldID]
	if old.joinRespond != nil {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version = old.joinVersion
		resp.MemberID = oldID
		resp.ErrorCode = kerr.FencedInstanceID.Code
		resp.Generation = -1
		prev := old.joinRespond
		old.joinRespond = nil
		prev(resp)
	}
	if old.syncRespond != nil {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.Version = old.syncVersion
		resp.ErrorCode = kerr.FencedInstanceID.Code
		prev := old.syncRespond
		old.syncRespond = nil
		prev(resp)
	}
	oldProtocols := old.protocols
	m := g.replace(oldID, newID)
	c.log.Info("static group member replaced", "group", g.name, "instance", *m.instanceID, "old", oldID, "new", newID)
	switch g.state {
	case Stable:
		m.client = j.client
		m.sessionTimeout, m.rebalanceTimeout = j.session, j.rebalance
		m.protocols = cloneProtocols(j.req.Protocols)
		m.lastHeartbeat = j.now
		if g.selectProtocol() != g.protocol {
			m.joinRespond, m.joinVersion = j.respond, j.req.Version
			c.prepareRebalance(g, j.now)
			return
		}
		c.queueGroupMetadata(g, j.now)
		// The rejoined member keeps its assignment; only the leader
		// needs the member list (to notice nothing changed).
		j.respond(c.joinResponse(g, m, j.req.Version))
	case CompletingRebalance:
		m.client = j.client
		m.protocols = oldProtocols
		m.lastHeartbeat = j.now
		j.respond(c.joinResponse(g, m, j.req.Version))
	case PreparingRebalance:
		c.setJoin(m, j)
		c.tryCompleteJoin(g, j.now)
	default:
		// Empty groups keep no members, so this cannot happen; treat it
		// as a fresh join.
		c.setJoin(m, j)
		c.maybePrepareRebalance(g, j.now)
	}
}
