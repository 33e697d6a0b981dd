package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetFetch: key 9.
//
// Version notes:
//   - v1: offsets from the broker's log rather than ZooKeeper (the same
//     thing here).
//   - v2: a null topic list means every committed partition; top-level
//     ErrorCode.
//   - v3: ThrottleMillis.
//   - v4: throttle applied after the response.
//   - v5: LeaderEpoch per partition.
//   - v6: flexible.
//   - v7: RequireStable (offsets here are always stable).
//   - v8: several groups per request; not advertised (the Kafka 2.8
//     maximum is 7) but answered.
//
// A partition without a committed offset gets offset -1 and no error.

func (s *Server) handleOffsetFetch(_ context.Context, r *Request) (Reply, error) {
	return respond(s.coord.groups.OffsetFetch(r.Msg.(*kmsg.OffsetFetchRequest))), nil
}
