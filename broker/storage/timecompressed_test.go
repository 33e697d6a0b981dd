package storage_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
)

// compressBatch re-encodes the uncompressed batch b with codec c, the way a
// producer would have sent it.
func compressBatch(t testing.TB, b []byte, c record.Compression) []byte {
	t.Helper()
	body := b[record.HeaderSize:]
	var buf bytes.Buffer
	switch c {
	case record.CompressionGzip:
		w := gzip.NewWriter(&buf)
		w.Write(body)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case record.CompressionSnappy:
		buf.Write(snappy.Encode(nil, body))
	case record.CompressionLZ4:
		w := lz4.NewWriter(&buf)
		w.Write(body)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case record.CompressionZstd:
		w, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(w.EncodeAll(body, nil))
		w.Close()
	}
	out := append(slices.Clone(b[:record.HeaderSize]), buf.Bytes()...)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint16(out[21:], binary.BigEndian.Uint16(out[21:])&^7|uint16(c))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// TestLookupTimestampInCompressedBatches: with every codec, asking for any
// record's timestamp (or a millisecond before it, past the previous record's)
// answers that record's offset and timestamp, not its batch's base offset.
func TestLookupTimestampInCompressedBatches(t *testing.T) {
	for _, c := range []record.Compression{record.CompressionGzip, record.CompressionSnappy, record.CompressionLZ4, record.CompressionZstd} {
		t.Run(c.String(), func(t *testing.T) {
			l, err := storage.Open(t.TempDir(), storage.Options{SegmentBytes: 2 << 10, IndexIntervalBytes: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			rng := rand.New(rand.NewPCG(1, uint64(c)))
			type rec struct{ off, ts int64 }
			var recs []rec
			for i := range 30 {
				// Records of a batch are 2 ms apart, so that a target
				// between two of them has one right answer.
				n := 2 + rng.IntN(6)
				rs := make([]record.Record, n)
				base := int64(10_000 + i*100)
				for j := range rs {
					rs[j] = record.Record{Timestamp: base + int64(2*j), Value: []byte{byte(rng.Uint32()), byte(j)}}
				}
				b, err := record.Build(0, rs...)
				if err != nil {
					t.Fatal(err)
				}
				res, err := l.Append(compressBatch(t, b, c))
				if err != nil {
					t.Fatal(err)
				}
				for j := range n {
					recs = append(recs, rec{res.BaseOffset + int64(j), base + int64(2*j)})
				}
			}
			for _, r := range recs {
				for _, target := range []int64{r.ts, r.ts - 1} {
					off, ts, found, err := l.LookupTimestamp(target)
					if err != nil || !found || off != r.off || ts != r.ts {
						t.Fatalf("LookupTimestamp(%d) = %d, %d, %v, %v; want %d, %d", target, off, ts, found, err, r.off, r.ts)
					}
				}
			}
			if _, _, found, err := l.LookupTimestamp(recs[len(recs)-1].ts + 1); found || err != nil {
				t.Fatalf("LookupTimestamp(past the newest) found %v, %v", found, err)
			}
		})
	}
}

// TestLookupTimestampDecompressionBomb: a stored batch whose few KiB inflate
// past the lookup's limit (64 MiB here) fails the lookup with
// record.ErrTooLarge instead of exhausting memory.
func TestLookupTimestampDecompressionBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates 64 MiB")
	}
	l, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := record.Build(0, record.Record{Timestamp: 5000, Value: []byte("v")}, record.Record{Timestamp: 5001})
	if err != nil {
		t.Fatal(err)
	}
	// Records section: 65 MiB of zeros, zstd-compressed.
	bomb := append(slices.Clone(b[:record.HeaderSize]), make([]byte, 65<<20)...)
	bomb = compressBatch(t, bomb, record.CompressionZstd)
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb of %d bytes", len(bomb))
	}
	if _, err := l.Append(bomb); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = l.LookupTimestamp(5001)
	if !errors.Is(err, record.ErrTooLarge) {
		t.Fatalf("LookupTimestamp in a bomb = %v, want record.ErrTooLarge", err)
	}
	t.Log(err)
}
