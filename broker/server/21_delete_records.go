package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteRecords: key 21.
//
// Version notes:
//   - v1: throttle applied after the response.
//   - v2: flexible.
//
// Offset is the new log start offset; -1 means the high watermark (delete
// everything). The new start offset is durable before the response.

func (s *Server) handleDeleteRecords(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.DeleteRecordsRequest)
	resp := response[*kmsg.DeleteRecordsResponse](r)
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			if lw, err := s.deleteRecords(rt.Topic, rp.Partition, rp.Offset); err != nil {
				sp.ErrorCode = errCode(err).Code
			} else {
				sp.LowWatermark = lw
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return respond(resp), nil
}

func (s *Server) deleteRecords(topic string, index int32, before int64) (int64, error) {
	p := s.partition(topic, index)
	if p == nil {
		return 0, &codedError{kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q has no partition %d", topic, index)}
	}
	if before == -1 {
		before = p.log.EndOffset()
	}
	if before < 0 {
		return 0, &codedError{kerr.OffsetOutOfRange, fmt.Sprintf("offset %d: use -1 or an offset up to the end", before)}
	}
	if err := p.log.DeleteRecords(before); err != nil {
		return 0, storageErr(err)
	}
	s.log.Info("records deleted", "topic", topic, "partition", index, "before", before)
	return p.log.StartOffset(), nil
}
