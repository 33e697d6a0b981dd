package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup: key 14.
//
// Version notes:
//   - v1: ThrottleMillis.
//   - v2: throttle applied after the response.
//   - v3: group.instance.id.
//   - v4: flexible.
//   - v5: ProtocolType and ProtocolName in request and response.
//
// Members other than the leader wait for the leader's assignment; the
// response is sent when it arrives.

func (s *Server) handleSyncGroup(_ context.Context, r *Request) (Reply, error) {
	ch := s.coord.groups.SyncGroup(r.Msg.(*kmsg.SyncGroupRequest))
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
