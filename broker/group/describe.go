package group

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups handles a DescribeGroups request (v0-v5). An unknown group
// is described as Dead with no error, as Kafka does before v6. Member
// metadata and assignments are filled in only for Stable groups.
func (c *Coordinator) DescribeGroups(req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := kmsg.NewPtrDescribeGroupsResponse()
	resp.Version = req.Version
	for _, name := range req.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = name
		g, ok := c.groups[name]
		switch {
		case name == "":
			rg.ErrorCode = kerr.InvalidGroupID.Code
		case !ok:
			rg.State = Dead.String()
			if req.Version >= 6 {
				rg.ErrorCode = kerr.GroupIDNotFound.Code
			}
		default:
			rg.State = g.state.String()
			rg.ProtocolType = g.protocolType
			if g.state == Stable {
				rg.Protocol = g.protocol
			}
			g.each(func(m *member) {
				dm := kmsg.NewDescribeGroupsResponseGroupMember()
				dm.MemberID = m.id
				dm.InstanceID = m.instanceID
				dm.ClientID = m.client.ID
				dm.ClientHost = m.client.Host
				if g.state == Stable {
					dm.ProtocolMetadata = m.metadataFor(g.protocol)
					dm.MemberAssignment = m.assignment
				}
				rg.Members = append(rg.Members, dm)
			})
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

// ListGroups handles a ListGroups request (v0-v5), with the state filter of
// v4 (case-insensitive) and the type filter of v5 (every group here is
// "classic").
func (c *Coordinator) ListGroups(req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := kmsg.NewPtrListGroupsResponse()
	resp.Version = req.Version
	var states map[State]bool
	if req.Version >= 4 && len(req.StatesFilter) > 0 {
		states = make(map[State]bool)
		for _, s := range req.StatesFilter {
			if st, ok := parseState(s); ok {
				states[st] = true
			}
		}
	}
	if req.Version >= 5 && len(req.TypesFilter) > 0 && !slices.ContainsFunc(req.TypesFilter, func(t string) bool { return t == "classic" || t == "Classic" }) {
		return resp
	}
	for _, name := range slices.Sorted(maps.Keys(c.groups)) {
		g := c.groups[name]
		if states != nil && !states[g.state] {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group = name
		lg.ProtocolType = g.protocolType
		lg.GroupState = g.state.String()
		lg.GroupType = "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	return resp
}

// DeleteGroups handles a DeleteGroups request (v0-v2): only groups without
// members can be deleted (NON_EMPTY_GROUP otherwise); their offsets go
// with them.
func (c *Coordinator) DeleteGroups(req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	now := c.clock.Now()
	resp := kmsg.NewPtrDeleteGroupsResponse()
	resp.Version = req.Version
	for _, name := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = name
		g, ok := c.groups[name]
		switch {
		case name == "":
			rg.ErrorCode = kerr.InvalidGroupID.Code
		case !ok || g.state == Dead:
			rg.ErrorCode = kerr.GroupIDNotFound.Code
		case g.state != Empty:
			rg.ErrorCode = kerr.NonEmptyGroup.Code
		default:
			for _, tp := range sortedPartitions(g.offsets) {
				c.deleteOffset(g, tp)
			}
			g.transition(Dead, now)
			delete(c.groups, name)
			c.queueGroupTombstone(name)
			c.log.Info("group deleted", "group", name)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
