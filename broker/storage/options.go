package storage

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/millstream/millstream/broker/vfs"
)

// Defaults of [Options].
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultSegmentAge         = 7 * 24 * time.Hour
	DefaultRetention          = 7 * 24 * time.Hour
	DefaultIndexIntervalBytes = 4096
	DefaultMaxMessageBytes    = 1048588
)

// Options configure a [Log]. The zero value of a field means its default;
// [Options.EnsureDefaults] fills them in.
type Options struct {
	// FS is the file system. Default [vfs.Default]. Fixed at Open.
	FS vfs.FS

	// SegmentBytes is the size at which the active segment is closed and
	// a new one started (Kafka's segment.bytes). Default 1 GiB; at most
	// 2 GiB - 1 because index positions are 32 bits.
	SegmentBytes int64

	// SegmentMs closes the active segment once its first batch is this old
	// (Kafka's segment.ms), so that retention by time can delete it. The
	// age counts from the broker's clock when that batch was appended (after
	// a restart: from its timestamp, if not in the future). Default 7 days.
	//lint:ignore ST1011 named after Kafka's segment.ms, which users know
	SegmentMs time.Duration

	// RetentionMs deletes closed segments whose newest batch is older than
	// this (Kafka's retention.ms). Default 7 days; -1 (any negative
	// value) keeps data forever.
	//lint:ignore ST1011 named after Kafka's retention.ms, which users know
	RetentionMs time.Duration

	// RetentionBytes deletes the oldest closed segments while the log is
	// larger than this (Kafka's retention.bytes). Default -1 (any negative
	// value): no limit. 0 is taken as the default.
	RetentionBytes int64

	// IndexIntervalBytes is the number of log bytes between entries of the
	// sparse offset and time indexes (Kafka's index.interval.bytes).
	// Default 4096.
	IndexIntervalBytes int

	// MaxMessageBytes is the largest batch Append accepts
	// (Kafka's max.message.bytes). Default 1048588.
	MaxMessageBytes int

	// LogAppendTime makes Append stamp each batch with the broker's clock
	// (Kafka's message.timestamp.type=LogAppendTime). Default false:
	// CreateTime, the producer's timestamps are kept.
	LogAppendTime bool

	// WriteBehind lets Append return with the batch copied into memory
	// rather than written to the file: the bytes are written by the next
	// Sync (before its fsync, so many appends share one write and one
	// fsync and the appender does not wait for either), by Flush, or by a
	// read that needs them. Until then a crash of the process loses them,
	// so a caller that promises more than "appended" must call Sync or
	// Flush before answering. Default false: Append writes.
	WriteBehind bool

	// PageCacheKeep is how many bytes behind the fsynced end of the active
	// segment stay in the operating system's page cache after a Sync; the
	// older fsynced bytes of the segment are dropped from it (Linux
	// posix_fadvise DONTNEED, files of the operating system only). A write
	// that Sync does not follow (Append without write-behind, Flush) keeps
	// the same window behind the written end, starting the writeback of
	// older bytes and dropping them once written (cache.go). More
	// keeps more of the recent log in memory for consumers that are
	// behind, at the price of appends writing into colder pages once the
	// kept bytes outgrow what the kernel recycles warm (see
	// [DefaultPageCacheKeep]). The drop works in steps of 2 MiB, so up to
	// 2 MiB more stay. Default 64 MiB; any negative value never drops,
	// leaving the page cache to the kernel.
	PageCacheKeep int64

	// Buffers is the free list that write-behind buffers come from and go
	// back to; give every log of a broker the same one (NewBuffers) so the
	// memory kept for reuse does not grow with the number of partitions.
	// Default: a list of two for this log alone. Fixed at Open.
	Buffers *Buffers

	// Now is the clock. Default time.Now. Fixed at Open.
	Now func() time.Time

	// Logger receives recovery, roll and retention events. Default: a
	// logger that discards. Fixed at Open.
	Logger *slog.Logger
}

// EnsureDefaults fills in every zero field with its default and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	if o.SegmentMs == 0 {
		o.SegmentMs = DefaultSegmentAge
	}
	if o.RetentionMs == 0 {
		o.RetentionMs = DefaultRetention
	}
	if o.RetentionBytes == 0 {
		o.RetentionBytes = -1
	}
	if o.IndexIntervalBytes == 0 {
		o.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.PageCacheKeep == 0 {
		o.PageCacheKeep = DefaultPageCacheKeep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Validate reports every field that is out of range, saying how to fix it.
// Call it after [Options.EnsureDefaults].
func (o *Options) Validate() error {
	var errs []error
	// Kafka's lower bound for segment.bytes; a segment always takes at
	// least one batch, whatever its size.
	if o.SegmentBytes < 14 || o.SegmentBytes > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("storage: SegmentBytes %d: use a size from 14 to %d", o.SegmentBytes, math.MaxInt32))
	}
	if o.SegmentMs < time.Millisecond {
		errs = append(errs, fmt.Errorf("storage: SegmentMs %v: use at least 1ms", o.SegmentMs))
	}
	if o.IndexIntervalBytes < 1 {
		errs = append(errs, fmt.Errorf("storage: IndexIntervalBytes %d: use a positive size", o.IndexIntervalBytes))
	}
	if o.MaxMessageBytes < 1 || o.MaxMessageBytes > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("storage: MaxMessageBytes %d: use a size from 1 to %d", o.MaxMessageBytes, math.MaxInt32))
	}
	if o.FS == nil || o.Now == nil || o.Logger == nil {
		errs = append(errs, errors.New("storage: FS, Now and Logger must be set: call EnsureDefaults first"))
	}
	return errors.Join(errs...)
}
