package storage

import (
	"fmt"

	"github.com/millstream/millstream/broker/record"
)

// TruncateTo removes the end of the log: every batch that holds an offset at
// or after offset, so that the next append gets the returned new end offset.
// A batch that straddles offset is removed whole, so the new end is its base
// offset, at or below offset. It is what a replication follower does when
// its log diverged from the leader's. The truncation is durable when it
// returns. offset at or past the end changes nothing; a truncation that
// would cut below the log start offset is ErrOffsetOutOfRange. An I/O error
// fails the log (ErrLogFailed) and may leave it cut partway (never below the
// batch holding offset); reopening it shows what is on disk.
func (l *Log) TruncateTo(offset int64) (int64, error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	if err := l.writePending(); err != nil {
		return 0, err
	}
	end := l.endOffset()
	if offset >= end {
		return end, nil
	}
	if offset < l.start {
		return 0, fmt.Errorf("storage: truncate %s to %d, log holds [%d, %d): %w", l.dir, offset, l.start, end, ErrOffsetOutOfRange)
	}
	i := l.segmentFor(offset)
	seg := l.segments[i]
	cut, newEnd, offsets, times, err := l.cutPoint(seg, offset)
	if err != nil {
		return 0, err
	}
	if newEnd < l.start {
		return 0, fmt.Errorf("storage: truncate %s to %d would cut the batch at %d, below the log start offset %d: %w", l.dir, offset, newEnd, l.start, ErrOffsetOutOfRange)
	}
	// From here on offsets at and after newEnd are not durable, whether
	// or not the truncation completes.
	l.durable = min(l.durable, newEnd)
	l.truncations++
	fail := func(err error) (int64, error) {
		l.failed = err
		l.logger.Error("log failed", "dir", l.dir, "err", err)
		return 0, fmt.Errorf("storage: truncate %s: %w: %w", l.dir, ErrLogFailed, err)
	}

	// Later segments go first, durably: a crash part-way leaves a longer
	// log, never a hole.
	later := append([]*segment(nil), l.segments[i+1:]...)
	l.segments = l.segments[:i+1]
	for _, s := range later {
		l.size -= s.size
	}
	if failed, err := l.removeFiles(later); err != nil {
		l.pending = append(l.pending, failed...)
		return fail(err)
	}

	// The segment holding offset becomes the active one again, cut at cut.
	act := seg
	if seg.sealed {
		f, err := l.fs.OpenReadWrite(seg.path(logExt))
		if err != nil {
			return fail(fmt.Errorf("storage: open %s: %w", seg.path(logExt), err))
		}
		act = newSegment(l.dir, seg.base, f)
		l.segments[i] = act
		seg.unref() // readers in flight keep the old handles until done
	}
	l.size -= seg.size - cut
	if err := act.truncate(cut); err != nil {
		return fail(fmt.Errorf("storage: truncate %s to %d: %w", act.path(logExt), cut, err))
	}
	if err := act.log.Sync(); err != nil {
		return fail(fmt.Errorf("storage: sync %s: %w", act.path(logExt), err))
	}
	if err := l.resume(act, offsets, times, cut); err != nil {
		return fail(err)
	}
	l.logger.Info("truncated log", "dir", l.dir, "to", newEnd, "segments_removed", len(later))
	return newEnd, nil
}

// cutPoint finds where to cut seg to drop offset and everything after: the
// byte position, the new end offset, and the index entries that stay
// valid. l.mu held.
func (l *Log) cutPoint(seg *segment, offset int64) (cut, newEnd int64, offsets []offsetEntry, times []timeEntry, err error) {
	var oi offsetIndex = seg.mem
	if seg.sealed {
		oi = seg.files
	}
	start, err := seg.indexStart(oi, offset)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	fr := newFrames(seg.log, seg.path(logExt), seg.size, scanWindow)
	cut, h, ok, err := fr.find(start, func(h record.Header) bool { return h.LastOffset() >= offset })
	if err != nil {
		return 0, 0, nil, nil, err
	}
	newEnd = seg.end
	if ok {
		newEnd = h.BaseOffset
	}
	if !seg.sealed {
		for _, e := range seg.mem.offsets {
			if int64(e.pos) < cut {
				offsets = append(offsets, e)
			}
		}
		for _, e := range seg.mem.times {
			if seg.base+int64(e.rel) < newEnd {
				times = append(times, e)
			}
		}
		return cut, newEnd, offsets, times, nil
	}
	for j := range seg.files.nOffsets {
		e, err := seg.files.offsetAt(j)
		if err != nil {
			return 0, 0, nil, nil, fmt.Errorf("storage: read %s: %w", seg.path(indexExt), err)
		}
		if int64(e.pos) >= cut {
			break
		}
		offsets = append(offsets, e)
	}
	for j := range seg.files.nTimes {
		e, err := seg.files.timeAt(j)
		if err != nil {
			return 0, 0, nil, nil, fmt.Errorf("storage: read %s: %w", seg.path(timeIndexExt), err)
		}
		if seg.base+int64(e.rel) < newEnd {
			times = append(times, e)
		}
	}
	return cut, newEnd, offsets, times, nil
}
