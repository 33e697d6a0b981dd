package metadata

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/millstream/millstream/broker/kvlog"
	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
)

// logJournal keeps the registry's records in a partition log of the
// broker's storage engine, one record per batch, each fsynced before
// append returns.
type logJournal struct {
	ctx context.Context
	log *storage.Log
}

// Open opens (creating if needed) the metadata log in dir and replays it
// into a registry. ctx bounds the fsyncs of the registry's writes.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Registry, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l, err := storage.Open(dir, storage.Options{
		SegmentBytes:   64 << 20,
		RetentionMs:    -1, // metadata is never expired
		RetentionBytes: -1,
		Logger:         logger,
	})
	if err != nil {
		return nil, fmt.Errorf("metadata: open log %s: %w", dir, err)
	}
	r, err := newRegistry(&logJournal{ctx: context.WithoutCancel(ctx), log: l})
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return r, nil
}

func (j *logJournal) append(key, value []byte) error {
	b, err := record.Build(0, record.Record{Timestamp: time.Now().UnixMilli(), Key: key, Value: value})
	if err != nil {
		return err
	}
	res, err := j.log.Append(b)
	if err != nil {
		return err
	}
	return j.log.Sync(j.ctx, res.LastOffset+1)
}

func (j *logJournal) replay(fn func(key, value []byte) error) error {
	_, err := kvlog.Replay(j.log, fn)
	return err
}

func (j *logJournal) close() error { return j.log.Close() }
