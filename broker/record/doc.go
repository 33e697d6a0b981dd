// Package record reads, checks and edits Kafka record batches (message format
// v2, "magic 2"), the unit the broker receives in a produce request, stores in
// its segment files and serves in fetch responses without re-encoding.
//
// # Layout
//
// A batch is a fixed 61-byte header followed by its records:
//
//	| offset | field                | type   | note                                              |
//	|--------|----------------------|--------|---------------------------------------------------|
//	|      0 | baseOffset           | int64  | assigned by the broker ([SetBaseOffset])          |
//	|      8 | batchLength          | int32  | bytes after this field                            |
//	|     12 | partitionLeaderEpoch | int32  | set by the leader ([SetPartitionLeaderEpoch])     |
//	|     16 | magic                | int8   | 2; 0 and 1 are the legacy formats, refused        |
//	|     17 | crc                  | uint32 | CRC-32C (Castagnoli) of bytes 21 to the end       |
//	|     21 | attributes           | int16  | bits 0-2 compression, 3 timestamp type,           |
//	|        |                      |        | 4 transactional, 5 control                        |
//	|     23 | lastOffsetDelta      | int32  | count-1 for batches fresh from a producer         |
//	|     27 | baseTimestamp        | int64  | milliseconds                                      |
//	|     35 | maxTimestamp         | int64  | the log append time under LogAppendTime           |
//	|     43 | producerId           | int64  | -1 when not idempotent                            |
//	|     51 | producerEpoch        | int16  |                                                   |
//	|     53 | baseSequence         | int32  |                                                   |
//	|     57 | recordCount          | int32  |                                                   |
//	|     61 | records              |        | uncompressed: recordCount records, below          |
//
// Each uncompressed record is framed with zig-zag varints:
//
//	length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
//	keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
//	headerCount varint, then per header: keyLength varint, key, valueLength varint, value
//
// The CRC does not cover the first three fields, so [SetBaseOffset] and
// [SetPartitionLeaderEpoch] leave it alone; [SetLogAppendTime] changes covered
// bytes and recomputes it.
//
// # Usage
//
// A broker checks each batch of a produce request before storing it:
//
//	batches, err := record.Split(p.Records) // sub-slices, no copies
//	for _, b := range batches {
//		h, err := record.Validate(b) // errors.Is(err, record.ErrCorrupt) -> CORRUPT_MESSAGE ...
//		...
//	}
//
// and its internal logs write and read their own records with [Build] and
// [Records]. Where the broker must look inside a compressed batch (ListOffsets
// by timestamp), [DecompressedRecords] decompresses it (gzip, snappy raw or
// xerial-framed, LZ4 frame, zstd) into a buffer bounded by a caller-given
// limit, so a decompression bomb fails with [ErrTooLarge].
//
// Nothing in this package keeps state; every function is safe for concurrent
// use on distinct slices. Functions that take a batch never retain it; the
// Set* functions modify it in place.
package record
