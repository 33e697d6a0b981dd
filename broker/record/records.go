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
// is compressed yields a single error and stops; [DecompressedRecords] reads
// compressed batches too.
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
		yieldRecords(h, b[HeaderSize:], HeaderSize, yield)
	}
}

// DecompressedRecords is [Records] for batches of any codec: a compressed
// batch is decompressed with [Decompress] into a buffer of at most maxSize
// bytes ([DefaultMaxDecompressed] if maxSize <= 0), and the keys, values and
// header values it yields are sub-slices of that buffer; those of an
// uncompressed batch are sub-slices of b. Errors are those of [Records] and
// [Decompress] (a batch over the limit yields an error wrapping
// [ErrTooLarge]); the first one ends the iteration.
func DecompressedRecords(b []byte, maxSize int) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		h, err := checkFrame(b)
		if err != nil {
			yield(Record{}, err)
			return
		}
		if h.Compression() == CompressionNone {
			yieldRecords(h, b[HeaderSize:], HeaderSize, yield)
			return
		}
		body, err := Decompress(h.Compression(), b[HeaderSize:], maxSize)
		if err != nil {
			yield(Record{}, err)
			return
		}
		if int(h.NumRecords) > len(body)/minRecordSize {
			yield(Record{}, fmt.Errorf("record: %d records cannot fit in %d decompressed bytes: %w", h.NumRecords, len(body), ErrCorrupt))
			return
		}
		yieldRecords(h, body, 0, yield)
	}
}

// yieldRecords parses h.NumRecords records filling body exactly; at is the
// position of body in what the caller calls the batch, for error messages.
func yieldRecords(h Header, body []byte, at int, yield func(Record, error) bool) {
	pos := 0
	for i := int32(0); i < h.NumRecords; i++ {
		var rec Record
		n, err := parseRecord(body[pos:], &rec, true)
		if err != nil {
			yield(Record{}, fmt.Errorf("record: record %d at byte %d: %w", i, at+pos, err))
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
	if pos != len(body) {
		yield(Record{}, fmt.Errorf("record: %d bytes after the last record: %w", len(body)-pos, ErrCorrupt))
	}
}
