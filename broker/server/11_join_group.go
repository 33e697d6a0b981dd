package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup: key 11.
//
// Version notes:
//   - v1: RebalanceTimeoutMillis (v0 uses the session timeout).
//   - v2: ThrottleMillis.
//   - v3: throttle applied after the response.
//   - v4: a join without a member id gets MEMBER_ID_REQUIRED and an id to
//     join with.
//   - v5: group.instance.id (static membership).
//   - v6: flexible.
//   - v7: ProtocolType in the response.
//
// The response usually waits for the other members to join: it is sent
// when the group's rebalance completes (package group), while the
// connection goes on reading.

func (s *Server) handleJoinGroup(_ context.Context, r *Request) (Reply, error) {
	ch := s.coord.groups.JoinGroup(r.Msg.(*kmsg.JoinGroupRequest), clientOf(r))
	select {
	case resp := <-ch:
		return respond(resp), nil
	default:
	}
	return later(func(ctx context.Context) kmsg.Response {
		select {
		case resp := <-ch:
			return resp
		case <-ctx.Done():
			return nil
		}
	}), nil
}
