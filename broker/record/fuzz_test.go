package record_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/millstream/millstream/broker/record"
)

func seeds(f *testing.F) [][]byte {
	a := kmsgBatch(f, 0, sampleRecords(3, 1)...)
	b := kmsgBatch(f, 0, sampleRecords(1, 2)...)
	c, _ := record.Build(5, record.Record{Key: []byte("k"), Value: []byte("v"), Timestamp: 3})
	d := kmsgBatch(f, 2, sampleRecords(2, 3)...)
	out := [][]byte{a, b, c, d, slices.Concat(a, c), a[:30]}
	for _, codec := range codecs {
		out = append(out, compressed(f, a, codec.c, codec.xerial))
	}
	for _, r := range realBatches(f) {
		out = append(out, r)
	}
	return out
}

func FuzzValidate(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Check is Validate plus its proof, on which storage skips its
		// own frame check (Log.AppendChecked): what Check accepts,
		// ValidateFrame, the check of recovery, must accept too.
		checked, _, cerr := record.Check(b)
		if (cerr == nil) != (checked.Bytes() != nil) {
			t.Fatalf("Check = %d bytes, error %v: want a batch exactly when there is no error", len(checked.Bytes()), cerr)
		}
		if cerr == nil {
			if _, err := record.ValidateFrame(checked.Bytes()); err != nil {
				t.Fatalf("Check accepted a batch that ValidateFrame refuses: %v", err)
			}
		}
		h, err := record.Validate(b)
		if (err == nil) != (cerr == nil) {
			t.Fatalf("Validate error %v, Check error %v: want the same verdict", err, cerr)
		}
		if err != nil {
			if !errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrLegacyFormat) &&
				!errors.Is(err, record.ErrInvalidRecord) && !errors.Is(err, record.ErrUnsupportedCompression) {
				t.Fatalf("Validate error wraps no sentinel: %v", err)
			}
			return
		}
		if h.Size() != len(b) {
			t.Fatalf("valid batch of %d bytes has size %d", len(b), h.Size())
		}
		if h.Compression() != record.CompressionNone {
			return
		}
		// A valid uncompressed batch survives the broker's edits and its
		// records can be read back and rebuilt to the same bytes' meaning.
		c := bytes.Clone(b)
		record.SetBaseOffset(c, 77)
		record.SetLogAppendTime(c, 1234)
		if _, err := record.Validate(c); err != nil {
			t.Fatalf("Validate after edits = %v", err)
		}
		n := int32(0)
		for r, err := range record.Records(b) {
			if err != nil {
				t.Fatalf("Records of a valid batch: %v", err)
			}
			if r.Offset != h.BaseOffset+int64(n) {
				t.Fatalf("record %d offset %d", n, r.Offset)
			}
			n++
		}
		if n != h.NumRecords {
			t.Fatalf("Records yielded %d, header says %d", n, h.NumRecords)
		}
	})
}

func FuzzSplit(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := record.Split(b)
		if err != nil {
			if !errors.Is(err, record.ErrCorrupt) {
				t.Fatalf("Split error wraps no sentinel: %v", err)
			}
			return
		}
		if !bytes.Equal(slices.Concat(parts...), b) && len(b) > 0 {
			t.Fatal("Split parts do not concatenate to the input")
		}
	})
}

// FuzzRecords feeds arbitrary bytes to the record iterator, which the
// broker's internal logs use to read their own batches back: it must yield
// either records or one error wrapping a sentinel, never panic.
func FuzzRecords(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		errs := 0
		for r, err := range record.Records(b) {
			if err != nil {
				errs++
				if !errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrLegacyFormat) &&
					!errors.Is(err, record.ErrInvalidRecord) && !errors.Is(err, record.ErrUnsupportedCompression) &&
					!errors.Is(err, errors.ErrUnsupported) {
					t.Fatalf("Records error wraps no sentinel: %v", err)
				}
				continue
			}
			if errs > 0 {
				t.Fatal("Records yielded a record after an error")
			}
			_ = r
		}
		if errs > 1 {
			t.Fatalf("Records yielded %d errors, want at most one", errs)
		}
		// The same for compressed batches, under a small limit so that
		// bombs the fuzzer finds fail fast.
		errs = 0
		for r, err := range record.DecompressedRecords(b, 1<<20) {
			if err != nil {
				errs++
				if !errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrLegacyFormat) &&
					!errors.Is(err, record.ErrInvalidRecord) && !errors.Is(err, record.ErrUnsupportedCompression) &&
					!errors.Is(err, record.ErrTooLarge) {
					t.Fatalf("DecompressedRecords error wraps no sentinel: %v", err)
				}
				continue
			}
			if errs > 0 {
				t.Fatal("DecompressedRecords yielded a record after an error")
			}
			_ = r
		}
		if errs > 1 {
			t.Fatalf("DecompressedRecords yielded %d errors, want at most one", errs)
		}
	})
}

// FuzzDecompress feeds arbitrary bytes to each codec's decoder: it returns
// data within the limit or an error wrapping a sentinel, never panics.
func FuzzDecompress(f *testing.F) {
	body := kmsgBatch(f, 0, sampleRecords(5, 4)...)[record.HeaderSize:]
	for _, c := range codecs {
		f.Add(int8(c.c), compressBody(f, c.c, body, c.xerial, 64))
	}
	for _, b := range realBatches(f) {
		if h, err := record.ParseHeader(b); err == nil && len(b) > record.HeaderSize {
			f.Add(int8(h.Compression()), b[record.HeaderSize:])
		}
	}
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, c int8, src []byte) {
		out, err := record.Decompress(record.Compression(c), src, limit)
		if err != nil {
			if !errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrTooLarge) &&
				!errors.Is(err, record.ErrUnsupportedCompression) {
				t.Fatalf("Decompress error wraps no sentinel: %v", err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("Decompress returned %d bytes over the limit of %d", len(out), limit)
		}
	})
}
