package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetDelete: key 47.
//
// Version notes:
//   - v0: the only version up to Kafka 2.8.
//
// Offsets of topics a live consumer group subscribes to are kept
// (GROUP_SUBSCRIBED_TO_TOPIC).

func (s *Server) handleOffsetDelete(_ context.Context, r *Request) (Reply, error) {
	return respond(s.coord.groups.OffsetDelete(r.Msg.(*kmsg.OffsetDeleteRequest))), nil
}
