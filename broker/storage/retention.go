package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
)

// DeleteRecords moves the log start offset up to before (DeleteRecords,
// and Kafka's kafka-delete-records): offsets below it can no longer be read.
// The new start offset is made durable before it returns. Segments that lie
// wholly below it are deleted; if that is every segment, a new empty
// segment is started at before. before above the end offset is
// ErrOffsetOutOfRange; before at or below the start offset changes nothing.
func (l *Log) DeleteRecords(before int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return err
	}
	// A roll below seals the active segment: its bytes go to the file
	// first.
	if err := l.writePending(); err != nil {
		l.mu.Unlock()
		return err
	}
	end := l.endOffset()
	if before > end || before < 0 {
		l.mu.Unlock()
		return fmt.Errorf("storage: delete records of %s before %d, log holds [%d, %d): %w", l.dir, before, l.start, end, ErrOffsetOutOfRange)
	}
	if before <= l.start {
		l.mu.Unlock()
		return nil
	}
	if err := writeStartOffset(l.fs, l.dir, before); err != nil {
		l.mu.Unlock()
		return err
	}
	l.start = before
	if before == end && l.active().size > 0 {
		if err := l.roll(end); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	n := 0
	for n < len(l.segments)-1 && l.segments[n].end <= before {
		n++
	}
	drop := l.dropFirst(n)
	l.mu.Unlock()
	return l.removeSegments(drop)
}

// EnforceRetention deletes the oldest segments that break the retention
// settings: those whose newest batch is older than RetentionMs, then those
// that keep the log above RetentionBytes. Only a prefix of the log is
// deleted; the active segment goes (after a roll) only when it has expired
// by time along with everything before it. The owner calls it
// periodically.
func (l *Log) EnforceRetention() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return err
	}
	// A roll below seals the active segment: its bytes go to the file
	// first.
	if err := l.writePending(); err != nil {
		l.mu.Unlock()
		return err
	}
	nowMs := l.now().UnixMilli()
	n := 0
	if l.opts.RetentionMs >= 0 {
		expired := func(s *segment) bool { return s.size > 0 && nowMs-s.maxTS > l.opts.RetentionMs.Milliseconds() }
		for n < len(l.segments) && expired(l.segments[n]) {
			n++
		}
		if n == len(l.segments) {
			if err := l.roll(l.endOffset()); err != nil {
				l.mu.Unlock()
				return err
			}
		}
	}
	if l.opts.RetentionBytes >= 0 {
		size := l.size
		for _, s := range l.segments[:n] {
			size -= s.size
		}
		for n < len(l.segments)-1 && size-l.segments[n].size >= l.opts.RetentionBytes {
			size -= l.segments[n].size
			n++
		}
	}
	drop := l.dropFirst(n)
	l.mu.Unlock()
	return l.removeSegments(drop)
}

// dropFirst takes the first n segments out of the log and moves the start
// offset past them. l.mu held; n < len(l.segments).
func (l *Log) dropFirst(n int) []*segment {
	if n == 0 {
		return nil
	}
	drop := append([]*segment(nil), l.segments[:n]...)
	l.segments = append(l.segments[:0:0], l.segments[n:]...)
	for _, s := range drop {
		l.size -= s.size
	}
	l.start = max(l.start, l.segments[0].base)
	return drop
}

// removeSegments deletes the files of segments already taken out of the log
// (and of those whose deletion failed before), and makes that durable.
// Readers still holding a segment finish first: its open files outlive the
// names. Segments whose files could not be removed durably stay pending and
// are tried again by the next call, which fails until they are gone.
func (l *Log) removeSegments(drop []*segment) error {
	l.mu.Lock()
	drop = append(l.pending, drop...)
	l.pending = nil
	l.mu.Unlock()
	failed, err := l.removeFiles(drop)
	if len(failed) > 0 {
		l.mu.Lock()
		l.pending = append(l.pending, failed...)
		l.mu.Unlock()
	}
	return err
}

// removeFiles removes the files of segments out of the log and fsyncs the
// directory, dropping the Log's reference to each segment removed; it
// returns those it could not remove.
func (l *Log) removeFiles(drop []*segment) ([]*segment, error) {
	if len(drop) == 0 {
		return nil, nil
	}
	var failed []*segment
	var errs []error
	for _, s := range drop {
		ok := true
		for _, ext := range []string{logExt, indexExt, timeIndexExt} {
			if err := l.fs.Remove(s.path(ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("storage: remove %s: %w", s.path(ext), err))
				ok = false
			}
		}
		if !ok {
			failed = append(failed, s)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		errs = append(errs, fmt.Errorf("storage: sync directory %s: %w", l.dir, err))
		failed = drop
	}
	for _, s := range drop {
		if !slices.Contains(failed, s) {
			l.logger.Info("deleted segment", "dir", l.dir, "segment", segmentName(s.base), "size", s.size)
			s.unref()
		}
	}
	return failed, errors.Join(errs...)
}
