package server

import (
	"context"
	"errors"
	"sync"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: key 22.
//
// Version notes:
//   - v1: throttle applied after the response.
//   - v2: flexible.
//   - v3: ProducerID and ProducerEpoch in the request (KIP-360, to recover
//     from UNKNOWN_PRODUCER_ID); a non-transactional producer gets a new id
//     anyway, as from Kafka.
//   - v4: PRODUCER_FENCED may be returned (transactions).
//
// Without a transactional id this returns a producer id never given
// before (ids are reserved durably in blocks) and epoch 0: what an
// idempotent producer needs. Transactional ids get INVALID_REQUEST until
// the transaction coordinator exists.

func (s *Server) handleInitProducerID(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.InitProducerIDRequest)
	return later(func(ctx context.Context) kmsg.Response {
		return s.coord.producers.InitProducerID(ctx, req)
	}), nil
}

// appendChecked appends the validated batches of one produce to p with
// the idempotence checks of package txn: a retry of a batch already in the
// log is not written again and gets the original offsets; a sequence gap,
// a stale epoch or an unknown producer are refused with their Kafka
// errors. Batches without a producer id are appended as they are. As in
// Kafka, every batch is checked before the first is appended, so a refused
// one leaves the others unwritten. It returns the result of the first
// batch with LastOffset and LogStartOffset of the last.
func (s *Server) appendChecked(p *partition, batches []record.Checked) (storage.AppendResult, error) {
	mu := s.partitionAppendLock(p.log)
	mu.Lock()
	defer mu.Unlock()
	st, err := s.coord.producers.Partition(p.topic, p.index, p.log)
	if err != nil {
		return storage.AppendResult{}, storageErr(err)
	}
	hs := make([]record.Header, len(batches))
	for i, b := range batches {
		if hs[i], err = record.ParseHeader(b.Bytes()); err != nil {
			return storage.AppendResult{}, batchErr(err)
		}
	}
	if len(batches) > 1 {
		if err := st.CheckBatches(hs); err != nil {
			return storage.AppendResult{}, producerErr(err)
		}
	}
	var first storage.AppendResult
	for i, b := range batches {
		res, err := s.appendOne(p, st, hs[i], b)
		if err != nil {
			return storage.AppendResult{}, err
		}
		if i == 0 {
			first = res
		}
		first.LastOffset = res.LastOffset
		first.LogStartOffset = res.LogStartOffset
	}
	return first, nil
}

// appendOne checks and appends one batch with header h; the caller holds
// the partition's append lock.
func (s *Server) appendOne(p *partition, st *txn.PartitionState, h record.Header, b record.Checked) (storage.AppendResult, error) {
	dupBase, dup, err := st.Check(h)
	if err != nil {
		return storage.AppendResult{}, producerErr(err)
	}
	if dup {
		s.log.Debug("duplicate batch not appended", "topic", p.topic, "partition", p.index,
			"producer_id", h.ProducerID, "sequence", h.BaseSequence, "offset", dupBase)
		return storage.AppendResult{
			BaseOffset:     dupBase,
			LastOffset:     dupBase + int64(h.LastOffsetDelta),
			LogAppendTime:  -1,
			LogStartOffset: p.log.StartOffset(),
		}, nil
	}
	res, err := p.log.AppendChecked(b)
	if err != nil {
		return res, storageErr(err)
	}
	// Append wrote the base offset (and maybe the log append time and a
	// new CRC) into b: read the header back as stored.
	if stored, err := record.ParseHeader(b.Bytes()); err == nil {
		st.Update(stored, res.BaseOffset)
	}
	return res, nil
}

// producerErr gives an idempotence check's error its Kafka code.
func producerErr(err error) error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return &codedError{ke, err.Error()}
	}
	return err
}

// partitionAppendLock returns the lock that orders the appends to l.
func (s *Server) partitionAppendLock(l *storage.Log) *sync.Mutex {
	s.coord.appendMu.Lock()
	defer s.coord.appendMu.Unlock()
	mu, ok := s.coord.appendLocks[l]
	if !ok {
		mu = &sync.Mutex{}
		s.coord.appendLocks[l] = mu
	}
	return mu
}

// deletePartition deletes p's log and forgets its producer state and append
// lock. It holds the append lock meanwhile, so no produce is between its
// idempotence check and its append when the state goes.
func (s *Server) deletePartition(p *partition) error {
	mu := s.partitionAppendLock(p.log)
	mu.Lock()
	defer mu.Unlock()
	err := p.delete()
	s.coord.producers.Remove(p.topic, p.index)
	s.coord.appendMu.Lock()
	delete(s.coord.appendLocks, p.log)
	s.coord.appendMu.Unlock()
	return err
}
