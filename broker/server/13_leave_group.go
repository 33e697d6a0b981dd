package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup: key 13.
//
// Version notes:
//   - v1: ThrottleMillis.
//   - v2: throttle applied after the response.
//   - v3: a batch of members, each by member id or group.instance.id, with
//     an error per member.
//   - v4: flexible.
//   - v5: a reason per member (logged by Kafka; ignored here).

func (s *Server) handleLeaveGroup(_ context.Context, r *Request) (Reply, error) {
	return respond(s.coord.groups.LeaveGroup(r.Msg.(*kmsg.LeaveGroupRequest))), nil
}
