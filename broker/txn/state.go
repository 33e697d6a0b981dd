package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/twmb/franz-go/pkg/kerr"
)

// cachedBatches is how many batches per producer are remembered, as in
// Kafka (and why clients allow at most five requests in flight).
const cachedBatches = 5

// batchMeta is what is remembered of one appended batch.
type batchMeta struct {
	firstSeq, lastSeq int32
	baseOffset        int64
}

// producer is the state of one producer id in one partition.
type producer struct {
	epoch int16
	// batches are the last appended batches, oldest first.
	batches []batchMeta
	// lastTimestamp is the max timestamp of its last batch (ms), for
	// expiry.
	lastTimestamp int64
}

// PartitionState is the idempotence state of one partition. It is not safe
// for concurrent use: the caller holds the partition's append lock around
// Check, the append and Update, so they happen in log order.
//
// Its own mutex only makes MarshalBinary safe to call from another
// goroutine (a snapshotter) while the produce path runs.
type PartitionState struct {
	// mu guards the fields below.
	mu        sync.Mutex
	producers map[int64]*producer
	// nextOffset is one past the last batch Update has seen, and lastCRC
	// that batch's CRC: a snapshot is valid for a log only if the log
	// still holds that batch.
	nextOffset int64
	lastCRC    uint32
}

// NewPartitionState returns an empty state.
func NewPartitionState() *PartitionState {
	return &PartitionState{producers: make(map[int64]*producer)}
}

// lastSeq is the sequence of the batch's last record.
func lastSeq(h record.Header) int32 { return addSeq(h.BaseSequence, h.LastOffsetDelta) }

// addSeq adds to a sequence number, wrapping past MaxInt32 to 0.
func addSeq(seq, n int32) int32 {
	if int64(seq)+int64(n) > math.MaxInt32 {
		return int32(int64(seq) + int64(n) - math.MaxInt32 - 1)
	}
	return seq + n
}

// Check decides whether a batch with header h may be appended. It returns
// dup true and the base offset of the earlier copy when h is a retry of a
// batch already in the log: the produce must then succeed with that offset
// and append nothing. A rejected batch gets an error that is a *kerr.Error
// (OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH), wrapped with detail; test with errors.Is. Batches
// without a producer id always pass.
func (s *PartitionState) Check(h record.Header) (dupBase int64, dup bool, err error) {
	if h.ProducerID < 0 {
		return 0, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.producers[h.ProducerID]
	switch {
	case p == nil:
		// Kafka 2.5+ (KIP-360) accepts any sequence from a producer it has
		// no state for (its batches were removed by retention or
		// DeleteRecords, or it expired): refusing it makes clients treat
		// the partition as having lost data, and renumbering from 0
		// would let retries in flight be written twice.
		return 0, false, nil
	case h.ProducerEpoch < p.epoch:
		return 0, false, fmt.Errorf("txn: producer %d epoch %d is older than the current epoch %d: %w",
			h.ProducerID, h.ProducerEpoch, p.epoch, kerr.InvalidProducerEpoch)
	case h.ProducerEpoch > p.epoch:
		if h.BaseSequence != 0 {
			return 0, false, fmt.Errorf("txn: producer %d starts epoch %d at sequence %d, not 0: %w",
				h.ProducerID, h.ProducerEpoch, h.BaseSequence, kerr.OutOfOrderSequenceNumber)
		}
		return 0, false, nil
	}
	last := lastSeq(h)
	for _, b := range p.batches {
		if b.firstSeq == h.BaseSequence && b.lastSeq == last {
			return b.baseOffset, true, nil
		}
	}
	if len(p.batches) == 0 {
		return 0, false, nil
	}
	if want := addSeq(p.batches[len(p.batches)-1].lastSeq, 1); h.BaseSequence != want {
		return 0, false, fmt.Errorf("txn: producer %d epoch %d sent sequence %d, expected %d: %w",
			h.ProducerID, h.ProducerEpoch, h.BaseSequence, want, kerr.OutOfOrderSequenceNumber)
	}
	return 0, false, nil
}

// CheckBatches checks the batches hs of one produce to the partition as
// if each accepted one were appended after the one before, and returns the
// first error Check would give, without changing s. The produce path calls
// it before appending a request's batches, so that a refused batch leaves
// the earlier ones of the same request unwritten, as in Kafka.
func (s *PartitionState) CheckBatches(hs []record.Header) error {
	sim := NewPartitionState()
	s.mu.Lock()
	for _, h := range hs {
		if p := s.producers[h.ProducerID]; p != nil && sim.producers[h.ProducerID] == nil {
			cp := *p
			cp.batches = slices.Clone(p.batches)
			sim.producers[h.ProducerID] = &cp
		}
	}
	s.mu.Unlock()
	var next int64
	for _, h := range hs {
		_, dup, err := sim.Check(h)
		if err != nil {
			return err
		}
		if !dup {
			sim.Update(h, next)
			next += int64(h.LastOffsetDelta) + 1
		}
	}
	return nil
}

// Update records that the batch with header h was appended at baseOffset.
// Call it after every successful append, including batches without a
// producer id (so that NextOffset stays current), in log order.
func (s *PartitionState) Update(h record.Header, baseOffset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if end := baseOffset + int64(h.LastOffsetDelta) + 1; end >= s.nextOffset {
		s.nextOffset, s.lastCRC = end, h.CRC
	}
	if h.ProducerID < 0 || h.IsControl() {
		return
	}
	p := s.producers[h.ProducerID]
	if p == nil {
		p = &producer{epoch: h.ProducerEpoch}
		s.producers[h.ProducerID] = p
	}
	if h.ProducerEpoch != p.epoch {
		p.epoch = h.ProducerEpoch
		p.batches = p.batches[:0]
	}
	if len(p.batches) == cachedBatches {
		copy(p.batches, p.batches[1:])
		p.batches = p.batches[:cachedBatches-1]
	}
	p.batches = append(p.batches, batchMeta{firstSeq: h.BaseSequence, lastSeq: lastSeq(h), baseOffset: baseOffset})
	p.lastTimestamp = max(p.lastTimestamp, h.MaxTimestamp)
}

// NextOffset is the offset after the last batch the state has seen: a
// restored snapshot is brought up to date by passing every batch from here
// to the log end to Update.
func (s *PartitionState) NextOffset() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextOffset
}

// LastCRC is the CRC of the batch that ends at NextOffset-1.
func (s *PartitionState) LastCRC() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastCRC
}

// Producers returns the number of producers with state.
func (s *PartitionState) Producers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.producers)
}

// Expire forgets producers whose last batch is older than now-after, as
// Kafka does after transactional.id.expiration.ms (producer.id.expiration.ms
// in later versions). A forgotten producer that sends again is accepted
// at whatever sequence it sends, and its state starts over from there.
func (s *PartitionState) Expire(now time.Time, after time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := now.Add(-after).UnixMilli()
	n := 0
	for id, p := range s.producers {
		if p.lastTimestamp < limit {
			delete(s.producers, id)
			n++
		}
	}
	return n
}

// Snapshot format: a table of fixed-size big-endian fields.
//
//	| field        | type   |
//	|--------------|--------|
//	| version      | int8   | 1
//	| nextOffset   | int64  |
//	| lastCRC      | uint32 | CRC of the batch ending at nextOffset-1
//	| producers    | int32  | count, then per producer, by id:
//	|   id         | int64  |
//	|   epoch      | int16  |
//	|   lastTime   | int64  | ms
//	|   batches    | int8   | count (<= 5), then per batch:
//	|     firstSeq | int32  |
//	|     lastSeq  | int32  |
//	|     offset   | int64  |
//	| crc          | uint32 | CRC-32C of everything before it
const snapshotVersion = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrBadSnapshot is returned by UnmarshalBinary for bytes that are not a
// snapshot.
var ErrBadSnapshot = errors.New("txn: bad producer state snapshot")

// MarshalBinary encodes the state as a snapshot.
func (s *PartitionState) MarshalBinary() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := []byte{snapshotVersion}
	b = binary.BigEndian.AppendUint64(b, uint64(s.nextOffset))
	b = binary.BigEndian.AppendUint32(b, s.lastCRC)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.producers)))
	for _, id := range slices.Sorted(maps.Keys(s.producers)) {
		p := s.producers[id]
		b = binary.BigEndian.AppendUint64(b, uint64(id))
		b = binary.BigEndian.AppendUint16(b, uint16(p.epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(p.lastTimestamp))
		b = append(b, byte(len(p.batches)))
		for _, m := range p.batches {
			b = binary.BigEndian.AppendUint32(b, uint32(m.firstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(m.lastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.baseOffset))
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary replaces the state with a snapshot from MarshalBinary.
func (s *PartitionState) UnmarshalBinary(b []byte) error {
	if len(b) < 1+8+4+4+4 {
		return fmt.Errorf("%w: %d bytes", ErrBadSnapshot, len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}
	if body[0] != snapshotVersion {
		return fmt.Errorf("%w: version %d", ErrBadSnapshot, body[0])
	}
	r := body[1:]
	next := int64(binary.BigEndian.Uint64(r))
	lastCRC := binary.BigEndian.Uint32(r[8:])
	n := binary.BigEndian.Uint32(r[12:])
	r = r[16:]
	const producerSize, batchSize = 8 + 2 + 8 + 1, 4 + 4 + 8
	if uint64(n)*producerSize > uint64(len(r)) {
		return fmt.Errorf("%w: %d producers in %d bytes", ErrBadSnapshot, n, len(r))
	}
	producers := make(map[int64]*producer, n)
	for range n {
		if len(r) < producerSize {
			return fmt.Errorf("%w: truncated", ErrBadSnapshot)
		}
		id := int64(binary.BigEndian.Uint64(r))
		p := &producer{epoch: int16(binary.BigEndian.Uint16(r[8:])), lastTimestamp: int64(binary.BigEndian.Uint64(r[10:]))}
		nb := int(r[18])
		r = r[producerSize:]
		if nb > cachedBatches || len(r) < nb*batchSize {
			return fmt.Errorf("%w: producer %d has %d batches", ErrBadSnapshot, id, nb)
		}
		for range nb {
			p.batches = append(p.batches, batchMeta{
				firstSeq:   int32(binary.BigEndian.Uint32(r)),
				lastSeq:    int32(binary.BigEndian.Uint32(r[4:])),
				baseOffset: int64(binary.BigEndian.Uint64(r[8:])),
			})
			r = r[batchSize:]
		}
		producers[id] = p
	}
	if len(r) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadSnapshot, len(r))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.producers, s.nextOffset, s.lastCRC = producers, next, lastCRC
	return nil
}
