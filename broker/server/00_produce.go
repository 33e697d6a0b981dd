package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produce: key 0.
//
// Version notes (we serve v3+, the versions that carry record batch v2):
//   - v3: TransactionID; record batches v2 (magic 2) only.
//   - v4: no change (KAFKA_STORAGE_ERROR may be returned).
//   - v5: LogStartOffset per partition in the response.
//   - v6: throttle applied after the response.
//   - v7: no change (ZStandard allowed).
//   - v8: ErrorRecords and ErrorMessage per partition.
//   - v9: flexible.
//
// Every batch is checked with record.Check (record.Validate) before anything of the
// partition is written, and gets the partition leader epoch (0) written
// into its header, as Kafka's leader does; a partition's batches are appended in order on the
// connection's reading goroutine, so pipelined produces keep their order.
// acks=0 gets no response, acks=1 is answered after the append, acks=-1
// after the fsync when the policy is always (group commit through
// Log.Sync), else after the append. With the policy always the logs
// write behind (storage.Options.WriteBehind): the append copies the batch
// and the reading goroutine goes on to the next request while the
// group-commit leader writes and fsyncs; a reply that does not wait for
// Log.Sync calls Log.Flush first, so "appended" still means "in the file".

func (s *Server) handleProduce(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.ProduceRequest)
	resp := response[*kmsg.ProduceResponse](r)
	// toSync lists the partitions an acks=-1 reply waits for: indexes into
	// resp.Topics[ti].Partitions[pi], and the offset to make durable.
	type pending struct {
		ti, pi int
		log    *storage.Log
		last   int64
	}
	var toSync []pending
	// toFlush lists the partitions whose reply does not wait for an fsync:
	// their bytes must be in the file (write-behind) before it goes.
	var toFlush []pending
	var acks0Err error // the first partition's error, for acks=0
	waitFsync := req.Acks == -1 && s.cfg.Fsync.Mode == FsyncAlways
	acksValid := req.Acks == 0 || req.Acks == 1 || req.Acks == -1
	for ti, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			var (
				res storage.AppendResult
				p   *partition
				err error
			)
			if acksValid {
				res, p, err = s.produceTo(rt.Topic, rp.Partition, rp.Records)
			} else {
				err = &codedError{kerr.InvalidRequiredAcks, fmt.Sprintf("acks %d: use 0, 1 or -1", req.Acks)}
			}
			if err != nil {
				code := errCode(err)
				sp.ErrorCode = code.Code
				sp.ErrorMessage = errMessage(err)
				s.log.Debug("produce refused", "topic", rt.Topic, "partition", rp.Partition, "error", code.Message, "reason", err)
				if acks0Err == nil {
					acks0Err = fmt.Errorf("produce with acks=0 to %s partition %d refused, closing the connection so the client refreshes its metadata (as Kafka does): %w", rt.Topic, rp.Partition, err)
				}
			} else {
				sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = res.BaseOffset, res.LogAppendTime, res.LogStartOffset
				if waitFsync {
					toSync = append(toSync, pending{ti: ti, pi: pi, log: p.log, last: res.LastOffset})
				} else {
					toFlush = append(toFlush, pending{ti: ti, pi: pi, log: p.log, last: res.LastOffset})
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	for _, pf := range toFlush {
		if err := pf.log.Flush(); err != nil {
			sp := &resp.Topics[pf.ti].Partitions[pf.pi]
			sp.ErrorCode = kerr.KafkaStorageError.Code
			sp.ErrorMessage = errMessage(fmt.Errorf("write: %w", err))
			sp.BaseOffset, sp.LogAppendTime = -1, -1
			s.log.Error("produce write failed", "dir", pf.log.Dir(), "err", err)
			if acks0Err == nil {
				acks0Err = fmt.Errorf("produce with acks=0 to %s partition %d failed, closing the connection: %w", pf.log.Dir(), resp.Topics[pf.ti].Partitions[pf.pi].Partition, err)
			}
		}
	}
	if req.Acks == 0 {
		// No response can carry the error, so the connection goes.
		return noResponse, acks0Err
	}
	if len(toSync) == 0 {
		return respond(resp), nil
	}
	return later(func(ctx context.Context) kmsg.Response {
		for _, ps := range toSync {
			if err := ps.log.Sync(ctx, ps.last+1); err != nil {
				sp := &resp.Topics[ps.ti].Partitions[ps.pi]
				sp.ErrorCode = kerr.KafkaStorageError.Code
				sp.ErrorMessage = errMessage(fmt.Errorf("fsync: %w", err))
				sp.BaseOffset, sp.LogAppendTime = -1, -1
				s.log.Error("produce fsync failed", "dir", ps.log.Dir(), "err", err)
			}
		}
		return resp
	}), nil
}

// produceTo validates the batches of one partition and appends them. It
// returns the result of the first batch's append, with LastOffset of the
// last batch, and the partition.
//
// This is the place for checks that need the batch headers before the
// append (producer ids and sequences, for idempotence).
func (s *Server) produceTo(topic string, index int32, records []byte) (storage.AppendResult, *partition, error) {
	t := s.topic(topic)
	if t == nil || index < 0 || int(index) >= len(t.parts) {
		return storage.AppendResult{}, nil, &codedError{kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q has no partition %d", topic, index)}
	}
	p := t.parts[index]
	if len(records) == 0 {
		return storage.AppendResult{}, nil, &codedError{kerr.InvalidRecord, "no record batches"}
	}
	batches, err := record.Split(records)
	if err != nil {
		return storage.AppendResult{}, nil, batchErr(err)
	}
	checked := make([]record.Checked, len(batches))
	for i, b := range batches {
		c, h, err := record.Check(b)
		if err != nil {
			return storage.AppendResult{}, nil, batchErr(err)
		}
		checked[i] = c
		if int64(len(b)) > t.settings.MaxMessageBytes {
			return storage.AppendResult{}, nil, &codedError{kerr.MessageTooLarge, fmt.Sprintf(
				"batch of %d bytes is larger than max.message.bytes %d", len(b), t.settings.MaxMessageBytes)}
		}
		if h.IsControl() {
			return storage.AppendResult{}, nil, &codedError{kerr.InvalidRecord, "clients may not produce control batches"}
		}
	}
	for _, b := range batches {
		// Producers send -1; consumers read the field as the records'
		// leader epoch, which must agree with what Metadata reports (the
		// Java client ignores metadata older than an epoch it has seen).
		// The CRC does not cover it.
		record.SetPartitionLeaderEpoch(b, leaderEpoch)
	}
	// Appended with Log.AppendChecked: storage does not check the CRC of
	// what record.Check has checked here.
	res, err := s.appendChecked(p, checked) // idempotence checks: 22_init_producer_id.go
	if err != nil {
		return storage.AppendResult{}, nil, err
	}
	return res, p, nil
}

// batchErr maps a record validation error to its Kafka code.
func batchErr(err error) error {
	code := kerr.CorruptMessage
	switch {
	case errors.Is(err, record.ErrLegacyFormat):
		code = kerr.UnsupportedForMessageFormat
	case errors.Is(err, record.ErrInvalidRecord):
		code = kerr.InvalidRecord
	case errors.Is(err, record.ErrUnsupportedCompression):
		code = kerr.UnsupportedCompressionType
	}
	return &codedError{code, err.Error()}
}

// storageErr maps an error of a partition log to its Kafka code.
func storageErr(err error) error {
	code := kerr.KafkaStorageError
	switch {
	case errors.Is(err, storage.ErrBatchTooLarge):
		code = kerr.MessageTooLarge
	case errors.Is(err, storage.ErrOffsetOutOfRange):
		code = kerr.OffsetOutOfRange
	case errors.Is(err, storage.ErrClosed):
		// The topic was deleted (or the broker is stopping) meanwhile.
		code = kerr.NotLeaderForPartition
	case errors.Is(err, record.ErrCorrupt):
		code = kerr.CorruptMessage
	case errors.Is(err, record.ErrTooLarge):
		// A stored compressed batch inflates past the lookup's limit.
		code = kerr.RecordListTooLarge
	}
	return &codedError{code, err.Error()}
}
