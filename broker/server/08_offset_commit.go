package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit: key 8.
//
// Version notes:
//   - v1: Generation and MemberID; a per-partition commit timestamp.
//   - v2: RetentionTimeMillis replaces the timestamp (ignored, as in Kafka
//     2.1+: offsets of a group expire offsets.retention.minutes after it
//     became empty).
//   - v3: ThrottleMillis.
//   - v4: throttle applied after the response.
//   - v5: RetentionTimeMillis removed.
//   - v6: LeaderEpoch per partition.
//   - v7: group.instance.id.
//   - v8: flexible.
//
// The response is sent once the commit is fsynced in the offsets log.

func (s *Server) handleOffsetCommit(_ context.Context, r *Request) (Reply, error) {
	wait := s.coord.groups.OffsetCommit(r.Msg.(*kmsg.OffsetCommitRequest))
	return later(func(ctx context.Context) kmsg.Response { return wait(ctx) }), nil
}
