package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups: key 42.
//
// Version notes:
//   - v1: throttle applied after the response.
//   - v2: flexible.
//
// Only groups without members can be deleted (NON_EMPTY_GROUP otherwise);
// their committed offsets go with them.

func (s *Server) handleDeleteGroups(_ context.Context, r *Request) (Reply, error) {
	return respond(s.coord.groups.DeleteGroups(r.Msg.(*kmsg.DeleteGroupsRequest))), nil
}
