package record_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/millstream/millstream/broker/record"
)

// compressBody compresses body with codec c the way clients do; xerial asks
// for snappy in the Java client's xerial framing, in blocks of block bytes.
func compressBody(t testing.TB, c record.Compression, body []byte, xerial bool, block int) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case record.CompressionGzip:
		w := gzip.NewWriter(&buf)
		w.Write(body)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case record.CompressionSnappy:
		if !xerial {
			return snappy.Encode(nil, body)
		}
		buf.Write([]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1})
		for len(body) > 0 {
			n := min(block, len(body))
			enc := snappy.Encode(nil, body[:n])
			buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(enc))))
			buf.Write(enc)
			body = body[n:]
		}
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
		defer w.Close()
		return w.EncodeAll(body, nil)
	default:
		t.Fatalf("no compressor for %v", c)
	}
	return buf.Bytes()
}

// compressed turns the uncompressed batch b into a batch of codec c with the
// same header fields and a fresh length and CRC.
func compressed(t testing.TB, b []byte, c record.Compression, xerial bool) []byte {
	t.Helper()
	out := slices.Clone(b[:record.HeaderSize])
	out = append(out, compressBody(t, c, b[record.HeaderSize:], xerial, 100)...)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	attrs := binary.BigEndian.Uint16(out[21:])&^7 | uint16(c)
	binary.BigEndian.PutUint16(out[21:], attrs)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

var codecs = []struct {
	name   string
	c      record.Compression
	xerial bool
}{
	{"gzip", record.CompressionGzip, false},
	{"snappy", record.CompressionSnappy, false},
	{"snappy-xerial", record.CompressionSnappy, true},
	{"lz4", record.CompressionLZ4, false},
	{"zstd", record.CompressionZstd, false},
}

func collect(t testing.TB, b []byte, maxSize int) []record.Record {
	t.Helper()
	var out []record.Record
	for r, err := range record.DecompressedRecords(b, maxSize) {
		if err != nil {
			t.Fatalf("DecompressedRecords: %v", err)
		}
		out = append(out, r)
	}
	return out
}

func sameRecords(t *testing.T, got, want []record.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || g.Timestamp != w.Timestamp || !bytes.Equal(g.Key, w.Key) ||
			(g.Key == nil) != (w.Key == nil) || !bytes.Equal(g.Value, w.Value) ||
			fmt.Sprint(g.Headers) != fmt.Sprint(w.Headers) {
			t.Fatalf("record %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestDecompressedRecordsEachCodec: every codec, including snappy in both
// of Kafka's forms, yields the very records of the uncompressed batch.
func TestDecompressedRecordsEachCodec(t *testing.T) {
	plain := kmsgBatch(t, 0, sampleRecords(40, 9)...)
	record.SetBaseOffset(plain, 1000)
	want := collect(t, plain, 0)
	if len(want) != 40 || want[39].Offset != 1039 || want[39].Timestamp != 1700000000039 {
		t.Fatalf("uncompressed records: %d, last %+v", len(want), want[len(want)-1])
	}
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			b := compressed(t, plain, c.c, c.xerial)
			h, err := record.Validate(b)
			if err != nil || h.Compression() != c.c {
				t.Fatalf("Validate = %v, %v", h.Compression(), err)
			}
			sameRecords(t, collect(t, b, 0), want)
			// Exactly the decompressed size is allowed; a byte less is not.
			sameRecords(t, collect(t, b, len(plain)-record.HeaderSize), want)
			for _, err := range record.DecompressedRecords(b, len(plain)-record.HeaderSize-1) {
				if !errors.Is(err, record.ErrTooLarge) {
					t.Fatalf("DecompressedRecords(limit one byte short) = %v, want ErrTooLarge", err)
				}
			}
		})
	}
}

// TestDecompressedRecordsRealClients: the batches franz-go compressed with
// each codec read back as the same records as its uncompressed one.
func TestDecompressedRecordsRealClients(t *testing.T) {
	real := realBatches(t)
	want := collect(t, real["franz-none-01"], 0)
	for _, c := range []string{"gzip", "snappy", "lz4", "zstd"} {
		t.Run(c, func(t *testing.T) {
			got := collect(t, real["franz-"+c+"-01"], 0)
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) ||
					fmt.Sprint(got[i].Headers) != fmt.Sprint(want[i].Headers) || got[i].Offset != want[i].Offset {
					t.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestDecompressBomb: a few KiB that decompress to 64 MiB of zeros fail with
// ErrTooLarge under a 1 MiB limit instead of being inflated.
func TestDecompressBomb(t *testing.T) {
	zeros := make([]byte, 64<<20)
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			src := compressBody(t, c.c, zeros, c.xerial, 1<<20)
			_, err := record.Decompress(c.c, src, 1<<20)
			if !errors.Is(err, record.ErrTooLarge) {
				t.Fatalf("Decompress(%d-byte bomb) = %v, want ErrTooLarge", len(src), err)
			}
		})
	}
}

func TestDecompressCorrupt(t *testing.T) {
	for _, c := range codecs {
		src := compressBody(t, c.c, []byte("some records, not really"), c.xerial, 8)
		for _, cut := range []int{1, len(src) / 2, len(src) - 1} {
			bad := slices.Clone(src[:cut])
			if _, err := record.Decompress(c.c, bad, 0); !errors.Is(err, record.ErrCorrupt) {
				t.Errorf("%s: Decompress(first %d of %d bytes) = %v, want ErrCorrupt", c.name, cut, len(src), err)
			}
		}
	}
	if _, err := record.Decompress(5, nil, 0); !errors.Is(err, record.ErrUnsupportedCompression) {
		t.Errorf("Decompress(codec 5) = %v", err)
	}
}
