package record

import (
	"encoding/binary"
	"fmt"
)

// HeaderSize is the size in bytes of a v2 batch header, up to and including
// recordCount.
const HeaderSize = 61

// Byte positions of the header fields.
const (
	posBaseOffset      = 0
	posBatchLength     = 8
	posLeaderEpoch     = 12
	posMagic           = 16
	posCRC             = 17
	posAttributes      = 21
	posLastOffsetDelta = 23
	posBaseTimestamp   = 27
	posMaxTimestamp    = 35
	posProducerID      = 43
	posProducerEpoch   = 51
	posBaseSequence    = 53
	posRecordCount     = 57

	// lengthOverhead is the number of bytes not counted by batchLength.
	lengthOverhead = 12
	// minBatchLength is batchLength for a header with no records.
	minBatchLength = HeaderSize - lengthOverhead
)

// Attribute bits.
const (
	attrCompressionMask = 0x07
	attrTimestampType   = 0x08
	attrTransactional   = 0x10
	attrControl         = 0x20
)

// Compression is the codec of a batch's records (attributes bits 0-2).
type Compression int8

// The codecs Kafka defines.
const (
	CompressionNone   Compression = 0
	CompressionGzip   Compression = 1
	CompressionSnappy Compression = 2
	CompressionLZ4    Compression = 3
	CompressionZstd   Compression = 4
)

func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionGzip:
		return "gzip"
	case CompressionSnappy:
		return "snappy"
	case CompressionLZ4:
		return "lz4"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", int8(c))
}

// TimestampType says where a batch's timestamps come from (attributes bit 3).
type TimestampType int8

// The two timestamp types.
const (
	CreateTime    TimestampType = 0 // set by the producer
	LogAppendTime TimestampType = 1 // set by the broker, in maxTimestamp
)

func (t TimestampType) String() string {
	if t == LogAppendTime {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// Header is the decoded fixed header of a v2 batch.
type Header struct {
	BaseOffset           int64
	BatchLength          int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Compression returns the codec of the records.
func (h Header) Compression() Compression { return Compression(h.Attributes & attrCompressionMask) }

// TimestampType returns CreateTime or LogAppendTime.
func (h Header) TimestampType() TimestampType {
	if h.Attributes&attrTimestampType != 0 {
		return LogAppendTime
	}
	return CreateTime
}

// IsTransactional reports whether the batch belongs to a transaction.
func (h Header) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

// IsControl reports whether the batch holds control records (transaction
// markers) rather than user data.
func (h Header) IsControl() bool { return h.Attributes&attrControl != 0 }

// LastOffset returns the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Size returns the size of the whole batch in bytes, header included.
func (h Header) Size() int { return int(h.BatchLength) + lengthOverhead }

// ParseHeader decodes the first [HeaderSize] bytes of b. It checks only that
// they are there and that the magic byte is 2 (0 and 1 give
// [ErrLegacyFormat]); use [Validate] to check a whole batch.
func ParseHeader(b []byte) (Header, error) {
	if len(b) > posMagic {
		if m := int8(b[posMagic]); m == 0 || m == 1 {
			return Header{}, fmt.Errorf("record: magic %d: %w", m, ErrLegacyFormat)
		}
	}
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("record: %d bytes, a batch header needs %d: %w", len(b), HeaderSize, ErrCorrupt)
	}
	h := Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[posBaseOffset:])),
		BatchLength:          int32(binary.BigEndian.Uint32(b[posBatchLength:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[posLeaderEpoch:])),
		Magic:                int8(b[posMagic]),
		CRC:                  binary.BigEndian.Uint32(b[posCRC:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[posAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[posLastOffsetDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[posBaseTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[posMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[posProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[posProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[posBaseSequence:])),
		NumRecords:           int32(binary.BigEndian.Uint32(b[posRecordCount:])),
	}
	if h.Magic != 2 {
		return h, fmt.Errorf("record: magic %d, want 2: %w", h.Magic, ErrCorrupt)
	}
	return h, nil
}
