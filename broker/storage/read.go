package storage

import (
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math"
	"sync"

	"github.com/millstream/millstream/broker/record"
)

// scanWindow is the read size used to walk batch headers from an index
// entry to the wanted batch; one window usually covers the index interval.
const scanWindow = 8 << 10

var windowPool = sync.Pool{New: func() any { b := make([]byte, 0, scanWindow); return &b }}

// Read returns whole batches, exactly as stored, starting with the batch
// that holds offset: as many as fit in maxBytes, but always at least one
// whole batch even if it is larger (so a consumer can always make progress).
// The batches come from one segment; read again from the offset after the
// last one for more. The returned slice is the caller's.
//
// offset == EndOffset gives (nil, nil); an offset below StartOffset or above
// EndOffset gives ErrOffsetOutOfRange. Every returned batch has passed its
// CRC check: stored bytes that fail it give a *CorruptError
// (ErrCorruptSegment) naming the file and position, never data.
func (l *Log) Read(offset int64, maxBytes int) ([]byte, error) {
	return l.ReadUntil(offset, maxBytes, math.MaxInt64)
}

// ReadUntil is Read that returns only batches that start below until: a
// fetch bounded by a high watermark or a last stable offset. offset >=
// until (within the log) gives (nil, nil).
func (l *Log) ReadUntil(offset int64, maxBytes int, until int64) ([]byte, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, fmt.Errorf("storage: read %s: %w", l.dir, ErrClosed)
		}
		end := l.endOffset()
		if offset < l.start || offset > end {
			start := l.start
			l.mu.Unlock()
			return nil, fmt.Errorf("storage: read %s at offset %d, log holds [%d, %d): %w", l.dir, offset, start, end, ErrOffsetOutOfRange)
		}
		if offset == end || offset >= until {
			l.mu.Unlock()
			return nil, nil
		}
		i := l.segmentFor(offset)
		seg := l.segments[i]
		seg.ref()
		limit, sealed := seg.size, seg.sealed
		var startPos int64
		if !sealed {
			startPos, _ = seg.indexStart(seg.mem, offset) // in memory: no error
		}
		var next int64 = -1
		if i+1 < len(l.segments) {
			next = l.segments[i+1].base
		}
		flush := l.unwritten(seg, limit)
		l.mu.Unlock()

		if flush {
			// Write-behind still holds some of these bytes.
			if err := l.Flush(); err != nil {
				seg.unref()
				return nil, err
			}
		}
		data, found, err := readSegment(seg, sealed, startPos, limit, offset, maxBytes, until)
		seg.unref()
		if err != nil || found {
			return data, err
		}
		// No batch at or after offset in that segment: a gap. Go on with
		// the next segment.
		if next < 0 {
			return nil, nil
		}
		offset = next
	}
}

// readSegment reads from one segment, holding a reference to it.
func readSegment(seg *segment, sealed bool, startPos, limit, offset int64, maxBytes int, until int64) ([]byte, bool, error) {
	path := seg.path(logExt)
	if sealed {
		var err error
		if startPos, err = seg.indexStart(seg.files, offset); err != nil {
			return nil, false, err
		}
	}
	wp := windowPool.Get().(*[]byte)
	fr := &frames{f: seg.log, path: path, limit: limit, buf: (*wp)[:0]}
	pos, h, ok, err := fr.find(startPos, func(h record.Header) bool { return h.LastOffset() >= offset })
	*wp = fr.buf[:0]
	windowPool.Put(wp)
	if err != nil || !ok {
		return nil, false, err
	}
	n := min(int64(max(maxBytes, 0)), limit-pos)
	n = max(n, int64(h.Size()))
	buf := make([]byte, n)
	if got, err := seg.log.ReadAt(buf, pos); got < len(buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, fmt.Errorf("storage: read %s at byte %d: %w", path, pos, err)
	}
	// Keep only whole batches, each checked.
	off := 0
	for off+record.HeaderSize <= len(buf) {
		size := int(int32(binary.BigEndian.Uint32(buf[off+8:]))) + 12
		if size < record.HeaderSize {
			return nil, false, &CorruptError{File: path, Pos: pos + int64(off), Err: fmt.Errorf("batch length %d", size-12)}
		}
		if off+size > len(buf) {
			break
		}
		h, err := record.ValidateFrame(buf[off : off+size])
		if err != nil {
			return nil, false, &CorruptError{File: path, Pos: pos + int64(off), Err: err}
		}
		if off > 0 && h.BaseOffset >= until {
			break
		}
		off += size
	}
	return buf[:off:off], true, nil
}

// Batches iterates over the batches from the one holding offset from to the
// end of the log as it is when each Read is made, the way the broker's
// internal logs replay their state at start-up. Each batch is a sub-slice
// of a buffer owned by the caller. It stops at the first error, which it
// yields.
func (l *Log) Batches(from int64) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for off := from; ; {
			data, err := l.Read(off, 1<<20)
			if err != nil {
				yield(nil, err)
				return
			}
			if data == nil {
				return
			}
			for len(data) > 0 {
				h, err := record.ParseHeader(data)
				if err != nil { // Read checked every batch
					yield(nil, err)
					return
				}
				b := data[:h.Size():h.Size()]
				data = data[h.Size():]
				off = h.LastOffset() + 1
				if !yield(b, nil) {
					return
				}
			}
		}
	}
}
