package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/vfs"
)

// recoveryWindow is the read size of the recovery scan.
const recoveryWindow = 1 << 20

// Open opens the log in dir, creating the directory and an empty log if
// needed. After an unclean stop (no clean-shutdown marker) it re-scans the
// active segment, checking every batch (frame and CRC-32C, offsets rising),
// cuts off the first torn or corrupt
// batch and everything after it, rebuilds the segment's indexes and fsyncs
// what is left. Closed segments are trusted (they were fsynced when closed);
// a closed segment whose index files are missing or malformed gets them
// rebuilt.
func Open(dir string, opts Options) (*Log, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	fsys := opts.FS
	if err := makeDir(fsys, dir); err != nil {
		return nil, err
	}
	l := &Log{
		dir:      dir,
		fs:       fsys,
		now:      opts.Now,
		logger:   opts.Logger,
		opts:     opts,
		appended: make(chan struct{}),
		bufs:     opts.Buffers,
	}
	if l.bufs == nil {
		l.bufs = NewBuffers(2)
	}
	bases, clean, err := l.scanDir()
	if err != nil {
		return nil, err
	}
	storedStart, err := readStartOffset(fsys, dir)
	if err != nil {
		return nil, err
	}
	if err := l.openSegments(bases, clean, max(storedStart, 0)); err != nil {
		for _, s := range l.segments {
			s.unref()
		}
		return nil, err
	}
	for _, s := range l.segments {
		l.size += s.size
	}
	end := l.endOffset()
	l.start = max(storedStart, l.segments[0].base)
	if l.start > end {
		// The start offset was made durable but appends below it were
		// lost in a crash: continue from the start offset.
		l.logger.Warn("log start offset is past the recovered end; continuing from it", "dir", dir, "start", l.start, "end", end)
		if err := l.roll(l.start); err != nil {
			return nil, l.abandon(err)
		}
		if err := l.removeSegments(l.dropFirst(len(l.segments) - 1)); err != nil {
			return nil, l.abandon(err)
		}
	}
	// Segments wholly below a durable start offset are left over from a
	// DeleteRecords whose deletions did not all reach the disk.
	n := 0
	for n < len(l.segments)-1 && l.segments[n].end <= l.start {
		n++
	}
	below := l.dropFirst(n)
	l.durable = l.endOffset()
	if err := l.removeSegments(below); err != nil {
		return nil, l.abandon(err)
	}
	if clean {
		// A later crash must not find a stale marker.
		name := filepath.Join(dir, cleanFile)
		if err := fsys.Remove(name); err != nil {
			return nil, l.abandon(fmt.Errorf("storage: remove %s: %w", name, err))
		}
		if err := fsys.SyncDir(dir); err != nil {
			return nil, l.abandon(fmt.Errorf("storage: sync directory %s: %w", dir, err))
		}
	}
	return l, nil
}

// abandon closes the files of a log that failed to open.
func (l *Log) abandon(err error) error {
	for _, s := range append(l.segments, l.pending...) {
		s.unref()
	}
	l.segments, l.pending = nil, nil
	return err
}

// scanDir lists the segment base offsets in dir and removes leftovers: temp
// files, and index files without a .log (from a crash while deleting).
func (l *Log) scanDir() (bases []int64, clean bool, err error) {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return nil, false, fmt.Errorf("storage: list %s: %w", l.dir, err)
	}
	logs := map[int64]bool{}
	for _, n := range names {
		if b, ok := parseSegmentName(n, logExt); ok {
			logs[b] = true
			bases = append(bases, b)
		}
	}
	for _, n := range names {
		stale := strings.HasSuffix(n, tmpExt)
		for _, ext := range []string{indexExt, timeIndexExt} {
			if b, ok := parseSegmentName(n, ext); ok && !logs[b] {
				stale = true
			}
		}
		if n == cleanFile {
			clean = true
		}
		if stale {
			if err := l.fs.Remove(filepath.Join(l.dir, n)); err != nil {
				return nil, false, fmt.Errorf("storage: remove leftover %s: %w", n, err)
			}
		}
	}
	slices.Sort(bases)
	return bases, clean, nil
}

// openSegments opens the sealed segments and the active one, or creates the
// first segment at firstBase in an empty directory.
func (l *Log) openSegments(bases []int64, clean bool, firstBase int64) error {
	if len(bases) == 0 {
		seg, err := createSegment(l.fs, l.dir, firstBase)
		if err != nil {
			return err
		}
		l.segments = []*segment{seg}
		return nil
	}
	for i, base := range bases[:len(bases)-1] {
		seg, err := l.openSealed(base, bases[i+1])
		if err != nil {
			return err
		}
		l.segments = append(l.segments, seg)
	}
	seg, err := l.openActive(bases[len(bases)-1], clean)
	if err != nil {
		return err
	}
	l.segments = append(l.segments, seg)
	return nil
}

// openSealed opens a closed segment, which ends where the next one begins.
func (l *Log) openSealed(base, next int64) (*segment, error) {
	name := filepath.Join(l.dir, segmentName(base)+logExt)
	f, err := l.fs.Open(name)
	if err != nil {
		return nil, fmt.Errorf("storage: open segment %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: stat %s: %w", name, err)
	}
	seg := newSegment(l.dir, base, f)
	seg.size, seg.end = st.Size(), next
	files, err := l.openIndexFiles(seg)
	if err != nil {
		l.logger.Warn("rebuilding the indexes of a closed segment", "segment", name, "reason", err)
		if err := l.rebuildSealed(seg); err != nil {
			seg.unref()
			return nil, err
		}
		if files, err = l.openIndexFiles(seg); err != nil {
			seg.unref()
			return nil, err
		}
	}
	seg.files, seg.mem, seg.sealed = files, nil, true
	if files.nTimes > 0 {
		e, err := files.timeAt(files.nTimes - 1)
		if err != nil {
			seg.unref()
			return nil, fmt.Errorf("storage: read %s: %w", seg.path(timeIndexExt), err)
		}
		seg.maxTS, seg.maxTSOffset = e.ts, base+int64(e.rel)
	}
	return seg, nil
}

// openIndexFiles opens and sanity-checks a segment's index files.
func (l *Log) openIndexFiles(seg *segment) (*fileIndex, error) {
	offs, err := l.fs.Open(seg.path(indexExt))
	if err != nil {
		return nil, err
	}
	times, err := l.fs.Open(seg.path(timeIndexExt))
	if err != nil {
		offs.Close()
		return nil, err
	}
	fi := &fileIndex{offsets: offs, times: times}
	bad := func(err error) (*fileIndex, error) {
		offs.Close()
		times.Close()
		return nil, err
	}
	ost, err := offs.Stat()
	if err != nil {
		return bad(err)
	}
	tst, err := times.Stat()
	if err != nil {
		return bad(err)
	}
	if ost.Size()%offsetEntrySize != 0 || tst.Size()%timeEntrySize != 0 {
		return bad(fmt.Errorf("index sizes %d and %d are not whole entries", ost.Size(), tst.Size()))
	}
	fi.nOffsets, fi.nTimes = int(ost.Size()/offsetEntrySize), int(tst.Size()/timeEntrySize)
	if fi.nOffsets > 0 {
		e, err := fi.offsetAt(fi.nOffsets - 1)
		if err != nil {
			return bad(err)
		}
		if int64(e.pos) >= seg.size || (seg.end > seg.base && int64(e.rel) >= seg.end-seg.base) {
			return bad(fmt.Errorf("last index entry %+v is outside the segment", e))
		}
	}
	if seg.size > 0 && fi.nTimes == 0 && fi.nOffsets > 0 {
		return bad(errors.New("time index is empty"))
	}
	return fi, nil
}

// rebuildSealed re-reads a closed segment to write its index files.
func (l *Log) rebuildSealed(seg *segment) error {
	end := seg.end
	size := seg.size
	seg.size, seg.end = 0, seg.base
	fr := newFrames(seg.log, seg.path(logExt), size, recoveryWindow)
	for pos := int64(0); pos < size; {
		h, err := fr.header(pos)
		if err != nil {
			// Reads will report the corruption where it is.
			l.logger.Error("closed segment is corrupt; indexing up to the damage", "segment", seg.path(logExt), "err", err)
			break
		}
		seg.add(pos, h, int64(h.Size()), l.opts.IndexIntervalBytes)
		pos += int64(h.Size())
	}
	seg.size, seg.end = size, end
	return seg.writeIndexes(l.fs)
}

// openActive opens the last segment. After a clean shutdown its index
// files are loaded and only the batches after the last index entry are
// walked; otherwise the whole segment is checked and cut at the first bad
// batch.
func (l *Log) openActive(base int64, clean bool) (*segment, error) {
	name := filepath.Join(l.dir, segmentName(base)+logExt)
	f, err := l.fs.OpenReadWrite(name)
	if err != nil {
		return nil, fmt.Errorf("storage: open segment %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: stat %s: %w", name, err)
	}
	seg := newSegment(l.dir, base, f)
	if clean {
		err := l.loadActive(seg, st.Size())
		if err == nil {
			return seg, nil
		}
		l.logger.Warn("clean-shutdown marker present but the active segment does not match its indexes; recovering", "segment", name, "err", err)
		seg.unref()
		if f, err = l.fs.OpenReadWrite(name); err != nil {
			return nil, fmt.Errorf("storage: open segment %s: %w", name, err)
		}
		seg = newSegment(l.dir, base, f)
	}
	if err := l.recoverActive(seg, st.Size()); err != nil {
		seg.unref()
		return nil, err
	}
	return seg, nil
}

// loadActive reads the index files written by Close into memory and walks
// the batches after the last offset entry.
func (l *Log) loadActive(seg *segment, size int64) error {
	seg.size = size
	fi, err := l.openIndexFiles(seg)
	if err != nil {
		return err
	}
	defer fi.offsets.Close()
	defer fi.times.Close()
	var offsets []offsetEntry
	var times []timeEntry
	for i := range fi.nOffsets {
		e, err := fi.offsetAt(i)
		if err != nil {
			return err
		}
		if n := len(offsets); n > 0 && (e.rel <= offsets[n-1].rel || e.pos <= offsets[n-1].pos) {
			return fmt.Errorf("%s: entry %d does not rise", seg.path(indexExt), i)
		}
		offsets = append(offsets, e)
	}
	for i := range fi.nTimes {
		e, err := fi.timeAt(i)
		if err != nil {
			return err
		}
		if n := len(times); n > 0 && e.ts <= times[n-1].ts {
			return fmt.Errorf("%s: entry %d does not rise", seg.path(timeIndexExt), i)
		}
		times = append(times, e)
	}
	return l.resume(seg, offsets, times, size)
}

// resume makes seg the active segment holding the first size bytes of its
// file, given the index entries known to be right for them: it walks the
// batches after the last offset entry to rebuild the rest, as Append did.
func (l *Log) resume(seg *segment, offsets []offsetEntry, times []timeEntry, size int64) error {
	seg.mem = &memIndex{offsets: offsets, times: times}
	seg.size, seg.end, seg.sinceIndex = 0, seg.base, 0
	seg.maxTS, seg.maxTSOffset, seg.firstTS = -1, seg.base, -1
	pos := int64(0)
	if n := len(offsets); n > 0 {
		last := offsets[n-1]
		pos = int64(last.pos)
		seg.end = seg.base + int64(last.rel)
	}
	if n := len(times); n > 0 {
		seg.maxTS, seg.maxTSOffset = times[n-1].ts, seg.base+int64(times[n-1].rel)
	}
	fr := newFrames(seg.log, seg.path(logExt), size, recoveryWindow)
	if size > 0 {
		h, err := fr.header(0)
		if err != nil {
			return err
		}
		seg.firstTS = min(max(h.MaxTimestamp, 0), l.now().UnixMilli())
	}
	// The walk starts at the batch of the last entry (sinceIndex is 0), so
	// add indexes the batches after it as Append did.
	for pos < size {
		h, err := fr.header(pos)
		if err != nil {
			return err
		}
		if h.BaseOffset < seg.end {
			return &CorruptError{File: seg.path(logExt), Pos: pos, Err: fmt.Errorf("batch at offset %d after offset %d", h.BaseOffset, seg.end)}
		}
		seg.add(pos, h, int64(h.Size()), l.opts.IndexIntervalBytes)
		pos += int64(h.Size())
	}
	seg.size = size
	return nil
}

// recoverActive checks every batch of the active segment, rebuilding its
// in-memory indexes, truncates the file at the first bad batch and fsyncs
// it.
func (l *Log) recoverActive(seg *segment, size int64) error {
	path := seg.path(logExt)
	fr := newFrames(seg.log, path, size, recoveryWindow)
	pos := int64(0)
	var bad error
	for pos < size {
		h, err := fr.header(pos)
		if err != nil {
			bad = err
			break
		}
		b, err := fr.batch(pos, h.Size())
		if err != nil {
			bad = err
			break
		}
		// Exactly Append's check: what Append took, recovery keeps.
		if _, err := record.ValidateFrame(b); err != nil {
			bad = &CorruptError{File: path, Pos: pos, Err: err}
			break
		}
		if h.BaseOffset < seg.end || !seg.fits(h.LastOffset()) {
			bad = &CorruptError{File: path, Pos: pos, Err: fmt.Errorf("batch at offset %d after offset %d", h.BaseOffset, seg.end)}
			break
		}
		if pos == 0 {
			seg.firstTS = min(max(h.MaxTimestamp, 0), l.now().UnixMilli())
		}
		seg.add(pos, h, int64(h.Size()), l.opts.IndexIntervalBytes)
		pos += int64(h.Size())
	}
	if bad != nil && !errors.Is(bad, ErrCorruptSegment) {
		return fmt.Errorf("storage: recover %s: %w", path, bad)
	}
	if pos < size {
		l.logger.Warn("recovery cut the active segment", "segment", path, "at", pos, "dropped_bytes", size-pos, "reason", bad)
		if err := seg.truncate(pos); err != nil {
			return fmt.Errorf("storage: recover %s: truncate to %d: %w", path, pos, err)
		}
	}
	seg.size = pos
	if err := seg.log.Sync(); err != nil {
		return fmt.Errorf("storage: recover %s: sync: %w", path, err)
	}
	return nil
}

// makeDir creates dir and any missing parents, and fsyncs the parent of each
// directory it created: otherwise a power loss could take a new partition's
// directory, with its fsynced segments, away.
func makeDir(fsys vfs.FS, dir string) error {
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := fsys.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: stat %s: %w", d, err)
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(created) == 0 {
		return nil
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("storage: create %s: %w", dir, err)
	}
	for _, d := range created {
		if err := fsys.SyncDir(filepath.Dir(d)); err != nil {
			return fmt.Errorf("storage: sync directory %s: %w", filepath.Dir(d), err)
		}
	}
	return nil
}
