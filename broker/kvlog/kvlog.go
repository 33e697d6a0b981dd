package kvlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// Replay calls fn with the key and value of every record of l from its
// start offset to its end, oldest first, and returns how many there were.
// Keys and values are valid only during the call. It stops at the first
// error, from reading the log or from fn, which it returns with the offset
// where it happened.
func Replay(l *storage.Log, fn func(key, value []byte) error) (int, error) {
	n := 0
	start := l.StartOffset()
	for b, err := range l.Batches(start) {
		if err != nil {
			return n, err
		}
		for r, err := range record.Records(b) {
			if err != nil {
				h, _ := record.ParseHeader(b)
				return n, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
			}
			if r.Offset < start {
				continue
			}
			if err := fn(r.Key, r.Value); err != nil {
				return n, fmt.Errorf("record at offset %d: %w", r.Offset, err)
			}
			n++
		}
	}
	return n, nil
}

// Dir is the directory of an internal log that can be rewritten
// atomically. The zero value is not usable: set FS and Path.
type Dir struct {
	// FS is the file system; nil means vfs.Default. Options.FS is set
	// from it.
	FS vfs.FS
	// Path is the log's directory.
	Path string
	// Temp is the directory a rewrite is built in. Default Path+".rewrite".
	Temp string
	// Options open the log (Options.FS is ignored).
	Options storage.Options
}

func (d Dir) fs() vfs.FS {
	if d.FS == nil {
		return vfs.Default
	}
	return d.FS
}

func (d Dir) temp() string {
	if d.Temp == "" {
		return d.Path + ".rewrite"
	}
	return d.Temp
}

func (d Dir) open(dir string) (*storage.Log, error) {
	opts := d.Options
	opts.FS = d.fs()
	l, err := storage.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("kvlog: open %s: %w", dir, err)
	}
	return l, nil
}

// Open finishes or undoes a rewrite a crash interrupted (see [Dir.Recover])
// and opens the log, creating it if needed.
func (d Dir) Open() (*storage.Log, error) {
	if err := d.Recover(); err != nil {
		return nil, err
	}
	return d.open(d.Path)
}

// Recover brings the directories back to one log after a crash during
// [Dir.Rewrite]: a complete rewrite whose final rename did not happen is
// renamed into place, and an unfinished one and the old log are removed.
// [Dir.Open] calls it.
func (d Dir) Recover() error {
	fsys, tmp := d.fs(), d.temp()
	if _, err := fsys.Stat(d.Path); err != nil {
		if _, errTmp := fsys.Stat(tmp); errTmp == nil {
			// Crashed between the two renames: the new log is complete.
			if err := fsys.Rename(tmp, d.Path); err != nil {
				return fmt.Errorf("kvlog: finish rewrite of %s: %w", d.Path, err)
			}
		}
	}
	if err := fsys.RemoveAll(tmp); err != nil {
		return fmt.Errorf("kvlog: remove unfinished rewrite of %s: %w", d.Path, err)
	}
	if err := fsys.RemoveAll(d.Path + ".old"); err != nil {
		return fmt.Errorf("kvlog: remove old log %s.old: %w", d.Path, err)
	}
	return nil
}

// rewriteBatch is the number of records per batch of a rewritten log.
const rewriteBatch = 500

// Rewrite replaces the log in d.Path, whose open Log is old, with a fresh one
// holding recs (in batches of 500, with the records' keys, values and
// timestamps), fsynced, then swapped in by renames (see the package doc).
//
// It returns the log the caller uses from then on:
//   - old itself, with an error, if the fresh log could not be written or
//     old could not be closed (then old is closed); nothing on disk changed;
//   - otherwise a newly opened log of d.Path (old is closed), holding recs
//     if the error is nil; after a failed swap, the error is returned along
//     with whatever [Dir.Recover] restored;
//   - nil, with an error, if that log could not be opened.
func (d Dir) Rewrite(old *storage.Log, recs []record.Record) (*storage.Log, error) {
	fsys, tmp := d.fs(), d.temp()
	if err := fsys.RemoveAll(tmp); err != nil {
		return old, fmt.Errorf("kvlog: rewrite %s: %w", d.Path, err)
	}
	fresh, err := d.open(tmp)
	if err != nil {
		return old, fmt.Errorf("kvlog: rewrite %s: %w", d.Path, err)
	}
	for len(recs) > 0 && err == nil {
		n := min(len(recs), rewriteBatch)
		var batch []byte
		if batch, err = record.Build(0, recs[:n]...); err == nil {
			_, err = fresh.Append(batch)
		}
		recs = recs[n:]
	}
	if err == nil {
		err = fresh.Sync(context.Background(), fresh.EndOffset())
	}
	if cerr := fresh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return old, fmt.Errorf("kvlog: rewrite %s: write %s: %w", d.Path, tmp, err)
	}
	if err := old.Close(); err != nil {
		return old, fmt.Errorf("kvlog: rewrite %s: close the old log: %w", d.Path, err)
	}
	swapErr := d.swap(fsys, tmp)
	if swapErr != nil {
		if err := d.Recover(); err != nil {
			swapErr = errors.Join(swapErr, err)
		}
	}
	l, err := d.open(d.Path)
	if err != nil {
		return nil, errors.Join(swapErr, err)
	}
	if swapErr != nil {
		return l, fmt.Errorf("kvlog: rewrite %s: swap logs: %w", d.Path, swapErr)
	}
	return l, nil
}

func (d Dir) swap(fsys vfs.FS, tmp string) error {
	if err := fsys.Rename(d.Path, d.Path+".old"); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, d.Path); err != nil {
		return err
	}
	if err := fsys.SyncDir(filepath.Dir(d.Path)); err != nil {
		return err
	}
	return fsys.RemoveAll(d.Path + ".old")
}
