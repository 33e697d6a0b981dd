package storage

import "fmt"

// Write-behind (Options.WriteBehind): Append copies the batch into l.pend
// and returns; the bytes reach the .log file in one write when someone
// needs them there:
//   - Sync, before its fsync (the group-commit leader writes what every
//     waiter appended, then fsyncs once);
//   - Flush, for a caller that answers without an fsync (acks=1);
//   - a read or a time lookup whose range takes in unwritten bytes;
//   - Append itself before a roll, when the buffer is full, or when
//     write-behind is off;
//   - TruncateTo, DeleteRecords, EnforceRetention and Close, first.
//
// Locks: flushMu is taken before mu, never the other way round. A flush
// holds flushMu across its write and mu only to take the buffer and to
// record the result, so appends go on while it writes.

// maxPending is the most bytes Append leaves unwritten; past it Append
// writes them itself first.
const maxPending = 16 << 20

// Flush writes every appended byte that write-behind still holds in memory
// to the .log file (without fsync: use Sync for durability). Without
// write-behind it has nothing to do. A write error fails the log
// (ErrLogFailed).
func (l *Log) Flush() error {
	return l.flush(true)
}

// flush is Flush; trim says whether to trim the page cache behind the
// written bytes (trimWritten), which Sync, about to fsync them and drop the
// pages after, does not need. The trim runs after flushMu is released: its
// wait for the kernel's writeback holds up no other flush.
func (l *Log) flush(trim bool) error {
	l.flushMu.Lock()
	t, err := l.writeHeld(trim)
	l.flushMu.Unlock()
	t.run()
	return err
}

// writeHeld writes what write-behind holds and returns the page-cache work
// due after it if trim is set. l.flushMu held, not l.mu.
func (l *Log) writeHeld(trim bool) (pageTrim, error) {
	l.mu.Lock()
	if l.wseg == nil {
		err := l.failed
		l.mu.Unlock()
		if err != nil {
			return pageTrim{}, fmt.Errorf("storage: flush %s: %w: %w", l.dir, ErrLogFailed, err)
		}
		return pageTrim{}, nil
	}
	buf, seg, pos := l.pend, l.wseg, l.wpos
	limit := l.opts.SegmentBytes
	l.pend = nil // appends during the write take a buffer of their own
	seg.ref()
	l.mu.Unlock()

	err := seg.write(buf, pos, limit)
	n := len(buf)
	l.bufs.put(buf)

	l.mu.Lock()
	err = l.wrote(seg, pos, n, err)
	var t pageTrim
	if err == nil && trim {
		t = l.trimWritten(seg, pos+int64(n))
	}
	l.mu.Unlock()
	seg.unref() // t holds a reference of its own
	return t, err
}

// writePending writes the buffered bytes while holding the locks, for
// operations that must see the whole log in its file. l.flushMu and l.mu
// held.
func (l *Log) writePending() error {
	if l.wseg == nil {
		return nil
	}
	buf, seg, pos := l.pend, l.wseg, l.wpos
	l.pend = nil
	err := seg.write(buf, pos, l.opts.SegmentBytes)
	l.bufs.put(buf)
	return l.wrote(seg, pos, len(buf), err)
}

// wrote records the outcome of writing n buffered bytes at pos of seg.
// l.mu held.
func (l *Log) wrote(seg *segment, pos int64, n int, err error) error {
	if err != nil {
		// The bytes after pos have offsets already; the log cannot go on
		// without them. Reopening recovers what is on disk.
		l.pend, l.wseg = nil, nil
		if l.failed == nil {
			l.failed = fmt.Errorf("storage: write %s at byte %d: %w", seg.path(logExt), pos, err)
			l.logger.Error("log failed", "dir", l.dir, "err", l.failed)
		}
		return fmt.Errorf("storage: flush %s: %w: %w", l.dir, ErrLogFailed, l.failed)
	}
	l.wpos = pos + int64(n)
	if len(l.pend) == 0 {
		l.wseg = nil
	}
	return nil
}

// unwritten reports whether bytes of seg below limit may not be in its file
// yet. l.mu held.
func (l *Log) unwritten(seg *segment, limit int64) bool {
	return seg == l.wseg && limit > l.wpos
}
