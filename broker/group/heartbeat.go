package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat handles a Heartbeat request (v0-v4) and returns the response.
// A member of the current generation keeps its session alive; during a
// rebalance it learns it must rejoin (REBALANCE_IN_PROGRESS).
//
// Versions: v3 adds group.instance.id.
func (c *Coordinator) Heartbeat(req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := kmsg.NewPtrHeartbeatResponse()
	resp.Version = req.Version
	resp.ErrorCode = c.heartbeat(req)
	return resp
}

func (c *Coordinator) heartbeat(req *kmsg.HeartbeatRequest) int16 {
	if req.Version < 3 {
		req.InstanceID = nil
	}
	if req.Group == "" {
		return kerr.InvalidGroupID.Code
	}
	g, ok := c.groups[req.Group]
	if !ok {
		return kerr.UnknownMemberID.Code
	}
	if g.fenced(req.MemberID, req.InstanceID) {
		return kerr.FencedInstanceID.Code
	}
	m, ok := g.members[req.MemberID]
	if !ok || g.state == Empty || g.state == Dead {
		return kerr.UnknownMemberID.Code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	m.lastHeartbeat = c.clock.Now()
	if g.state == PreparingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}
