package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreatePartitions: key 37.
//
// Version notes:
//   - v1: throttle applied after the response.
//   - v2: flexible.
//   - v3: no change.
//
// Count is the new total; it must be larger than the current count. An
// assignment is accepted when every new partition lists only this broker.

func (s *Server) handleCreatePartitions(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.CreatePartitionsRequest)
	resp := response[*kmsg.CreatePartitionsResponse](r)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		err := checkAssignment(rt)
		switch {
		case seen[rt.Topic] > 1:
			err = &codedError{kerr.InvalidRequest, fmt.Sprintf("topic %q appears %d times in the request", rt.Topic, seen[rt.Topic])}
		case err == nil:
			err = s.addPartitions(rt.Topic, rt.Count, req.ValidateOnly)
		}
		if err != nil {
			st.ErrorCode = errCode(err).Code
			st.ErrorMessage = errMessage(err)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return respond(resp), nil
}

func checkAssignment(rt kmsg.CreatePartitionsRequestTopic) error {
	for i, a := range rt.Assignment {
		if len(a.Replicas) != 1 || a.Replicas[0] != nodeID {
			return &codedError{kerr.InvalidReplicaAssignment, fmt.Sprintf("new partition %d: replicas %v; the only broker is %d", i, a.Replicas, nodeID)}
		}
	}
	return nil
}
