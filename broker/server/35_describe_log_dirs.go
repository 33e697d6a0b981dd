package server

import (
	"context"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeLogDirs: key 35.
//
// Version notes:
//   - v1: throttle applied after the response.
//   - v2: flexible.
//   - v3: top-level ErrorCode (Kafka 3.1; not advertised).
//   - v4: TotalBytes and UsableBytes (not advertised).
//
// The broker has one log directory, the data directory. A null topic list
// describes every partition; unknown topics and partitions are left out,
// as Kafka does.

func (s *Server) handleDescribeLogDirs(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.DescribeLogDirsRequest)
	resp := response[*kmsg.DescribeLogDirsResponse](r)
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = s.cfg.DataDir
	if abs, err := filepath.Abs(s.cfg.DataDir); err == nil {
		dir.Dir = abs
	}
	add := func(t *topicState, parts []int32) {
		dt := kmsg.NewDescribeLogDirsResponseDirTopic()
		dt.Topic = t.meta.Name
		for _, i := range parts {
			if i < 0 || int(i) >= len(t.parts) {
				continue
			}
			dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			dp.Partition = i
			dp.Size = t.parts[i].log.Size()
			dt.Partitions = append(dt.Partitions, dp)
		}
		dir.Topics = append(dir.Topics, dt)
	}
	if req.Topics == nil {
		for _, t := range s.topicList() {
			all := make([]int32, len(t.parts))
			for i := range all {
				all[i] = int32(i)
			}
			add(t, all)
		}
	} else {
		for _, rt := range req.Topics {
			if t := s.topic(rt.Topic); t != nil {
				add(t, rt.Partitions)
			}
		}
	}
	resp.Dirs = append(resp.Dirs, dir)
	return respond(resp), nil
}
