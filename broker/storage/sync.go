package storage

import (
	"context"
	"fmt"
)

// Sync returns once every offset below upTo is fsynced (upTo is capped at
// the end offset; pass AppendResult.LastOffset+1). Concurrent callers share
// fsyncs (group commit): one caller leads an fsync of the active segment
// while the others wait; a caller arriving while an fsync is in flight waits
// for it to end and, if it did not cover its data, for the next one, which
// then serves everyone who arrived meanwhile.
//
// ctx bounds the wait, not an fsync already started. A failed fsync fails
// the log (ErrLogFailed): after an fsync error the kernel may have dropped
// the dirty pages, so only reopening, which re-reads what is really on disk,
// is safe.
func (l *Log) Sync(ctx context.Context, upTo int64) error {
	l.mu.Lock()
	if len(l.segments) > 0 {
		upTo = min(upTo, l.endOffset())
	}
	for {
		if upTo <= l.durable {
			l.mu.Unlock()
			return nil
		}
		if err := l.usable(); err != nil {
			l.mu.Unlock()
			return err
		}
		if ch := l.syncing; ch != nil {
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return fmt.Errorf("storage: sync %s: %w", l.dir, ctx.Err())
			}
			l.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		l.syncing = ch
		target := l.endOffset()
		seg := l.active()
		seg.ref()
		l.mu.Unlock()

		err := seg.log.Sync()
		seg.unref()

		l.mu.Lock()
		l.syncing = nil
		close(ch)
		if err != nil {
			if l.failed == nil {
				l.failed = fmt.Errorf("storage: sync %s: %w", seg.path(logExt), err)
				l.logger.Error("log failed", "dir", l.dir, "err", l.failed)
			}
			continue
		}
		l.durable = max(l.durable, target)
	}
}

// DurableOffset returns the offset below which everything is fsynced.
func (l *Log) DurableOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable
}
