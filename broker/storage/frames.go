package storage

import (
	"fmt"
	"io"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/vfs"
)

// frames reads the batches of a segment file through a window buffer, so
// walking many small batches costs few ReadAt calls. Not safe for
// concurrent use.
type frames struct {
	f     vfs.File
	path  string
	limit int64  // bytes of the file that hold complete batches
	buf   []byte // the window; its capacity is the read size
	at    int64  // file position of buf[0]
}

// newFrames returns a reader with a window of at most window bytes, less
// for a small file.
func newFrames(f vfs.File, path string, limit int64, window int) *frames {
	size := int(min(int64(window), max(limit, record.HeaderSize)))
	return &frames{f: f, path: path, limit: limit, buf: make([]byte, 0, size)}
}

func (fr *frames) corrupt(pos int64, format string, args ...any) error {
	return &CorruptError{File: fr.path, Pos: pos, Err: fmt.Errorf(format, args...)}
}

// load makes file bytes [pos, pos+n) available in the window and returns
// them. n must not exceed the window size unless it grows it.
func (fr *frames) load(pos int64, n int) ([]byte, error) {
	if pos >= fr.at && pos+int64(n) <= fr.at+int64(len(fr.buf)) {
		return fr.buf[pos-fr.at : pos-fr.at+int64(n)], nil
	}
	if n > cap(fr.buf) {
		fr.buf = make([]byte, 0, n)
	}
	want := min(int64(cap(fr.buf)), fr.limit-pos)
	if want < int64(n) {
		return nil, fr.corrupt(pos, "%d bytes needed, %d before the end of the data", n, fr.limit-pos)
	}
	fr.buf = fr.buf[:want]
	got, err := fr.f.ReadAt(fr.buf, pos)
	if err != nil && !(err == io.EOF && int64(got) == want) {
		fr.buf, fr.at = fr.buf[:0], 0
		return nil, fmt.Errorf("storage: read %s at byte %d: %w", fr.path, pos, err)
	}
	fr.at = pos
	return fr.buf[:n], nil
}

// header returns the header of the batch at pos, checking that the batch
// fits before the limit.
func (fr *frames) header(pos int64) (record.Header, error) {
	b, err := fr.load(pos, record.HeaderSize)
	if err != nil {
		return record.Header{}, err
	}
	h, err := record.ParseHeader(b)
	if err != nil {
		return h, &CorruptError{File: fr.path, Pos: pos, Err: err}
	}
	if h.BatchLength < record.HeaderSize-12 || pos+int64(h.Size()) > fr.limit {
		return h, fr.corrupt(pos, "batch length %d runs past the end of the data at %d", h.BatchLength, fr.limit)
	}
	if h.LastOffsetDelta < 0 || h.BaseOffset < 0 || h.LastOffset() < h.BaseOffset {
		return h, fr.corrupt(pos, "offsets %d + %d", h.BaseOffset, h.LastOffsetDelta)
	}
	return h, nil
}

// batch returns the whole batch at pos, of the given size, as a window
// slice valid until the next call.
func (fr *frames) batch(pos int64, size int) ([]byte, error) { return fr.load(pos, size) }

// find walks the batches from pos and returns the position and header of
// the first batch for which stop returns true; ok is false if the limit is
// reached first.
func (fr *frames) find(pos int64, stop func(record.Header) bool) (int64, record.Header, bool, error) {
	for pos < fr.limit {
		h, err := fr.header(pos)
		if err != nil {
			return pos, h, false, err
		}
		if stop(h) {
			return pos, h, true, nil
		}
		pos += int64(h.Size())
	}
	return pos, record.Header{}, false, nil
}
