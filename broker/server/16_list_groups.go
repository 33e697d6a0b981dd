package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups: key 16.
//
// Version notes:
//   - v1: ThrottleMillis.
//   - v2: throttle applied after the response.
//   - v3: flexible.
//   - v4: StatesFilter, and each group's state in the response.

func (s *Server) handleListGroups(_ context.Context, r *Request) (Reply, error) {
	return respond(s.coord.groups.ListGroups(r.Msg.(*kmsg.ListGroupsRequest))), nil
}
