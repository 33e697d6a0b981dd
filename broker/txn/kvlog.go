package txn

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

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
	opts := storage.Options{FS: fsys, Logger: log, RetentionMs: -1}
	// A finished rewrite whose rename did not happen is complete: finish it.
	if _, err := fsys.Stat(dir); err != nil {
		if _, errNew := fsys.Stat(dir + ".new"); errNew == nil {
			if err := fsys.Rename(dir+".new", dir); err != nil {
				return nil, fmt.Errorf("txn: finish rewrite of %s: %w", dir, err)
			}
		}
	}
	if err := fsys.RemoveAll(dir + ".new"); err != nil {
		return nil, fmt.Errorf("txn: %w", err)
	}
	if err := fsys.RemoveAll(dir + ".old"); err != nil {
		return nil, fmt.Errorf("txn: %w", err)
	}
	l, err := storage.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("txn: open %s: %w", dir, err)
	}
	n, err := replayKV(l, fn)
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
	fresh, err := storage.Open(dir+".new", opts)
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("txn: rewrite %s: %w", dir, err)
	}
	for len(recs) > 0 {
		k := min(len(recs), 500)
		if _, err = appendKV(fresh, recs[:k]); err != nil {
			break
		}
		recs = recs[k:]
	}
	if err == nil {
		err = fresh.Sync(context.Background(), fresh.EndOffset())
	}
	if cerr := fresh.Close(); err == nil {
		err = cerr
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = fsys.Rename(dir, dir+".old"); err == nil {
			if err = fsys.Rename(dir+".new", dir); err == nil {
				if err = fsys.SyncDir(filepath.Dir(dir)); err == nil {
					err = fsys.RemoveAll(dir + ".old")
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("txn: rewrite %s: %w", dir, err)
	}
	return storage.Open(dir, opts)
}

func replayKV(l *storage.Log, fn func(key, value []byte) error) (int, error) {
	n := 0
	off := l.StartOffset()
	for {
		data, err := l.Read(off, 1<<20)
		if err != nil || len(data) == 0 {
			return n, err
		}
		batches, err := record.Split(data)
		if err != nil {
			return n, err
		}
		for _, b := range batches {
			h, err := record.ParseHeader(b)
			if err != nil {
				return n, err
			}
			for r, err := range record.Records(b) {
				if err != nil {
					return n, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
				}
				if err := fn(r.Key, r.Value); err != nil {
					return n, fmt.Errorf("record at offset %d: %w", r.Offset, err)
				}
				n++
			}
			off = h.LastOffset() + 1
		}
	}
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
