package record

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one record of an uncompressed batch: what [Build] takes and what
// [Records] yields.
type Record struct {
	// Offset is the record's absolute offset. [Build] ignores it: records
	// get consecutive offsets from the batch's base offset.
	Offset int64
	// Timestamp in milliseconds since the epoch. Under LogAppendTime,
	// [Records] reports the batch's maxTimestamp for every record.
	Timestamp int64
	// Attributes is unused by Kafka and should be 0.
	Attributes int8
	// Key and Value; nil is null, distinct from empty.
	Key, Value []byte
	// Headers in order; keys may repeat.
	Headers []kmsg.Header
}

// Batch describes an uncompressed batch for [Batch.AppendTo].
type Batch struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	// Attributes may set the timestamp type, transactional and control bits;
	// the compression bits must be zero.
	Attributes    int16
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32
	Records       []Record
}

// Build returns an uncompressed batch of records with consecutive offsets
// from baseOffset, CreateTime timestamps, no producer id (-1) and leader epoch
// -1, with a correct CRC. It is the encoder for the broker's own logs.
func Build(baseOffset int64, records ...Record) ([]byte, error) {
	b := Batch{
		BaseOffset:           baseOffset,
		PartitionLeaderEpoch: -1,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		BaseSequence:         -1,
		Records:              records,
	}
	return b.AppendTo(nil)
}

// AppendTo appends the encoded batch to dst. The batch's baseTimestamp is the
// first record's timestamp and its maxTimestamp the largest.
func (b *Batch) AppendTo(dst []byte) ([]byte, error) {
	if len(b.Records) == 0 {
		return dst, fmt.Errorf("record: build a batch of no records: %w", ErrInvalidRecord)
	}
	if b.Attributes&attrCompressionMask != 0 {
		return dst, fmt.Errorf("record: build a compressed batch (attributes %#x): %w", b.Attributes, ErrUnsupportedCompression)
	}
	base := b.Records[0].Timestamp
	maxTS := base
	var body, scratch []byte
	for i := range b.Records {
		r := &b.Records[i]
		maxTS = max(maxTS, r.Timestamp)
		kr := kmsg.Record{
			Attributes:       r.Attributes,
			TimestampDelta64: r.Timestamp - base,
			OffsetDelta:      int32(i),
			Key:              r.Key,
			Value:            r.Value,
			Headers:          r.Headers,
		}
		// kmsg writes the Length field first; encode with a zero length
		// (one varint byte) to learn the size of the rest.
		scratch = kr.AppendTo(scratch[:0])
		body = binary.AppendVarint(body, int64(len(scratch)-1))
		body = append(body, scratch[1:]...)
	}
	kb := kmsg.RecordBatch{
		FirstOffset:          b.BaseOffset,
		Length:               int32(minBatchLength + len(body)),
		PartitionLeaderEpoch: b.PartitionLeaderEpoch,
		Magic:                2,
		Attributes:           b.Attributes,
		LastOffsetDelta:      int32(len(b.Records) - 1),
		FirstTimestamp:       base,
		MaxTimestamp:         maxTS,
		ProducerID:           b.ProducerID,
		ProducerEpoch:        b.ProducerEpoch,
		FirstSequence:        b.BaseSequence,
		NumRecords:           int32(len(b.Records)),
		Records:              body,
	}
	start := len(dst)
	dst = kb.AppendTo(dst)
	batch := dst[start:]
	binary.BigEndian.PutUint32(batch[posCRC:], checksum(batch))
	return dst, nil
}
