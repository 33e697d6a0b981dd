package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteTopics: key 20.
//
// Version notes:
//   - v1: ThrottleMillis.
//   - v2: throttle applied after the response.
//   - v3: no change.
//   - v4: flexible.
//   - v5: ErrorMessage per topic.
//   - v6: topics are named by name or by id (Topics replaces
//     TopicNames); the response carries the id.
//
// Deleting a topic removes it from the registry first (durably), then
// closes and deletes its partition logs.

func (s *Server) handleDeleteTopics(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.DeleteTopicsRequest)
	resp := response[*kmsg.DeleteTopicsResponse](r)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	if req.Version < 6 {
		for _, n := range req.TopicNames {
			targets = append(targets, target{name: &n})
		}
	} else {
		for _, t := range req.Topics {
			targets = append(targets, target{name: t.Topic, id: t.TopicID})
		}
	}
	for _, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = tg.name, tg.id
		name := ""
		if tg.name != nil {
			name = *tg.name
		} else if t := s.topicByID(tg.id); t != nil {
			name = t.meta.Name
			st.Topic = &name
		} else {
			st.ErrorCode = kerr.UnknownTopicID.Code
			st.ErrorMessage = errMessage(fmt.Errorf("no topic has id %x", tg.id))
			resp.Topics = append(resp.Topics, st)
			continue
		}
		t, err := s.deleteTopic(name)
		if err != nil && t.Name == "" {
			st.ErrorCode = topicErr(err).Code
			st.ErrorMessage = errMessage(err)
		} else {
			st.TopicID = t.ID
			if err != nil {
				// The topic is gone from the registry; only removing its
				// files failed. Report it, the client cannot retry.
				s.log.Error("delete topic files", "topic", name, "err", err)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return respond(resp), nil
}
