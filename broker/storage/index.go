package storage

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/millstream/millstream/broker/vfs"
)

// Sizes of one entry of each index file.
const (
	offsetEntrySize = 8  // relative offset uint32, position uint32
	timeEntrySize   = 12 // timestamp int64, relative offset uint32
)

// offsetEntry maps the base offset of a batch, relative to the segment's base
// offset, to the batch's byte position in the .log file.
type offsetEntry struct {
	rel uint32
	pos uint32
}

// timeEntry records that every batch before relative offset rel's batch has a
// maxTimestamp of at most ts, and that the batch at rel reached ts.
type timeEntry struct {
	ts  int64
	rel uint32
}

func appendOffsetEntry(b []byte, e offsetEntry) []byte {
	b = binary.BigEndian.AppendUint32(b, e.rel)
	return binary.BigEndian.AppendUint32(b, e.pos)
}

func appendTimeEntry(b []byte, e timeEntry) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
	return binary.BigEndian.AppendUint32(b, e.rel)
}

// The indexes of the active segment are kept in memory (memIndex); those of
// closed segments are read from their files with ReadAt (fileIndex), so
// memory does not grow with the number of segments.

// offsetIndex finds positions by offset.
type offsetIndex interface {
	// floor returns the last entry with rel <= target, ok false if none.
	floor(target uint32) (e offsetEntry, ok bool, err error)
}

// timeIndex finds offsets by timestamp.
type timeIndex interface {
	// lastBelow returns the last entry with ts < target, ok false if none.
	lastBelow(target int64) (e timeEntry, ok bool, err error)
}

type memIndex struct {
	offsets []offsetEntry
	times   []timeEntry
}

func (m *memIndex) floor(target uint32) (offsetEntry, bool, error) {
	i := sort.Search(len(m.offsets), func(i int) bool { return m.offsets[i].rel > target })
	if i == 0 {
		return offsetEntry{}, false, nil
	}
	return m.offsets[i-1], true, nil
}

func (m *memIndex) lastBelow(target int64) (timeEntry, bool, error) {
	i := sort.Search(len(m.times), func(i int) bool { return m.times[i].ts >= target })
	if i == 0 {
		return timeEntry{}, false, nil
	}
	return m.times[i-1], true, nil
}

// fileIndex reads the index files of a closed segment.
type fileIndex struct {
	offsets, times   vfs.File
	nOffsets, nTimes int
}

func (f *fileIndex) offsetAt(i int) (offsetEntry, error) {
	var b [offsetEntrySize]byte
	if _, err := f.offsets.ReadAt(b[:], int64(i)*offsetEntrySize); err != nil && err != io.EOF {
		return offsetEntry{}, err
	}
	return offsetEntry{rel: binary.BigEndian.Uint32(b[:]), pos: binary.BigEndian.Uint32(b[4:])}, nil
}

func (f *fileIndex) timeAt(i int) (timeEntry, error) {
	var b [timeEntrySize]byte
	if _, err := f.times.ReadAt(b[:], int64(i)*timeEntrySize); err != nil && err != io.EOF {
		return timeEntry{}, err
	}
	return timeEntry{ts: int64(binary.BigEndian.Uint64(b[:])), rel: binary.BigEndian.Uint32(b[8:])}, nil
}

func (f *fileIndex) floor(target uint32) (offsetEntry, bool, error) {
	var err error
	i := sort.Search(f.nOffsets, func(i int) bool {
		e, rerr := f.offsetAt(i)
		if rerr != nil {
			err = rerr
			return true
		}
		return e.rel > target
	})
	if err != nil {
		return offsetEntry{}, false, fmt.Errorf("read offset index: %w", err)
	}
	if i == 0 {
		return offsetEntry{}, false, nil
	}
	e, err := f.offsetAt(i - 1)
	return e, err == nil, err
}

func (f *fileIndex) lastBelow(target int64) (timeEntry, bool, error) {
	var err error
	i := sort.Search(f.nTimes, func(i int) bool {
		e, rerr := f.timeAt(i)
		if rerr != nil {
			err = rerr
			return true
		}
		return e.ts >= target
	})
	if err != nil {
		return timeEntry{}, false, fmt.Errorf("read time index: %w", err)
	}
	if i == 0 {
		return timeEntry{}, false, nil
	}
	e, err := f.timeAt(i - 1)
	return e, err == nil, err
}
