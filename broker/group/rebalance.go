package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maybePrepareRebalance starts a rebalance unless one is already under way.
func (c *Coordinator) maybePrepareRebalance(g *group, now time.Time) {
	switch g.state {
	case Empty, Stable, CompletingRebalance:
		c.prepareRebalance(g, now)
	}
}

// prepareRebalance moves g to PreparingRebalance: members must rejoin within
// the rebalance timeout.
func (c *Coordinator) prepareRebalance(g *group, now time.Time) {
	if g.state == CompletingRebalance {
		// Members waiting for an assignment learn that it will not come.
		g.each(func(m *member) {
			m.assignment = nil
			if m.syncRespond != nil {
				resp := kmsg.NewPtrSyncGroupResponse()
				resp.Version = m.syncVersion
				resp.ErrorCode = kerr.RebalanceInProgress.Code
				respond := m.syncRespond
				m.syncRespond = nil
				respond(resp)
			}
		})
	}
	timeout := g.rebalanceTimeout()
	if g.state == Empty && c.opts.InitialRebalanceDelay > 0 {
		g.initialDelayUntil = now.Add(min(c.opts.InitialRebalanceDelay, timeout))
		g.initialDelayLimit = now.Add(timeout)
	}
	g.rebalanceDeadline = now.Add(timeout)
	g.synced = make(map[string]bool)
	g.transition(PreparingRebalance, now)
	c.log.Debug("group rebalancing", "group", g.name, "generation", g.generation, "members", len(g.members))
	c.tryCompleteJoin(g, now)
}

// extendInitialDelay gives the first rebalance of a group more time when a
// member joins during the initial delay, up to the rebalance timeout.
func (c *Coordinator) extendInitialDelay(g *group, now time.Time) {
	if g.initialDelayUntil.IsZero() {
		return
	}
	until := now.Add(c.opts.InitialRebalanceDelay)
	if until.After(g.initialDelayLimit) {
		until = g.initialDelayLimit
	}
	if until.After(g.initialDelayUntil) {
		g.initialDelayUntil = until
	}
}

// tryCompleteJoin finishes the join phase early when every member has
// rejoined and the initial delay, if any, is over.
func (c *Coordinator) tryCompleteJoin(g *group, now time.Time) {
	if g.state != PreparingRebalance || !g.initialDelayUntil.IsZero() {
		return
	}
	if g.allJoined() {
		c.completeJoin(g, now)
	}
}

// completeJoin ends PreparingRebalance: dynamic members that did not rejoin
// are removed (static ones stay until their session times out, as in
// Kafka), a new generation starts and every waiting member gets its
// JoinGroup response, the leader with the member list.
func (c *Coordinator) completeJoin(g *group, now time.Time) {
	g.each(func(m *member) {
		if !m.awaitingJoin() && m.instanceID == nil {
			c.log.Info("group member did not rejoin in time", "group", g.name, "member", m.id)
			g.remove(m.id)
		}
	})
	if len(g.members) > 0 {
		// The leader must be a member that rejoined.
		if l := g.members[g.leader]; l == nil || !l.awaitingJoin() {
			g.leader = ""
			g.each(func(m *member) {
				if g.leader == "" && m.awaitingJoin() {
					g.leader = m.id
				}
			})
			if g.leader == "" {
				// Only static members that have not rejoined are left:
				// wait another rebalance timeout for them.
				g.leader = g.order[0]
				g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
				return
			}
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.protocol = ""
		g.leader = ""
		g.transition(Empty, now)
		c.log.Info("group is empty", "group", g.name, "generation", g.generation)
		c.queueGroupMetadata(g, now)
		return
	}
	g.protocol = g.selectProtocol()
	g.transition(CompletingRebalance, now)
	g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
	c.log.Info("group rebalanced", "group", g.name, "generation", g.generation, "protocol", g.protocol, "leader", g.leader, "members", len(g.members))
	g.each(func(m *member) {
		if !m.awaitingJoin() {
			return
		}
		resp := c.joinResponse(g, m, m.joinVersion)
		respond := m.joinRespond
		m.joinRespond = nil
		m.lastHeartbeat = now
		respond(resp)
	})
}

// joinResponse is the successful JoinGroup answer for m in the current
// generation.
func (c *Coordinator) joinResponse(g *group, m *member, version int16) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = version
	resp.Generation = g.generation
	resp.ProtocolType = &g.protocolType
	protocol := g.protocol
	resp.Protocol = &protocol
	resp.LeaderID = g.leader
	resp.MemberID = m.id
	if m.id == g.leader {
		resp.Members = g.joinMembers()
	}
	return resp
}

// removeMember takes m out of g and moves the group on: a member waiting
// in JoinGroup gets UNKNOWN_MEMBER_ID, a stable group rebalances, a
// rebalancing one may now complete.
func (c *Coordinator) removeMember(g *group, m *member, now time.Time) {
	if m.joinRespond != nil {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version = m.joinVersion
		resp.MemberID = m.id
		resp.ErrorCode = kerr.UnknownMemberID.Code
		respond := m.joinRespond
		m.joinRespond = nil
		respond(resp)
	}
	if m.syncRespond != nil {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.Version = m.syncVersion
		resp.ErrorCode = kerr.UnknownMemberID.Code
		respond := m.syncRespond
		m.syncRespond = nil
		respond(resp)
	}
	g.remove(m.id)
	switch g.state {
	case Stable, CompletingRebalance:
		c.prepareRebalance(g, now)
	case PreparingRebalance:
		c.tryCompleteJoin(g, now)
	}
}
