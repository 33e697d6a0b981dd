package storage

import (
	"fmt"

	"github.com/millstream/millstream/broker/record"
)

// OffsetForTime is [Log.LookupTimestamp] for callers that treat a failed
// lookup like a missing one; the error is logged.
func (l *Log) OffsetForTime(ts int64) (offset, timestamp int64, found bool) {
	offset, timestamp, found, err := l.LookupTimestamp(ts)
	if err != nil {
		l.logger.Error("offset for time", "dir", l.dir, "timestamp", ts, "err", err)
		return -1, -1, false
	}
	return offset, timestamp, found
}

// LookupTimestamp finds the first record with a timestamp at or after ts
// (milliseconds), for ListOffsets by timestamp: it picks the first segment
// whose newest batch reaches ts, narrows with the time and offset indexes,
// walks to the first batch whose maxTimestamp >= ts and, if that batch has
// CreateTime timestamps, to the first record in it at or after ts, as Kafka
// does; a compressed batch is decompressed for this, into at most
// max(64 MiB, 64 × max.message.bytes) bytes (an error wrapping record.ErrTooLarge beyond).
// Under LogAppendTime every record of the batch carries its maxTimestamp, so
// the answer is the batch's base offset. The offset is never below the log
// start offset. found is false if no record is that new.
func (l *Log) LookupTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, 0, false, fmt.Errorf("storage: %s: %w", l.dir, ErrClosed)
	}
	var seg *segment
	for _, s := range l.segments {
		if s.maxTS >= ts && s.end > l.start {
			seg = s
			break
		}
	}
	if seg == nil {
		l.mu.Unlock()
		return -1, -1, false, nil
	}
	start := l.start
	seg.ref()
	defer seg.unref()
	limit, sealed := seg.size, seg.sealed
	var startPos int64
	if !sealed {
		startPos, err = seg.timeStart(seg.mem, seg.mem, ts)
	}
	flush := l.unwritten(seg, limit)
	l.mu.Unlock()
	if flush {
		if ferr := l.Flush(); ferr != nil {
			return 0, 0, false, ferr
		}
	}
	if sealed {
		startPos, err = seg.timeStart(seg.files, seg.files, ts)
	}
	if err != nil {
		return 0, 0, false, err
	}

	fr := newFrames(seg.log, seg.path(logExt), limit, scanWindow)
	pos, h, ok, err := fr.find(startPos, func(h record.Header) bool {
		return h.MaxTimestamp >= ts && h.LastOffset() >= start
	})
	if err != nil || !ok {
		return -1, -1, false, err
	}
	offset, timestamp = h.BaseOffset, h.MaxTimestamp
	if h.TimestampType() == record.CreateTime {
		b, err := fr.batch(pos, h.Size())
		if err != nil {
			return 0, 0, false, err
		}
		if _, err := record.ValidateFrame(b); err != nil {
			return 0, 0, false, &CorruptError{File: seg.path(logExt), Pos: pos, Err: err}
		}
		for r, err := range record.DecompressedRecords(b, l.decompressLimit()) {
			if err != nil && h.Compression() == record.CompressionNone {
				return 0, 0, false, &CorruptError{File: seg.path(logExt), Pos: pos, Err: err}
			}
			if err != nil {
				// The frame and CRC are intact: the producer sent
				// records that do not decompress (or decompress to
				// more than the limit), which Append does not check.
				return 0, 0, false, fmt.Errorf("storage: %s: %s batch at byte %d: %w", seg.path(logExt), h.Compression(), pos, err)
			}
			if r.Timestamp >= ts && r.Offset >= start {
				offset, timestamp = r.Offset, r.Timestamp
				break
			}
		}
	}
	return max(offset, start), timestamp, true, nil
}

// timeStart returns the position to walk from to find the first batch with
// maxTimestamp >= ts. The caller holds Log.mu if the segment is active.
func (s *segment) timeStart(ti timeIndex, oi offsetIndex, ts int64) (int64, error) {
	e, ok, err := ti.lastBelow(ts)
	if err != nil {
		return 0, fmt.Errorf("storage: %s: %w", s.path(timeIndexExt), err)
	}
	if !ok {
		return 0, nil
	}
	return s.indexStart(oi, s.base+int64(e.rel))
}

// decompressLimit bounds the memory one lookup may inflate a compressed batch
// into: 64 times max.message.bytes, and at least
// record.DefaultMaxDecompressed (64 MiB), which leaves room for batches of
// highly compressible records while a decompression bomb fails.
func (l *Log) decompressLimit() int {
	return max(record.DefaultMaxDecompressed, 64*l.opts.MaxMessageBytes)
}
