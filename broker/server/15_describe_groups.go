package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups: key 15.
//
// Version notes:
//   - v1: ThrottleMillis.
//   - v2: throttle applied after the response.
//   - v3: IncludeAuthorizedOperations (we return the "not computed"
//     default).
//   - v4: group.instance.id of each member.
//   - v5: flexible.
//
// An unknown group is described as Dead, without an error.

func (s *Server) handleDescribeGroups(_ context.Context, r *Request) (Reply, error) {
	return respond(s.coord.groups.DescribeGroups(r.Msg.(*kmsg.DescribeGroupsRequest))), nil
}
