package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum returns the CRC-32C a batch should carry: bytes 21 to the end.
func checksum(b []byte) uint32 { return crc32.Checksum(b[posAttributes:], castagnoli) }

// minRecordSize is the smallest possible encoded record: seven one-byte
// fields (length, attributes, timestamp delta, offset delta, key length,
// value length, header count).
const minRecordSize = 7

// Validate checks that b is exactly one well-formed v2 batch and returns its
// header. It checks the magic byte, that batchLength matches len(b), the
// CRC-32C, that the record count is positive and, for uncompressed batches,
// that lastOffsetDelta is count-1 and that the records' varint framing walks
// to exactly the end of b with offset deltas 0, 1, 2... Compressed records are
// not opened: that would cost a decompression of every produced batch
// (BenchmarkDecompressedRecords: zstd and gzip decode at 100-500 MB/s, about
// the rate of the whole produce path), while the CRC already covers the
// compressed bytes, the broker never rewrites them and consumers check the
// records as they decompress them. [DecompressedRecords] opens them where
// the broker must.
//
// The error wraps [ErrLegacyFormat], [ErrCorrupt], [ErrInvalidRecord] or
// [ErrUnsupportedCompression].
func Validate(b []byte) (Header, error) {
	h, err := checkFrame(b)
	if err != nil {
		return h, err
	}
	if h.Compression() != CompressionNone {
		if h.LastOffsetDelta < h.NumRecords-1 {
			return h, fmt.Errorf("record: lastOffsetDelta %d for %d records: %w", h.LastOffsetDelta, h.NumRecords, ErrInvalidRecord)
		}
		return h, nil
	}
	if h.LastOffsetDelta != h.NumRecords-1 {
		return h, fmt.Errorf("record: lastOffsetDelta %d for %d records: %w", h.LastOffsetDelta, h.NumRecords, ErrInvalidRecord)
	}
	pos := HeaderSize
	var rec Record
	for i := int32(0); i < h.NumRecords; i++ {
		n, err := parseRecord(b[pos:], &rec, false)
		if err != nil {
			return h, fmt.Errorf("record: record %d at byte %d: %w", i, pos, err)
		}
		if rec.Offset != int64(i) {
			return h, fmt.Errorf("record: record %d at byte %d has offset delta %d: %w", i, pos, rec.Offset, ErrInvalidRecord)
		}
		pos += n
	}
	if pos != len(b) {
		return h, fmt.Errorf("record: %d bytes after the last record: %w", len(b)-pos, ErrCorrupt)
	}
	return h, nil
}

// ValidateFrame checks what every batch must satisfy, compressed or not, in
// constant work per byte and without opening the records: the header, that
// batchLength matches len(b), the CRC-32C, a positive record count, a known
// codec, a lastOffsetDelta that is not negative and, for uncompressed
// batches, room for that many records. Storage
// uses it to check batches it serves; [Validate] does this and more.
func ValidateFrame(b []byte) (Header, error) { return checkFrame(b) }

func checkFrame(b []byte) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if h.BatchLength < minBatchLength || int64(h.BatchLength)+lengthOverhead != int64(len(b)) {
		return h, fmt.Errorf("record: batchLength %d in %d bytes: %w", h.BatchLength, len(b), ErrCorrupt)
	}
	if got := checksum(b); got != h.CRC {
		return h, fmt.Errorf("record: crc %08x, computed %08x: %w", h.CRC, got, ErrCorrupt)
	}
	if h.NumRecords <= 0 {
		return h, fmt.Errorf("record: record count %d: %w", h.NumRecords, ErrInvalidRecord)
	}
	if h.LastOffsetDelta < 0 {
		return h, fmt.Errorf("record: lastOffsetDelta %d: %w", h.LastOffsetDelta, ErrInvalidRecord)
	}
	if c := h.Compression(); c > CompressionZstd {
		return h, fmt.Errorf("record: attributes %#x: %w %d", h.Attributes, ErrUnsupportedCompression, c)
	}
	if h.Compression() == CompressionNone && int(h.NumRecords) > (len(b)-HeaderSize)/minRecordSize {
		return h, fmt.Errorf("record: %d records cannot fit in %d bytes: %w", h.NumRecords, len(b)-HeaderSize, ErrCorrupt)
	}
	return h, nil
}

// parseRecord decodes the record at the start of b into rec, with
// rec.Offset holding the offset delta and rec.Timestamp the timestamp delta,
// and returns its encoded size. Key, Value and header values are sub-slices of
// b. Headers are collected only when withHeaders is set.
func parseRecord(b []byte, rec *Record, withHeaders bool) (int, error) {
	length, n := binary.Varint(b)
	if n <= 0 || length < minRecordSize-1 || length > int64(len(b)-n) {
		return 0, fmt.Errorf("bad record length: %w", ErrCorrupt)
	}
	r := b[n : n+int(length)]
	rec.Attributes = int8(r[0])
	p := 1
	td, k := binary.Varint(r[p:])
	if k <= 0 {
		return 0, fmt.Errorf("bad timestamp delta: %w", ErrCorrupt)
	}
	rec.Timestamp = td
	p += k
	od, k := binary.Varint(r[p:])
	if k <= 0 || od != int64(int32(od)) {
		return 0, fmt.Errorf("bad offset delta: %w", ErrCorrupt)
	}
	rec.Offset = od
	p += k
	var err error
	if rec.Key, p, err = nullableBytes(r, p, "key"); err != nil {
		return 0, err
	}
	if rec.Value, p, err = nullableBytes(r, p, "value"); err != nil {
		return 0, err
	}
	hc, k := binary.Varint(r[p:])
	if k <= 0 || hc < 0 || hc > int64(len(r)-p-k)/2 {
		return 0, fmt.Errorf("bad header count: %w", ErrCorrupt)
	}
	p += k
	rec.Headers = nil
	if withHeaders && hc > 0 {
		rec.Headers = make([]kmsg.Header, 0, hc)
	}
	for j := int64(0); j < hc; j++ {
		l, k := binary.Varint(r[p:])
		if k <= 0 || l < 0 || l > int64(len(r)-p-k) {
			return 0, fmt.Errorf("header %d: bad key length: %w", j, ErrCorrupt)
		}
		key := r[p+k : p+k+int(l)]
		p += k + int(l)
		var val []byte
		if val, p, err = nullableBytes(r, p, "header value"); err != nil {
			return 0, fmt.Errorf("header %d: %w", j, err)
		}
		if withHeaders {
			rec.Headers = append(rec.Headers, kmsg.Header{Key: string(key), Value: val})
		}
	}
	if p != len(r) {
		return 0, fmt.Errorf("record length %d but fields end at %d: %w", len(r), p, ErrCorrupt)
	}
	return n + int(length), nil
}

// nullableBytes reads a varint length (-1 = null) and that many bytes at
// r[p:], returning them and the position after them.
func nullableBytes(r []byte, p int, what string) ([]byte, int, error) {
	l, k := binary.Varint(r[p:])
	if k <= 0 || l < -1 || l > int64(len(r)-p-k) {
		return nil, 0, fmt.Errorf("bad %s length: %w", what, ErrCorrupt)
	}
	p += k
	if l < 0 {
		return nil, p, nil
	}
	return r[p : p+int(l) : p+int(l)], p + int(l), nil
}

// Checked is a batch that [Check] validated: the proof, for code that
// appends it, that the checks of [Validate] (and so those of
// [ValidateFrame]) passed, so they need not run again. It can be had only
// from Check; the zero Checked holds no batch. The holder may change the
// batch only through this package's Set* functions, which keep a valid
// batch valid.
type Checked struct{ b []byte }

// Check runs [Validate] on b and returns, with the header, the proof that
// it passed. Checked holds b itself, not a copy.
func Check(b []byte) (Checked, Header, error) {
	h, err := Validate(b)
	if err != nil {
		return Checked{}, h, err
	}
	return Checked{b: b}, h, nil
}

// Bytes returns the checked batch; nil for the zero Checked.
func (c Checked) Bytes() []byte { return c.b }
