package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup handles a LeaveGroup request (v0-v5) and returns the response.
// Each leaving member is removed at once and the group rebalances.
//
// Versions: v0-v2 name one member id; v3 takes a batch of members, each by
// member id or group.instance.id (the way an admin removes static members),
// with an error per member.
func (c *Coordinator) LeaveGroup(req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := kmsg.NewPtrLeaveGroupResponse()
	resp.Version = req.Version
	members := req.Members
	if req.Version < 3 {
		members = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g, ok := c.groups[req.Group]
	for _, lm := range members {
		code := kerr.UnknownMemberID.Code
		if ok {
			code = c.leave(g, lm)
		}
		if req.Version < 3 {
			resp.ErrorCode = code
			continue
		}
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID = lm.MemberID
		rm.InstanceID = lm.InstanceID
		rm.ErrorCode = code
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

func (c *Coordinator) leave(g *group, lm kmsg.LeaveGroupRequestMember) int16 {
	now := c.clock.Now()
	id := lm.MemberID
	if lm.InstanceID != nil {
		holder, ok := g.statics[*lm.InstanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case id != "" && holder != id:
			return kerr.FencedInstanceID.Code
		}
		id = holder
	}
	if _, ok := g.pending[id]; ok {
		delete(g.pending, id)
		c.tryCompleteJoin(g, now)
		return 0
	}
	m, ok := g.members[id]
	if !ok {
		return kerr.UnknownMemberID.Code
	}
	c.log.Info("group member left", "group", g.name, "member", id)
	c.removeMember(g, m, now)
	return 0
}
