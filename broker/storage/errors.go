package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error of this package that a caller may branch on
// wraps one of them.
var (
	// ErrOffsetOutOfRange: a read below the log start offset or past the
	// log end offset, or DeleteRecords past the end. Kafka's
	// OFFSET_OUT_OF_RANGE.
	ErrOffsetOutOfRange = errors.New("offset out of range")

	// ErrCorruptSegment: stored bytes failed their check (CRC, framing,
	// index). The error is a [*CorruptError] naming the file and position.
	// Kafka's CORRUPT_MESSAGE / KAFKA_STORAGE_ERROR.
	ErrCorruptSegment = errors.New("corrupt segment")

	// ErrBatchTooLarge: a batch above Options.MaxMessageBytes. Kafka's
	// MESSAGE_TOO_LARGE.
	ErrBatchTooLarge = errors.New("batch too large")

	// ErrClosed: the log was closed.
	ErrClosed = errors.New("log closed")

	// ErrLogFailed: a write or fsync failed and the log no longer accepts
	// appends; close it and open it again to recover. Kafka's
	// KAFKA_STORAGE_ERROR.
	ErrLogFailed = errors.New("log failed after an I/O error; reopen it to recover")
)

// CorruptError reports bytes in a segment file that failed their check.
type CorruptError struct {
	File string // path of the segment file
	Pos  int64  // byte position of the bad batch
	Err  error  // what was wrong
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("storage: %s at byte %d: %v", e.File, e.Pos, e.Err)
}

// Is makes errors.Is(err, ErrCorruptSegment) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorruptSegment }

func (e *CorruptError) Unwrap() error { return e.Err }
