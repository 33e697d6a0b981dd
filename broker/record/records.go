package record

import (
	"errors"
	"fmt"
	"iter"
)

// Records iterates over the records of b, one uncompressed batch, yielding
// each with its absolute offset and timestamp. Keys, values and header values
// are sub-slices of b. A batch that fails the checks of [Validate] (except the
// rule that offset deltas count 0, 1, 2..., which compacted batches break) or
// is compressed yields a single error and stops.
func Records(b []byte) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		h, err := checkFrame(b)
		if err == nil && h.Compression() != CompressionNone {
			err = fmt.Errorf("record: records of a %s batch: %w", h.Compression(), errors.ErrUnsupported)
		}
		if err != nil {
			yield(Record{}, err)
			return
		}
		pos := HeaderSize
		for i := int32(0); i < h.NumRecords; i++ {
			var rec Record
			n, err := parseRecord(b[pos:], &rec, true)
			if err != nil {
				yield(Record{}, fmt.Errorf("record: record %d at byte %d: %w", i, pos, err))
				return
			}
			pos += n
			rec.Offset += h.BaseOffset
			if h.TimestampType() == LogAppendTime {
				rec.Timestamp = h.MaxTimestamp
			} else {
				rec.Timestamp += h.BaseTimestamp
			}
			if !yield(rec, nil) {
				return
			}
		}
		if pos != len(b) {
			yield(Record{}, fmt.Errorf("record: %d bytes after the last record: %w", len(b)-pos, ErrCorrupt))
		}
	}
}
