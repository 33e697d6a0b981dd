package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat: key 12.
//
// Version notes:
//   - v1: ThrottleMillis.
//   - v2: throttle applied after the response.
//   - v3: group.instance.id.
//   - v4: flexible.

func (s *Server) handleHeartbeat(_ context.Context, r *Request) (Reply, error) {
	return respond(s.coord.groups.Heartbeat(r.Msg.(*kmsg.HeartbeatRequest))), nil
}
