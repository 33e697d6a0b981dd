package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
		target, gen := l.endOffset(), l.truncations
		seg := l.active()
		synced := seg.size
		seg.ref()
		l.mu.Unlock()

		// Write what write-behind holds (everything up to target, and
		// whatever was appended since), then fsync it.
		err := l.flush(false)
		if err == nil {
			err = seg.log.Sync()
		}

		l.mu.Lock()
		l.syncing = nil
		close(ch)
		if err != nil {
			if l.failed == nil {
				l.failed = fmt.Errorf("storage: sync %s: %w", seg.path(logExt), err)
				l.logger.Error("log failed", "dir", l.dir, "err", l.failed)
			}
		} else if gen == l.truncations {
			l.durable = max(l.durable, target)
		}
		l.mu.Unlock()
		// The waiters are released first: dropping pages is a system call
		// they need not wait for.
		if err == nil {
			l.dropCache(seg, synced)
		}
		seg.unref()
		l.mu.Lock()
	}
}

// DurableOffset returns the offset below which everything is fsynced.
func (l *Log) DurableOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable
}

// SyncPoint names a prefix of one log to make durable: every offset below
// UpTo.
type SyncPoint struct {
	Log  *Log
	UpTo int64
}

// SyncAll makes every point durable, running the fsyncs of different logs
// at the same time (the file system can commit them together) rather than
// one after the other: a produce request that wrote to several partitions
// waits about one fsync, not one per partition. It returns once all are
// done, with the errors of those that failed joined. The goroutines it
// starts end before it returns.
func SyncAll(ctx context.Context, points ...SyncPoint) error {
	switch len(points) {
	case 0:
		return nil
	case 1:
		return points[0].Log.Sync(ctx, points[0].UpTo)
	}
	errs := make([]error, len(points))
	var wg sync.WaitGroup
	for i, p := range points[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = p.Log.Sync(ctx, p.UpTo)
		}()
	}
	errs[0] = points[0].Log.Sync(ctx, points[0].UpTo)
	wg.Wait()
	return errors.Join(errs...)
}
