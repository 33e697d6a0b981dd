package server

import (
	"context"
	"errors"
	"time"

	"github.com/millstream/millstream/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch: key 1.
//
// Version notes (we serve v4+, the versions that carry record batch v2):
//   - v4: IsolationLevel; LastStableOffset and AbortedTransactions.
//   - v5: LogStartOffset in request and response.
//   - v6: no change.
//   - v7: fetch sessions (KIP-227): see fetch_sessions.go.
//   - v8: throttle applied after the response.
//   - v9: CurrentLeaderEpoch per partition (any value is accepted: this
//     broker leads every partition at epoch 0).
//   - v10: no change (ZStandard).
//   - v11: Rack; PreferredReadReplica (-1: read from the leader).
//   - v12: flexible; LastFetchedEpoch; diverging epoch (tagged, unused).
//
// Limits: a partition gets at most PartitionMaxBytes, the response at most
// MaxBytes, but the first partition with data always gets at least one
// whole batch so a consumer can make progress past a large batch. When
// fewer than MinBytes are ready the request waits up to MaxWaitMillis,
// woken by appends to any partition it asks for (Log.Appended), on its own
// goroutine so the connection keeps reading; a fetch in which any partition
// has an error (unknown, offset out of range) is answered at once, as by
// Kafka. With one node the high
// watermark is the log end offset, and without transactions the last
// stable offset equals it; IsolationLevel is accepted either way.

func (s *Server) handleFetch(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.FetchRequest)
	plan, code := s.planFetch(req) // fetch sessions: fetch_sessions.go
	if code != nil {
		resp := response[*kmsg.FetchResponse](r)
		resp.ErrorCode = code.Code
		return respond(resp), nil
	}
	resp, bytes := s.fetchOnce(r, plan.targets, nil)
	if bytes >= int(req.MinBytes) || req.MaxWaitMillis <= 0 || len(plan.targets) == 0 || fetchFailed(resp) {
		return respond(plan.finish(resp)), nil
	}
	return later(func(ctx context.Context) kmsg.Response {
		return plan.finish(s.fetchWait(ctx, r, plan.targets))
	}), nil
}

// fetchWait long-polls: it gathers again after every append to a requested
// partition until MinBytes are ready, MaxWaitMillis pass, the server stops
// or the connection goes.
func (s *Server) fetchWait(ctx context.Context, r *Request, targets []fetchTarget) *kmsg.FetchResponse {
	req := r.Msg.(*kmsg.FetchRequest)
	timer := time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	defer timer.Stop()
	for {
		// Take the wake-up channels before reading, so an append between
		// the read and the wait is not missed.
		wake := make(chan struct{}, 1)
		stop := make(chan struct{})
		resp, bytes := s.fetchOnce(r, targets, func(l *storage.Log) {
			ch := l.Appended()
			go func() {
				select {
				case <-ch:
					select {
					case wake <- struct{}{}:
					default:
					}
				case <-stop:
				}
			}()
		})
		if bytes >= int(req.MinBytes) || fetchFailed(resp) {
			close(stop)
			return resp
		}
		select {
		case <-wake:
			close(stop)
		case <-timer.C:
			close(stop)
			resp, _ = s.fetchOnce(r, targets, nil)
			return resp
		case <-s.stopping:
			close(stop)
			return resp
		case <-ctx.Done():
			close(stop)
			return resp
		}
	}
}

// fetchFailed reports whether any partition of resp has an error. As in
// Kafka, such a fetch is answered at once rather than after MaxWaitMillis:
// the client must learn of a deleted topic or an offset out of range
// without waiting.
func fetchFailed(resp *kmsg.FetchResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return true
			}
		}
	}
	return false
}

// fetchOnce reads what is available now from targets. watch, when set, is
// called with the log of every requested partition before it is read. The
// response lists the targets in order, consecutive partitions of a topic
// under one topic entry.
func (s *Server) fetchOnce(r *Request, targets []fetchTarget, watch func(*storage.Log)) (*kmsg.FetchResponse, int) {
	req := r.Msg.(*kmsg.FetchRequest)
	resp := response[*kmsg.FetchResponse](r)
	maxBytes := int(req.MaxBytes)
	if req.Version < 3 || maxBytes <= 0 {
		maxBytes = int(s.cfg.MaxRequestSize)
	}
	total := 0
	var (
		st *kmsg.FetchResponseTopic
		t  *topicState
	)
	for _, rp := range targets {
		if st == nil || st.Topic != rp.topic {
			resp.Topics = append(resp.Topics, kmsg.NewFetchResponseTopic())
			st = &resp.Topics[len(resp.Topics)-1]
			st.Topic = rp.topic
			t = s.topic(rp.topic)
		}
		sp := kmsg.NewFetchResponseTopicPartition()
		sp.Partition = rp.partition
		// Never null: librdkafka refuses a record set of size -1.
		sp.RecordBatches = []byte{}
		sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
		if t == nil || rp.partition < 0 || int(rp.partition) >= len(t.parts) {
			sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			st.Partitions = append(st.Partitions, sp)
			continue
		}
		l := t.parts[rp.partition].log
		if watch != nil {
			watch(l)
		}
		start, end := l.StartOffset(), l.EndOffset()
		sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = end, end, start
		if req.IsolationLevel == 1 {
			sp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
		}
		limit := min(int(rp.maxBytes), maxBytes-total)
		if rp.offset < start || rp.offset > end {
			sp.ErrorCode = kerr.OffsetOutOfRange.Code
		} else if rp.offset < end && (limit > 0 || total == 0) {
			data, err := l.Read(rp.offset, max(limit, 1))
			switch {
			case errors.Is(err, storage.ErrOffsetOutOfRange):
				// Retention or DeleteRecords moved the start meanwhile.
				sp.ErrorCode = kerr.OffsetOutOfRange.Code
			case err != nil:
				sp.ErrorCode = errCode(storageErr(err)).Code
				if errors.Is(err, storage.ErrCorruptSegment) {
					s.log.Error("fetch hit a corrupt segment", "topic", rp.topic, "partition", rp.partition, "offset", rp.offset, "err", err)
				}
			case len(data) > limit && total > 0:
				// Over the limit and not the first data of the
				// response: leave it for the next fetch.
			case len(data) > 0:
				sp.RecordBatches = data
				total += len(data)
			}
		}
		st.Partitions = append(st.Partitions, sp)
	}
	return resp, total
}
