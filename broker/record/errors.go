package record

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, with detail, so a caller can branch with [errors.Is] and map them to
// Kafka error codes.
var (
	// ErrCorrupt: the bytes are not a well-formed batch (sizes disagree,
	// CRC mismatch, records framing broken, a torn tail). Kafka's
	// CORRUPT_MESSAGE.
	ErrCorrupt = errors.New("corrupt record batch")

	// ErrLegacyFormat: the batch uses message format v0 or v1 (magic 0 or
	// 1), which this broker does not store. Kafka's
	// UNSUPPORTED_FOR_MESSAGE_FORMAT.
	ErrLegacyFormat = errors.New("legacy message formats (magic 0 and 1) are not supported; use a client that writes record batch v2 (Kafka 0.11+)")

	// ErrInvalidRecord: the batch is well-formed but breaks a rule about its
	// records (no records, offset deltas that do not count 0, 1, 2...).
	// Kafka's INVALID_RECORD.
	ErrInvalidRecord = errors.New("invalid record")

	// ErrUnsupportedCompression: the attributes name a compression codec
	// that does not exist (5-7). Kafka's UNSUPPORTED_COMPRESSION_TYPE.
	ErrUnsupportedCompression = errors.New("unsupported compression type")

	// ErrTooLarge: a compressed batch decompresses to more than the limit
	// the caller set (see [Decompress]), as a decompression bomb would.
	// Kafka's RECORD_LIST_TOO_LARGE.
	ErrTooLarge = errors.New("decompressed records too large")
)
