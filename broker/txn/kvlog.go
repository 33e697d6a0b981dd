package txn

import (
	"fmt"
	"log/slog"

	"github.com/millstream/millstream/broker/kvlog"
	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// kv is one key/value record of an internal log; a nil value deletes.
type kv struct{ key, value []byte }

// openKV opens the internal log in dir, feeds its records to fn in order,
// and, when rewrite is set, replaces it with the records live returns
// (computed after the replay), so the log does not grow without bound.
// A rewrite that a crash interrupts leaves the old log in place (the new
// one is built in dir+".new" and only renamed over it when complete).
func openKV(fsys vfs.FS, dir string, log *slog.Logger, fn func(key, value []byte) error, live func() []kv) (*storage.Log, error) {
	d := kvlog.Dir{FS: fsys, Path: dir, Temp: dir + ".new", Options: storage.Options{Logger: log, RetentionMs: -1}}
	l, err := d.Open()
	if err != nil {
		return nil, fmt.Errorf("txn: %w", err)
	}
	n, err := kvlog.Replay(l, fn)
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("txn: replay %s: %w", dir, err)
	}
	if live == nil || n == 0 {
		return l, nil
	}
	recs := live()
	if n < 64 || 2*len(recs) >= n {
		return l, nil // mostly live records: not worth a rewrite
	}
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{Key: r.key, Value: r.value}
	}
	fresh, err := d.Rewrite(l, rs)
	if err != nil {
		if fresh != nil {
			_ = fresh.Close()
		}
		return nil, fmt.Errorf("txn: %w", err)
	}
	return fresh, nil
}

// appendKV appends recs as one batch and returns the offset after it.
func appendKV(l *storage.Log, recs []kv) (int64, error) {
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{Key: r.key, Value: r.value}
	}
	batch, err := record.Build(0, rs...)
	if err != nil {
		return 0, err
	}
	res, err := l.Append(batch)
	if err != nil {
		return 0, err
	}
	return res.LastOffset + 1, nil
}
