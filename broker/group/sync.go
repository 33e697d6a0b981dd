package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup handles a SyncGroup request (v0-v5). The leader's request
// carries every member's assignment; the others wait for it. respond is
// called exactly once, now or when the leader's assignment arrives (or the
// group starts another rebalance, with REBALANCE_IN_PROGRESS).
//
// Versions: v3 adds group.instance.id, v5 adds the protocol type and name,
// which must match the group's.
func (c *Coordinator) SyncGroup(req *kmsg.SyncGroupRequest, respond func(*kmsg.SyncGroupResponse)) {
	now := c.clock.Now()
	fail := func(code int16) {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.Version = req.Version
		resp.ErrorCode = code
		respond(resp)
	}
	if req.Version < 3 {
		req.InstanceID = nil
	}
	g, ok := c.groups[req.Group]
	if req.Group == "" {
		fail(kerr.InvalidGroupID.Code)
		return
	}
	if !ok {
		fail(kerr.UnknownMemberID.Code)
		return
	}
	if g.fenced(req.MemberID, req.InstanceID) {
		fail(kerr.FencedInstanceID.Code)
		return
	}
	m, ok := g.members[req.MemberID]
	if !ok {
		fail(kerr.UnknownMemberID.Code)
		return
	}
	if req.Generation != g.generation {
		fail(kerr.IllegalGeneration.Code)
		return
	}
	if (req.ProtocolType != nil && *req.ProtocolType != g.protocolType) || (req.Protocol != nil && *req.Protocol != g.protocol) {
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	switch g.state {
	case PreparingRebalance:
		fail(kerr.RebalanceInProgress.Code)
	case CompletingRebalance:
		m.lastHeartbeat = now
		g.synced[m.id] = true
		if m.syncRespond != nil {
			// A retried SyncGroup replaces the one already waiting.
			prev := m.syncRespond
			m.syncRespond = nil
			resp := kmsg.NewPtrSyncGroupResponse()
			resp.Version = m.syncVersion
			resp.ErrorCode = kerr.RebalanceInProgress.Code
			prev(resp)
		}
		m.syncRespond, m.syncVersion = respond, req.Version
		if m.id != g.leader {
			return
		}
		assigned := make(map[string][]byte, len(req.GroupAssignment))
		for _, a := range req.GroupAssignment {
			assigned[a.MemberID] = a.MemberAssignment
		}
		g.each(func(m *member) {
			m.assignment = append([]byte(nil), assigned[m.id]...)
		})
		g.transition(Stable, now)
		c.queueGroupMetadata(g, now)
		c.log.Info("group stable", "group", g.name, "generation", g.generation, "members", len(g.members))
		g.each(func(m *member) {
			if m.syncRespond == nil {
				return
			}
			respond := m.syncRespond
			m.syncRespond = nil
			respond(c.syncResponse(g, m, m.syncVersion))
		})
	case Stable:
		m.lastHeartbeat = now
		g.synced[m.id] = true
		respond(c.syncResponse(g, m, req.Version))
	default:
		fail(kerr.UnknownMemberID.Code)
	}
}

func (c *Coordinator) syncResponse(g *group, m *member, version int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = version
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType = &pt
	resp.Protocol = &p
	resp.MemberAssignment = m.assignment
	return resp
}
