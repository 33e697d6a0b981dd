package storage

import (
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/vfs"
)

// File name extensions of a segment.
const (
	logExt       = ".log"
	indexExt     = ".index"
	timeIndexExt = ".timeindex"
)

// segmentName is the 20-digit base offset that names a segment's files.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

// parseSegmentName returns the base offset of a file named like a segment
// file with extension ext.
func parseSegmentName(name, ext string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, ext)
	if !ok || len(stem) != 20 {
		return 0, false
	}
	base, err := strconv.ParseInt(stem, 10, 64)
	return base, err == nil && base >= 0
}

// segment is one .log file with its two indexes. While it is the active
// segment its mutable fields are guarded by Log.mu and its indexes live in
// memory; once closed (sealed) it never changes and needs no lock.
type segment struct {
	dir  string
	base int64
	log  vfs.File

	// Guarded by Log.mu while active; immutable once sealed.
	size        int64 // bytes of complete batches
	end         int64 // offset after the last batch; base when empty
	maxTS       int64 // largest maxTimestamp, -1 when empty
	maxTSOffset int64 // base offset of the batch that set maxTS
	firstTS     int64 // when the first batch came, for SegmentMs: the clock at its append (its maxTimestamp after a restart); -1 when empty
	sinceIndex  int64 // bytes appended since the last offset index entry
	sealed      bool
	uncachedTo  int64      // bytes below it were dropped from the page cache (cache.go); Log.mu
	writingTo   int64      // bytes below it were handed to the kernel's writeback (cache.go); Log.mu
	reserved    int64      // disk space of the .log file is reserved below it; who may touch it: see reserve (reserve.go)
	mem         *memIndex  // while active
	files       *fileIndex // once sealed

	// refs counts the Log's reference plus those of readers and syncers in
	// flight; the files are closed when it drops to zero.
	refs atomic.Int32
}

func (s *segment) path(ext string) string {
	return filepath.Join(s.dir, segmentName(s.base)+ext)
}

func newSegment(dir string, base int64, log vfs.File) *segment {
	s := &segment{dir: dir, base: base, log: log, end: base, maxTS: -1, maxTSOffset: base, firstTS: -1, mem: &memIndex{}}
	s.refs.Store(1)
	return s
}

// ref takes a reference; the caller must hold one already or Log.mu.
func (s *segment) ref() { s.refs.Add(1) }

// unref drops a reference, closing the files with the last one.
func (s *segment) unref() {
	if s.refs.Add(-1) == 0 {
		s.log.Close()
		if s.files != nil {
			s.files.offsets.Close()
			s.files.times.Close()
		}
	}
}

// fits reports whether a batch with these offsets can go into the segment
// without overflowing its 32-bit relative offsets.
func (s *segment) fits(lastOffset int64) bool { return lastOffset-s.base <= math.MaxInt32 }

// add records a batch of size bytes written at position pos: the indexes
// and the summary fields. The segment must be active.
func (s *segment) add(pos int64, h record.Header, size int64, interval int) {
	if s.sinceIndex >= int64(interval) {
		rel := uint32(h.BaseOffset - s.base)
		s.mem.offsets = append(s.mem.offsets, offsetEntry{rel: rel, pos: uint32(pos)})
		if s.maxTS >= 0 && (len(s.mem.times) == 0 || s.maxTS > s.mem.times[len(s.mem.times)-1].ts) {
			s.mem.times = append(s.mem.times, timeEntry{ts: s.maxTS, rel: uint32(s.maxTSOffset - s.base)})
		}
		s.sinceIndex = 0
	}
	s.sinceIndex += size
	if h.MaxTimestamp > s.maxTS {
		s.maxTS, s.maxTSOffset = h.MaxTimestamp, h.BaseOffset
	}
	if s.firstTS < 0 {
		s.firstTS = max(h.MaxTimestamp, 0)
	}
	s.size = pos + size
	s.end = h.LastOffset() + 1
}

// persist makes the segment durable as it stands, for a seal or a clean
// close: it writes the in-memory indexes to their files and fsyncs them,
// gives back the disk space reserved ahead of the log (a failure is only
// logged: the segment is fine with it), and fsyncs the log. Log.mu held,
// no write in flight.
func (s *segment) persist(fsys vfs.FS, logger *slog.Logger) error {
	if err := s.writeIndexes(fsys); err != nil {
		return err
	}
	if err := s.release(); err != nil {
		logger.Warn("segment keeps disk space reserved ahead of its end", "err", err)
	}
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("storage: sync %s: %w", s.path(logExt), err)
	}
	return nil
}

// seal persists the segment and switches it to the file indexes. Log.mu
// held.
func (s *segment) seal(fsys vfs.FS, logger *slog.Logger) error {
	if err := s.persist(fsys, logger); err != nil {
		return err
	}
	offs, err := fsys.Open(s.path(indexExt))
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", s.path(indexExt), err)
	}
	times, err := fsys.Open(s.path(timeIndexExt))
	if err != nil {
		offs.Close()
		return fmt.Errorf("storage: open %s: %w", s.path(timeIndexExt), err)
	}
	s.files = &fileIndex{offsets: offs, times: times, nOffsets: len(s.mem.offsets), nTimes: len(s.mem.times)}
	s.mem = nil
	s.sealed = true
	return nil
}

// writeIndexes writes the in-memory indexes to the segment's index files
// and fsyncs them. The time index ends with an entry for the segment's
// largest timestamp, so its last entry tells the segment's age after a
// restart.
func (s *segment) writeIndexes(fsys vfs.FS) error {
	if s.maxTS >= 0 && (len(s.mem.times) == 0 || s.maxTS > s.mem.times[len(s.mem.times)-1].ts) {
		s.mem.times = append(s.mem.times, timeEntry{ts: s.maxTS, rel: uint32(s.maxTSOffset - s.base)})
	}
	buf := make([]byte, 0, max(len(s.mem.offsets)*offsetEntrySize, len(s.mem.times)*timeEntrySize))
	for _, e := range s.mem.offsets {
		buf = appendOffsetEntry(buf, e)
	}
	if err := writeFile(fsys, s.path(indexExt), buf); err != nil {
		return err
	}
	buf = buf[:0]
	for _, e := range s.mem.times {
		buf = appendTimeEntry(buf, e)
	}
	return writeFile(fsys, s.path(timeIndexExt), buf)
}

// writeFile creates name with contents b and fsyncs it.
func writeFile(fsys vfs.FS, name string, b []byte) error {
	f, err := fsys.Create(name)
	if err != nil {
		return fmt.Errorf("storage: create %s: %w", name, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("storage: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("storage: sync %s: %w", name, err)
	}
	return f.Close()
}

// indexStart returns the position at which to start walking batches to find
// offset: that of the last index entry at or below it. The caller holds
// Log.mu if the segment is active.
func (s *segment) indexStart(idx offsetIndex, offset int64) (int64, error) {
	if offset <= s.base {
		return 0, nil
	}
	rel := uint32(min(offset-s.base, math.MaxUint32))
	e, ok, err := idx.floor(rel)
	if err != nil {
		return 0, fmt.Errorf("storage: %s: %w", s.path(indexExt), err)
	}
	if !ok {
		return 0, nil
	}
	return int64(e.pos), nil
}
