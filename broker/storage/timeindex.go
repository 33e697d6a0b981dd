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
// walks to the first batch whose maxTimestamp >= ts and, if that batch is
// uncompressed with CreateTime, to the first record in it at or after ts.
// For a compressed batch it answers with the batch's base offset and
// maxTimestamp. The offset is never below the log start offset. found is
// false if no record is that new.
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
	l.mu.Unlock()
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
	if h.Compression() == record.CompressionNone && h.TimestampType() == record.CreateTime {
		b, err := fr.batch(pos, h.Size())
		if err != nil {
			return 0, 0, false, err
		}
		if _, err := record.ValidateFrame(b); err != nil {
			return 0, 0, false, &CorruptError{File: seg.path(logExt), Pos: pos, Err: err}
		}
		for r, err := range record.Records(b) {
			if err != nil {
				return 0, 0, false, &CorruptError{File: seg.path(logExt), Pos: pos, Err: err}
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
