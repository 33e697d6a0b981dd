package storage

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/vfs"
)

// Log is the log of one partition: a directory of segments. All methods are
// safe for concurrent use; appends serialize inside, reads run in parallel
// with appends and with each other.
type Log struct {
	dir    string
	fs     vfs.FS
	now    func() time.Time
	logger *slog.Logger

	// mu guards everything below and the mutable fields of the active
	// segment. It is held across the write of an append, never across the
	// fsync of Sync, and across the fsyncs of a roll (once per segment).
	mu       sync.Mutex
	opts     Options
	segments []*segment // by base offset; the last one is active
	start    int64      // log start offset
	size     int64      // bytes in all .log files
	closed   bool
	failed   error // sticky: set by a failed write or fsync
	// pending are segments taken out of the log whose files could not be
	// removed yet; removeSegments tries again.
	pending []*segment

	// appended is closed and replaced on an append, but only when someone
	// took it since the last time (appendedTaken), so appends with nobody
	// waiting allocate nothing.
	appended      chan struct{}
	appendedTaken bool

	// Group commit. durable: every offset below it is fsynced. syncing is
	// non-nil while an fsync is in flight and closed when it ends.
	// truncations counts TruncateTo calls: an fsync that started before
	// one must not raise durable, its offsets may have been reused.
	durable     int64
	syncing     chan struct{}
	truncations uint64

	// Write-behind (writebehind.go). pend holds appended bytes not yet
	// written, which go at wpos+(bytes being written) of wseg; wseg is nil
	// when every appended byte is in its file. While a flush writes
	// outside mu, wseg stays set and wpos is where that write starts.
	// pend comes from bufs, and goes back there once written.
	flushMu sync.Mutex
	pend    []byte
	bufs    *Buffers
	wseg    *segment
	wpos    int64
}

// AppendResult tells where a batch went.
type AppendResult struct {
	BaseOffset int64 // offset of the batch's first record
	LastOffset int64 // offset of its last record
	// LogAppendTime is the timestamp the broker stamped on the batch, in
	// milliseconds, or -1 under CreateTime.
	LogAppendTime  int64
	LogStartOffset int64 // the log start offset after the append
}

func (l *Log) active() *segment { return l.segments[len(l.segments)-1] }

// endOffset is the offset the next append gets. l.mu held.
func (l *Log) endOffset() int64 { return l.active().end }

// Append writes one batch, which must be a whole v2 batch (checked with
// record.Validate; Append itself checks the frame and CRC, see
// record.ValidateFrame), at the end of the log. It assigns the batch's offsets by
// writing its base offset into batch, in place, and under LogAppendTime
// stamps it (maxTimestamp, attributes, CRC), also in place; it does not keep
// batch after returning. The data is written but not fsynced: call Sync to
// make it durable.
//
// Errors: ErrBatchTooLarge, ErrClosed, ErrLogFailed (after a write error the
// log refuses appends until reopened).
func (l *Log) Append(batch []byte) (AppendResult, error) {
	// The same check as recovery's, so that nothing appended can be cut
	// off by a later recovery.
	h, err := record.ValidateFrame(batch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("storage: append to %s: %w", l.dir, err)
	}
	return l.append(batch, h)
}

// AppendChecked is Append for a batch that record.Check has validated
// already: it skips Append's check of the frame and CRC, which
// record.Validate includes, so the log keeps its guarantee that recovery
// never cuts off an appended batch. Only the header is read again, as the
// holder may have changed fields outside the CRC since (the partition
// leader epoch). Like Append, it writes the offsets into the batch in place
// and does not keep it.
func (l *Log) AppendChecked(c record.Checked) (AppendResult, error) {
	batch := c.Bytes()
	if batch == nil {
		return AppendResult{}, fmt.Errorf("storage: append to %s: no batch (a zero record.Checked): %w", l.dir, record.ErrCorrupt)
	}
	h, err := record.ParseHeader(batch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("storage: append to %s: %w", l.dir, err)
	}
	return l.append(batch, h)
}

// append writes batch, whose frame and CRC are checked, with header h.
func (l *Log) append(batch []byte, h record.Header) (AppendResult, error) {
	l.mu.Lock()
	res, t, err := l.appendLocked(batch, h)
	l.mu.Unlock()
	t.run()
	return res, err
}

// appendLocked is append with l.mu held; the page-cache work it returns
// (after a direct write) is for the caller to run once l.mu is released.
func (l *Log) appendLocked(batch []byte, h record.Header) (AppendResult, pageTrim, error) {
	var nowMs int64
	var seg *segment
	for {
		if err := l.usable(); err != nil {
			return AppendResult{}, pageTrim{}, err
		}
		if len(batch) > l.opts.MaxMessageBytes {
			return AppendResult{}, pageTrim{}, fmt.Errorf("storage: append to %s: batch of %d bytes, max.message.bytes is %d: %w", l.dir, len(batch), l.opts.MaxMessageBytes, ErrBatchTooLarge)
		}
		nowMs = l.now().UnixMilli()
		seg = l.active()
		needRoll := seg.size > 0 && (seg.size+int64(len(batch)) > l.opts.SegmentBytes ||
			!seg.fits(seg.end+int64(h.LastOffsetDelta)) ||
			nowMs-seg.firstTS >= l.opts.SegmentMs.Milliseconds())
		// Bytes left unwritten by write-behind go to the file first when
		// this batch will not join them: a roll seals the segment, and a
		// batch written directly must not land after a hole.
		if l.wseg != nil && (needRoll || !l.opts.WriteBehind || len(l.pend)+len(batch) > maxPending) {
			l.mu.Unlock()
			err := l.Flush()
			l.mu.Lock()
			if err != nil {
				return AppendResult{}, pageTrim{}, err
			}
			continue
		}
		if needRoll {
			if err := l.roll(seg.end); err != nil {
				return AppendResult{}, pageTrim{}, err
			}
			seg = l.active()
		}
		break
	}
	base := seg.end
	record.SetBaseOffset(batch, base)
	h.BaseOffset = base
	res := AppendResult{BaseOffset: base, LastOffset: h.LastOffset(), LogAppendTime: -1}
	if l.opts.LogAppendTime {
		record.SetLogAppendTime(batch, nowMs)
		h.MaxTimestamp = nowMs
		res.LogAppendTime = nowMs
	}
	pos := seg.size
	if l.opts.WriteBehind {
		if l.wseg == nil {
			l.wseg, l.wpos = seg, pos
		}
		if cap(l.pend) == 0 {
			l.pend = l.bufs.get()
		}
		l.pend = append(l.pend, batch...)
	} else {
		if err := seg.write(batch, pos, l.opts.SegmentBytes); err != nil {
			// Cut off whatever part of the batch landed; if even that
			// fails the tail of the file is unknown and only recovery
			// can fix it.
			if terr := seg.truncate(pos); terr != nil {
				l.failed = fmt.Errorf("storage: write %s: %w (and truncate: %v)", seg.path(logExt), err, terr)
				l.logger.Error("log failed", "dir", l.dir, "err", l.failed)
			}
			return AppendResult{}, pageTrim{}, fmt.Errorf("storage: write %s at byte %d: %w", seg.path(logExt), pos, err)
		}
	}
	if seg.size == 0 {
		seg.firstTS = nowMs
	}
	seg.add(pos, h, int64(len(batch)), l.opts.IndexIntervalBytes)
	l.size += int64(len(batch))
	res.LogStartOffset = l.start
	if l.appendedTaken {
		close(l.appended)
		l.appended = make(chan struct{})
		l.appendedTaken = false
	}
	var t pageTrim
	if !l.opts.WriteBehind {
		t = l.trimWritten(seg, seg.size)
	}
	return res, t, nil
}

// usable returns the error for an operation on a closed or failed log.
// l.mu held.
func (l *Log) usable() error {
	if l.closed {
		return fmt.Errorf("storage: %s: %w", l.dir, ErrClosed)
	}
	if l.failed != nil {
		return fmt.Errorf("storage: %s: %w: %w", l.dir, ErrLogFailed, l.failed)
	}
	return nil
}

// roll seals the active segment (writing its indexes and fsyncing it) and
// starts a new one at base. l.mu held.
func (l *Log) roll(base int64) error {
	old := l.active()
	if err := old.seal(l.fs, l.logger); err != nil {
		l.failed = err
		return fmt.Errorf("storage: roll %s: %w: %w", l.dir, ErrLogFailed, err)
	}
	seg, err := createSegment(l.fs, l.dir, base)
	if err != nil {
		l.failed = err
		return fmt.Errorf("storage: roll %s: %w: %w", l.dir, ErrLogFailed, err)
	}
	l.segments = append(l.segments, seg)
	l.durable = max(l.durable, old.end)
	l.logger.Debug("rolled segment", "dir", l.dir, "closed", segmentName(old.base), "size", old.size, "new", segmentName(base))
	return nil
}

// createSegment creates the .log file of a new segment and makes its name
// durable.
func createSegment(fsys vfs.FS, dir string, base int64) (*segment, error) {
	name := filepath.Join(dir, segmentName(base)+logExt)
	f, err := fsys.Create(name)
	if err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", name, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: sync directory %s: %w", dir, err)
	}
	return newSegment(dir, base, f), nil
}

// StartOffset returns the log start offset: the first offset that may be
// read.
func (l *Log) StartOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start
}

// EndOffset returns the log end offset: the offset the next append gets.
func (l *Log) EndOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segments) == 0 {
		return l.durable
	}
	return l.endOffset()
}

// Size returns the total size in bytes of the log's segment files.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// Appended returns a channel that is closed by the next append (or by
// Close). Take a new channel after each wake-up: a fetch long-poll waits on
// it with a timer.
func (l *Log) Appended() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.appendedTaken = true
	return l.appended
}

// SetOptions changes the options of an open log, for AlterConfigs. FS, Now
// and Logger cannot change and are ignored; zero fields take their default.
// Segment size and age apply from the next append, retention from the next
// EnforceRetention.
func (l *Log) SetOptions(opts Options) error {
	opts.FS, opts.Now, opts.Logger = l.fs, l.now, l.logger
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opts = opts
	return nil
}

// Options returns the log's current options.
func (l *Log) Options() Options {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.opts
}

// segmentFor returns the index of the segment that holds offset: the last
// one whose base is at or below it. l.mu held; offset >= the first base.
func (l *Log) segmentFor(offset int64) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset })
	return max(i-1, 0)
}

// Close writes the active segment's indexes, fsyncs everything, marks the
// shutdown clean and closes the files. Reads and syncs in flight finish;
// later calls return ErrClosed. Closing twice is a no-op.
func (l *Log) Close() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	var err error
	if l.failed == nil {
		err = l.writePending()
	}
	if err != nil {
		err = fmt.Errorf("storage: close %s: %w", l.dir, err)
	} else if l.failed == nil {
		if err = l.closeClean(); err == nil {
			l.durable = l.endOffset()
		}
	} else {
		err = fmt.Errorf("storage: close %s: %w: %w", l.dir, ErrLogFailed, l.failed)
	}
	segs := append(l.segments, l.pending...)
	l.segments, l.pending = nil, nil
	close(l.appended)
	l.appendedTaken = false
	l.mu.Unlock()
	for _, s := range segs {
		s.unref()
	}
	return err
}

// closeClean makes the active segment durable and writes the clean-shutdown
// marker. l.mu held.
func (l *Log) closeClean() error {
	if err := l.active().persist(l.fs, l.logger); err != nil {
		return err
	}
	if err := writeFile(l.fs, filepath.Join(l.dir, cleanFile), nil); err != nil {
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("storage: sync directory %s: %w", l.dir, err)
	}
	return nil
}

// Delete closes the log and removes its directory (DeleteTopics).
func (l *Log) Delete() error {
	cerr := l.Close()
	if err := l.fs.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("storage: delete %s: %w", l.dir, err)
	}
	if err := l.fs.SyncDir(filepath.Dir(l.dir)); err != nil {
		return fmt.Errorf("storage: sync directory %s: %w", filepath.Dir(l.dir), err)
	}
	if cerr != nil {
		l.logger.Warn("deleted a log that did not close cleanly", "dir", l.dir, "err", cerr)
	}
	return nil
}
