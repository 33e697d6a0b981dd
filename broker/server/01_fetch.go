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
//   - v7: fetch sessions (KIP-227). We never create one: the response's
//     SessionID is 0, so clients keep sending full fetch requests.
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
	if req.Version >= 7 && req.SessionID != 0 {
		// We never hand out session ids, so this one is not ours.
		resp := response[*kmsg.FetchResponse](r)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return respond(resp), nil
	}
	resp, bytes := s.fetchOnce(r, nil)
	if bytes >= int(req.MinBytes) || req.MaxWaitMillis <= 0 || len(req.Topics) == 0 || fetchFailed(resp) {
		return respond(resp), nil
	}
	return later(func(ctx context.Context) kmsg.Response {
		return s.fetchWait(ctx, r)
	}), nil
}

// fetchWait long-polls: it gathers again after every append to a requested
// partition until MinBytes are ready, MaxWaitMillis pass, the server stops
// or the connection goes.
func (s *Server) fetchWait(ctx context.Context, r *Request) kmsg.Response {
	req := r.Msg.(*kmsg.FetchRequest)
	timer := time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	defer timer.Stop()
	for {
		// Take the wake-up channels before reading, so an append between
		// the read and the wait is not missed.
		wake := make(chan struct{}, 1)
		stop := make(chan struct{})
		resp, bytes := s.fetchOnce(r, func(l *storage.Log) {
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
			resp, _ = s.fetchOnce(r, nil)
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

// fetchOnce reads what is available now. watch, when set, is called with
// the log of every requested partition before it is read.
func (s *Server) fetchOnce(r *Request, watch func(*storage.Log)) (*kmsg.FetchResponse, int) {
	req := r.Msg.(*kmsg.FetchRequest)
	resp := response[*kmsg.FetchResponse](r)
	maxBytes := int(req.MaxBytes)
	if req.Version < 3 || maxBytes <= 0 {
		maxBytes = int(s.cfg.MaxRequestSize)
	}
	total := 0
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		t := s.topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			// Never null: librdkafka refuses a record set of size -1.
			sp.RecordBatches = []byte{}
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.parts) {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			l := t.parts[rp.Partition].log
			if watch != nil {
				watch(l)
			}
			start, end := l.StartOffset(), l.EndOffset()
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = end, end, start
			if req.IsolationLevel == 1 {
				sp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			limit := min(int(rp.PartitionMaxBytes), maxBytes-total)
			if rp.FetchOffset < start || rp.FetchOffset > end {
				sp.ErrorCode = kerr.OffsetOutOfRange.Code
			} else if rp.FetchOffset < end && (limit > 0 || total == 0) {
				data, err := l.Read(rp.FetchOffset, max(limit, 1))
				switch {
				case errors.Is(err, storage.ErrOffsetOutOfRange):
					// Retention or DeleteRecords moved the start meanwhile.
					sp.ErrorCode = kerr.OffsetOutOfRange.Code
				case err != nil:
					sp.ErrorCode = errCode(storageErr(err)).Code
					if errors.Is(err, storage.ErrCorruptSegment) {
						s.log.Error("fetch hit a corrupt segment", "topic", rt.Topic, "partition", rp.Partition, "offset", rp.FetchOffset, "err", err)
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
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total
}
