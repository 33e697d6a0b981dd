package server

import (
	"context"
	"errors"

	"github.com/millstream/millstream/broker/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata: key 3.
//
// Version notes:
//   - v0: an empty topic list means every topic.
//   - v1: a null list means every topic, an empty one none; ControllerID,
//     IsInternal and broker Rack in the response.
//   - v2: ClusterID.
//   - v3: ThrottleMillis.
//   - v4: AllowAutoTopicCreation (before v4 auto-creation is implied).
//   - v5: OfflineReplicas.
//   - v6: throttle applied after the response.
//   - v7: LeaderEpoch per partition.
//   - v8: authorized operations requested and returned (we return the
//     "not computed" default).
//   - v9: flexible.
//   - v10: topic ids (we return real UUIDs; a request may name a topic by
//     id instead of by name).
//   - v11: cluster authorized operations removed.
//
// This broker is node 0, the controller, and the leader of every
// partition, with itself as the only replica.

func (s *Server) handleMetadata(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.MetadataRequest)
	resp := response[*kmsg.MetadataResponse](r)
	host, port := s.advertisedHostPort()
	resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: nodeID, Host: host, Port: port}}
	cid := s.reg.ClusterID()
	resp.ClusterID = &cid
	resp.ControllerID = nodeID

	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, t := range s.topicList() {
			resp.Topics = append(resp.Topics, s.metadataTopic(t))
		}
		return respond(resp), nil
	}
	autoCreate := s.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			// Asked by id (v10+).
			if t := s.topicByID(rt.TopicID); t != nil {
				resp.Topics = append(resp.Topics, s.metadataTopic(t))
				continue
			}
			mt := kmsg.NewMetadataResponseTopic()
			mt.TopicID = rt.TopicID
			mt.ErrorCode = kerr.UnknownTopicID.Code
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		name := *rt.Topic
		t := s.topic(name)
		if t == nil && autoCreate {
			_, err := s.createTopic(name, s.cfg.DefaultPartitions, nil, false)
			if err != nil && !errors.Is(err, metadata.ErrTopicExists) {
				mt := kmsg.NewMetadataResponseTopic()
				mt.Topic = &name
				mt.ErrorCode = topicErr(err).Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			t = s.topic(name)
		}
		if t == nil {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic = &name
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		resp.Topics = append(resp.Topics, s.metadataTopic(t))
	}
	return respond(resp), nil
}

// nodeID is this broker's id; a single node is always 0.
const nodeID int32 = 0

// leaderEpoch is the leader epoch of every partition: one node leads each
// partition for its whole life, so the epoch never changes. Metadata and
// ListOffsets report it, and every appended batch carries it (as Kafka's
// leader writes its epoch into each batch).
const leaderEpoch int32 = 0

func (s *Server) metadataTopic(t *topicState) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.meta.Name
	mt.Topic = &name
	mt.TopicID = t.meta.ID
	for i := range t.meta.Partitions {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition = i
		p.Leader = nodeID
		p.LeaderEpoch = leaderEpoch
		p.Replicas = []int32{nodeID}
		p.ISR = []int32{nodeID}
		p.OfflineReplicas = []int32{}
		mt.Partitions = append(mt.Partitions, p)
	}
	return mt
}
