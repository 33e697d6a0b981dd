package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// logFiles returns the number of .log files and their total size.
func (e *env) logFiles(t *testing.T) (n int, size int64) {
	t.Helper()
	names, err := e.fy.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, ".log") {
			st, err := e.fy.Stat(e.dir + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			n++
			size += st.Size()
		}
	}
	return n, size
}

func (e *env) sync(t *testing.T) {
	t.Helper()
	if err := e.log.Sync(context.Background(), e.log.EndOffset()); err != nil {
		t.Fatalf("Sync = %v", err)
	}
}

func TestWriteBehindKeepsEveryBatchThroughRollsReadsTruncateAndReopen(t *testing.T) {
	forEachFS(t, storage.Options{SegmentBytes: 8 << 10, IndexIntervalBytes: 512, WriteBehind: true}, func(t *testing.T, e *env) {
		var results []storage.AppendResult
		for i := range 60 {
			results = append(results, e.append(3, 100+i))
			if i%7 == 0 {
				e.check(e.want) // a read writes the bytes it needs first
			}
		}
		if _, size := e.logFiles(t); size >= e.log.Size() {
			t.Fatalf(".log files hold %d bytes after unsynced appends, want fewer than the log's %d (write-behind)", size, e.log.Size())
		}
		e.sync(t)
		if n, size := e.logFiles(t); n < 3 || size != e.log.Size() {
			t.Fatalf("after Sync: %d .log files of %d bytes, want >= 3 files (rolls) holding all %d bytes", n, size, e.log.Size())
		}
		e.append(1, 10) // left in memory, then cut
		if end, err := e.log.TruncateTo(results[50].BaseOffset); err != nil || end != results[50].BaseOffset {
			t.Fatalf("TruncateTo = %d, %v, want %d", end, err, results[50].BaseOffset)
		}
		e.want = e.want[:50]
		e.check(e.want)
		for range 5 {
			e.append(2, 300)
		}
		e.reopen() // Close writes what is held
		e.check(e.want)
	})
}

func TestWriteBehindCrashKeepsSyncedAndFlushed(t *testing.T) {
	for _, flush := range []bool{false, true} {
		name := map[bool]string{false: "power-loss-unsynced", true: "kill-after-flush"}[flush]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, storage.Options{SegmentBytes: 4 << 10, WriteBehind: true})
			for range 20 {
				e.append(2, 100)
			}
			e.sync(t)
			synced := len(e.want)
			end := e.log.EndOffset()
			for range 5 {
				e.append(2, 100)
			}
			if flush {
				if err := e.log.Flush(); err != nil {
					t.Fatal(err)
				}
				// A killed process: the written bytes are in the page
				// cache, which outlives it.
				e.abandon()
				e.open()
				e.check(e.want)
				return
			}
			e.abandon()
			e.mem.Crash()
			e.open()
			if got := e.log.EndOffset(); got != end {
				t.Fatalf("EndOffset after crash = %d, want %d (everything synced, nothing more)", got, end)
			}
			e.check(e.want[:synced])
		})
	}
}

func TestWriteBehindFailedWriteFailsSyncAndLog(t *testing.T) {
	e := newEnv(t, storage.Options{WriteBehind: true})
	for range 5 {
		e.append(2, 100)
	}
	e.sync(t)
	synced, end := len(e.want), e.log.EndOffset()
	e.fy.FailAfterBytes(100)
	res := e.append(3, 200) // only copied: no error yet
	err := e.log.Sync(context.Background(), res.LastOffset+1)
	wantErr(t, "Sync after a failed write", err, storage.ErrLogFailed)
	wantErr(t, "Sync after a failed write", err, vfs.ErrInjected)
	_, err = e.log.Append(makeBatch(t, e.rng, 1, 1, 0))
	wantErr(t, "Append after a failed write", err, storage.ErrLogFailed)
	wantErr(t, "Flush after a failed write", e.log.Flush(), storage.ErrLogFailed)
	e.abandon()
	e.fy.Heal()
	e.open()
	if got := e.log.EndOffset(); got != end {
		t.Fatalf("EndOffset after recovery = %d, want %d", got, end)
	}
	e.check(e.want[:synced])
}
