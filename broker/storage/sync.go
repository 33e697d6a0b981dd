package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Sync returns once every offset below upTo is fsynced (upTo is capped at
// the end offset; pass AppendResult.LastOffset+1). Concurrent callers share
// fsyncs (group commit): one caller leads an fsync of the active segment
// while the others wait; a caller arriving while an fsync is in flight waits
// for it to end and, if it did not cover its data, for the next one, which
// then serves everyone who arrived meanwhile. Sync and SyncNotify share the
// same fsyncs.
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
		l.syncRound()
	}
}

// SyncNotify is Sync without a waiting caller: it returns at once and calls
// done once every offset below upTo is fsynced (done(nil)) or cannot be (the
// log failed or closed). done is called exactly once, on the caller's
// goroutine when nothing is left to wait for, else on the goroutine that ran
// the fsync; it must not block for long, since the next fsync of the log
// may be waiting for it, nor call the log's methods that wait for an fsync.
//
// The fsyncs are shared with Sync and with every other SyncNotify (group
// commit): at most one goroutine per log runs them, started when the first
// notification arrives and gone when none is left, so a producer that waits
// for durability costs no goroutine of its own. After an fsync, the
// notifications it served are called in the reverse order of the calls that
// made them, after the next fsync (for those it did not serve) has been
// handed to another goroutine: a caller that queues its answers in order
// sees the first of them last and can send them all at once.
func (l *Log) SyncNotify(upTo int64, done func(error)) {
	l.mu.Lock()
	if len(l.segments) > 0 {
		upTo = min(upTo, l.endOffset())
	}
	if upTo <= l.durable {
		l.mu.Unlock()
		done(nil)
		return
	}
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		done(err)
		return
	}
	l.waiters = append(l.waiters, syncWaiter{upTo: upTo, done: done})
	start := !l.leading
	l.leading = true
	l.mu.Unlock()
	if start {
		go l.lead()
	}
}

// syncWaiter is one SyncNotify call waiting for its fsync.
type syncWaiter struct {
	upTo int64
	done func(error)
	err  error // set when taken: what done is called with
}

// lead runs the next fsync for the waiters of SyncNotify: it waits for an
// fsync in flight to end, then runs one round unless nothing is left to do.
// syncRound starts the goroutine for the round after.
func (l *Log) lead() {
	l.mu.Lock()
	for {
		if len(l.waiters) == 0 {
			l.leading = false
			l.mu.Unlock()
			return
		}
		if err := l.usable(); err != nil {
			ready := l.takeWaiters(err)
			l.leading = false
			l.mu.Unlock()
			notify(ready)
			return
		}
		if ch := l.syncing; ch != nil {
			l.mu.Unlock()
			<-ch
			l.mu.Lock()
			continue
		}
		// This goroutine's round may leave waiters behind (data appended
		// while it ran): then syncRound hands them to a new leader before
		// calling back the served ones here.
		l.leading = false
		l.syncRound()
		l.mu.Unlock()
		return
	}
}

// syncRound writes what write-behind holds and fsyncs the active segment,
// then raises durable and calls back the SyncNotify waiters that fsync
// served. Called with l.mu held, no fsync in flight and the log usable; it
// returns with l.mu held, having released it meanwhile.
func (l *Log) syncRound() {
	ch := make(chan struct{})
	l.syncing = ch
	target, gen := l.endOffset(), l.truncations
	seg := l.active()
	synced := seg.size
	seg.ref()
	l.mu.Unlock()

	// Write what write-behind holds (everything up to target, and
	// whatever was appended since), then fsync it.
	err := l.Flush()
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
	ready := l.takeWaiters(l.usable())
	if len(l.waiters) > 0 && !l.leading {
		l.leading = true
		go l.lead()
	}
	l.mu.Unlock()
	// The waiters are released first: dropping pages is a system call
	// they need not wait for.
	notify(ready)
	if err == nil {
		l.dropCache(seg, synced)
	}
	seg.unref()
	l.mu.Lock()
}

// takeWaiters removes and returns the SyncNotify waiters that are served,
// each with the error to call it with: those whose offsets are durable, or
// that wait for offsets a truncation removed, with none; all others with
// err when it is set (the log failed or closed). l.mu held.
func (l *Log) takeWaiters(err error) []syncWaiter {
	if len(l.waiters) == 0 {
		return nil
	}
	end := int64(math.MaxInt64) // closed: only durable offsets are served
	if len(l.segments) > 0 {
		end = l.endOffset()
	}
	var ready []syncWaiter
	kept := l.waiters[:0]
	for _, w := range l.waiters {
		switch {
		case w.upTo <= l.durable || l.durable >= end:
			ready = append(ready, w)
		case err != nil:
			w.err = err
			ready = append(ready, w)
		default:
			kept = append(kept, w)
		}
	}
	clear(l.waiters[len(kept):])
	l.waiters = kept
	return ready
}

// notify calls back served waiters, the last caller first (see SyncNotify).
func notify(ready []syncWaiter) {
	for i := len(ready) - 1; i >= 0; i-- {
		ready[i].done(ready[i].err)
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
