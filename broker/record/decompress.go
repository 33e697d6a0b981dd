package record

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// DefaultMaxDecompressed is the limit [Decompress] and [DecompressedRecords]
// apply when given a maxSize of 0 or less: 64 MiB, well above what a batch
// within Kafka's default max.message.bytes (1 MiB) decompresses to in
// practice, and small enough that a decompression bomb cannot exhaust memory.
const DefaultMaxDecompressed = 64 << 20

// xerialMagic opens snappy data in the framing of the xerial snappy-java
// library, which Kafka's Java producer writes: this magic, a version and a
// compatible-version int32, then blocks of an int32 length and a raw snappy
// block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = len("\x82SNAPPY\x00") + 8

// Decompress returns the records section of a batch compressed with codec c,
// decompressed into a new slice of at most maxSize bytes
// ([DefaultMaxDecompressed] if maxSize <= 0). Snappy is accepted both raw and
// in xerial framing, LZ4 as an LZ4 frame, as Kafka's clients write them.
//
// The error wraps [ErrCorrupt] if src is not valid data for c,
// [ErrTooLarge] if it decompresses to more than maxSize bytes and
// [ErrUnsupportedCompression] for an unknown codec.
func Decompress(c Compression, src []byte, maxSize int) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxDecompressed
	}
	var (
		out []byte
		err error
	)
	switch c {
	case CompressionNone:
		if len(src) > maxSize {
			return nil, fmt.Errorf("record: %d bytes, limit %d: %w", len(src), maxSize, ErrTooLarge)
		}
		return bytes.Clone(src), nil
	case CompressionGzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(src)); err == nil {
			out, err = readLimited(zr, maxSize)
		}
	case CompressionSnappy:
		out, err = snappyDecode(src, maxSize)
	case CompressionLZ4:
		out, err = readLimited(lz4.NewReader(bytes.NewReader(src)), maxSize)
	case CompressionZstd:
		var zr *zstd.Decoder
		// One goroutine-free decoder per call: lookups that decompress are
		// rare (ListOffsets by timestamp), and a shared decoder would be
		// package state. The window limit keeps its own buffers bounded.
		zr, err = zstd.NewReader(bytes.NewReader(src), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(uint64(maxSize)+1),
			zstd.WithDecoderMaxWindow(uint64(max(maxSize, zstd.MinWindowSize))))
		if err == nil {
			out, err = readLimited(zr, maxSize)
			zr.Close()
		}
	default:
		return nil, fmt.Errorf("record: codec %d: %w", int8(c), ErrUnsupportedCompression)
	}
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, ErrTooLarge), errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded):
		if !errors.Is(err, ErrTooLarge) {
			err = fmt.Errorf("%v, limit %d bytes: %w", err, maxSize, ErrTooLarge)
		}
		return nil, fmt.Errorf("record: %s records: %w", c, err)
	default:
		return nil, fmt.Errorf("record: %s records: %v: %w", c, err, ErrCorrupt)
	}
}

// readLimited reads r to its end, failing with ErrTooLarge as soon as it
// yields more than maxSize bytes.
func readLimited(r io.Reader, maxSize int) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, int64(maxSize)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxSize {
		return nil, fmt.Errorf("decompressed size exceeds the limit of %d bytes: %w", maxSize, ErrTooLarge)
	}
	return out, nil
}

// snappyDecode decodes raw or xerial-framed snappy data, checking each
// block's declared length against what is left of maxSize before allocating.
func snappyDecode(src []byte, maxSize int) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return snappyBlock(nil, src, maxSize)
	}
	if len(src) < xerialHeaderSize {
		return nil, errors.New("xerial header cut short")
	}
	var out []byte
	for p := xerialHeaderSize; p < len(src); {
		if len(src)-p < 4 {
			return nil, fmt.Errorf("xerial block length cut short at byte %d", p)
		}
		n := int64(binary.BigEndian.Uint32(src[p:]))
		p += 4
		if n > int64(len(src)-p) {
			return nil, fmt.Errorf("xerial block of %d bytes at byte %d overruns %d", n, p, len(src))
		}
		var err error
		if out, err = snappyBlock(out, src[p:p+int(n)], maxSize); err != nil {
			return nil, err
		}
		p += int(n)
	}
	return out, nil
}

// snappyBlock appends the decoding of one raw snappy block to dst.
func snappyBlock(dst, block []byte, maxSize int) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, err
	}
	if n > maxSize-len(dst) {
		return nil, fmt.Errorf("decompressed size exceeds the limit of %d bytes: %w", maxSize, ErrTooLarge)
	}
	if dst == nil {
		return snappy.Decode(make([]byte, n), block)
	}
	d, err := snappy.Decode(make([]byte, n), block)
	if err != nil {
		return nil, err
	}
	return append(dst, d...), nil
}
