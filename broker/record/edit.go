package record

import "encoding/binary"

// The Set functions below edit a batch in place. b must hold at least a whole
// header (check it with [Validate] first); they panic otherwise.

// SetBaseOffset writes the offset of the batch's first record. The CRC does
// not cover it.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[posBaseOffset:], uint64(offset))
}

// SetPartitionLeaderEpoch writes the leader epoch. The CRC does not cover it.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[posLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch's timestamps as LogAppendTime and stores
// ts (milliseconds) as its maxTimestamp, which clients then report as every
// record's timestamp. Both fields are covered by the CRC, so it is
// recomputed: b must be exactly one batch.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[posAttributes:])
	binary.BigEndian.PutUint16(b[posAttributes:], attrs|attrTimestampType)
	binary.BigEndian.PutUint64(b[posMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(b[posCRC:], checksum(b))
}
