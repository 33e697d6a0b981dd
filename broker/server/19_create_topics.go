package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/millstream/millstream/broker/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopics: key 19.
//
// Version notes:
//   - v1: ValidateOnly; ErrorMessage per topic.
//   - v2: ThrottleMillis.
//   - v3: no change.
//   - v4: NumPartitions and ReplicationFactor may be -1 (broker default).
//   - v5: flexible; the response carries the partition count, replication
//     factor and every config of the created topic.
//   - v6: throttle applied after the response.
//   - v7: TopicID in the response.
//
// One broker holds one replica: replication factor 1 or -1 is accepted,
// anything larger gets INVALID_REPLICATION_FACTOR. A replica assignment
// is accepted when every partition lists only this broker.

func (s *Server) handleCreateTopics(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.CreateTopicsRequest)
	resp := response[*kmsg.CreateTopicsResponse](r)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		fail := func(code *kerr.Error, msg string) {
			st.ErrorCode = code.Code
			st.ErrorMessage = &msg
			st.NumPartitions, st.ReplicationFactor = -1, -1
		}
		partitions, err := s.checkCreateTopic(rt)
		var cfgs map[string]string
		if err == nil {
			cfgs, err = createConfigs(rt.Configs)
		}
		switch {
		case seen[rt.Topic] > 1:
			fail(kerr.InvalidRequest, fmt.Sprintf("topic %q appears %d times in the request", rt.Topic, seen[rt.Topic]))
		case err != nil:
			fail(errCode(err), err.Error())
		default:
			t, err := s.createTopic(rt.Topic, partitions, cfgs, req.ValidateOnly)
			if err != nil {
				fail(topicErr(err), err.Error())
				break
			}
			st.TopicID = t.ID
			st.NumPartitions = t.Partitions
			st.ReplicationFactor = 1
			for _, e := range s.topicConfigEntries(t.Configs) {
				c := kmsg.NewCreateTopicsResponseTopicConfig()
				c.Name, c.Value, c.Source, c.ReadOnly = e.name, &e.value, int8(e.source), e.readOnly
				st.Configs = append(st.Configs, c)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return respond(resp), nil
}

// codedError carries a Kafka error code with a message for the client.
type codedError struct {
	code *kerr.Error
	msg  string
}

func (e *codedError) Error() string { return e.msg }

// errCode returns the Kafka error of err: its own code for a
// *codedError, else as topicErr maps it.
func errCode(err error) *kerr.Error {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return topicErr(err)
}

// checkCreateTopic validates the partition count, replication factor and
// assignment of one topic and returns the partition count to create.
func (s *Server) checkCreateTopic(rt kmsg.CreateTopicsRequestTopic) (int32, error) {
	switch rf := rt.ReplicationFactor; {
	case rf == 1 || rf == -1:
	case rf > 1:
		return 0, &codedError{kerr.InvalidReplicationFactor, fmt.Sprintf(
			"replication factor %d is larger than the 1 broker available; use 1 (or -1 for the default)", rf)}
	default:
		return 0, &codedError{kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor %d: must be 1 or -1", rf)}
	}
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return 0, &codedError{kerr.InvalidRequest, "with a replica assignment, the partition count and replication factor must be -1"}
		}
		for i, a := range rt.ReplicaAssignment {
			if a.Partition != int32(i) {
				return 0, &codedError{kerr.InvalidReplicaAssignment, fmt.Sprintf("assignment lists partition %d where %d was expected", a.Partition, i)}
			}
			if len(a.Replicas) != 1 || a.Replicas[0] != nodeID {
				return 0, &codedError{kerr.InvalidReplicaAssignment, fmt.Sprintf("partition %d: replicas %v; the only broker is %d", i, a.Replicas, nodeID)}
			}
		}
		return int32(len(rt.ReplicaAssignment)), nil
	}
	n := rt.NumPartitions
	if n == -1 {
		n = s.cfg.DefaultPartitions
	}
	if n < 1 || n > s.cfg.MaxPartitionsPerTopic {
		return 0, &codedError{kerr.InvalidPartitions, fmt.Sprintf("partition count %d: must be 1 to %d (max-partitions-per-topic), or -1 for the default", rt.NumPartitions, s.cfg.MaxPartitionsPerTopic)}
	}
	return n, nil
}

func createConfigs(in []kmsg.CreateTopicsRequestTopicConfig) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for _, c := range in {
		if c.Value == nil {
			return nil, &codedError{kerr.InvalidConfig, fmt.Sprintf("config %q: null value", c.Name)}
		}
		if err := metadata.ValidateConfig(c.Name, *c.Value); err != nil {
			return nil, &codedError{kerr.InvalidConfig, err.Error()}
		}
		out[c.Name] = *c.Value
	}
	return out, nil
}
