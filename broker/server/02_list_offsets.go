package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets: key 2.
//
// Version notes:
//   - v0: MaxNumOffsets; the answer is a list of offsets (OldStyleOffsets).
//   - v1: one Offset and its Timestamp replace the list.
//   - v2: IsolationLevel; ThrottleMillis.
//   - v3: throttle applied after the response.
//   - v4: CurrentLeaderEpoch in the request, LeaderEpoch in the response.
//   - v5: no change.
//   - v6: flexible.
//
// Timestamp -2 asks for the log start offset, -1 for the end offset (the
// high watermark and, without transactions, the last stable offset), any
// other value for the first record at or after it (the time index, through
// Log.OffsetForTime); none that new gives offset -1.

// Special ListOffsets timestamps.
const (
	listLatest   = -1
	listEarliest = -2
)

func (s *Server) handleListOffsets(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.ListOffsetsRequest)
	resp := response[*kmsg.ListOffsetsResponse](r)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			offset, ts, err := s.listOffset(rt.Topic, rp.Partition, rp.Timestamp)
			switch {
			case err != nil:
				sp.ErrorCode = errCode(err).Code
				sp.Offset, sp.Timestamp = -1, -1
			case req.Version == 0:
				if offset >= 0 && rp.MaxNumOffsets > 0 {
					sp.OldStyleOffsets = []int64{offset}
				}
			default:
				sp.Offset, sp.Timestamp, sp.LeaderEpoch = offset, ts, leaderEpoch
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return respond(resp), nil
}

// listOffset resolves one ListOffsets query to (offset, timestamp).
func (s *Server) listOffset(topic string, index int32, ts int64) (int64, int64, error) {
	p := s.partition(topic, index)
	if p == nil {
		return 0, 0, &codedError{kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q has no partition %d", topic, index)}
	}
	switch {
	case ts == listEarliest:
		return p.log.StartOffset(), -1, nil
	case ts == listLatest:
		return p.log.EndOffset(), -1, nil
	case ts < 0:
		return 0, 0, &codedError{kerr.InvalidRequest, fmt.Sprintf("timestamp %d: use -2 (earliest), -1 (latest) or milliseconds", ts)}
	}
	offset, at, found, err := p.log.LookupTimestamp(ts)
	if err != nil {
		return 0, 0, storageErr(err)
	}
	if !found {
		return -1, -1, nil
	}
	return offset, at, nil
}
