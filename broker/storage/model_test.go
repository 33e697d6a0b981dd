package storage_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// TestRandomCrashes drives a log through random appends, syncs, record
// deletions and retention runs on the in-memory file system, injecting torn
// writes, failed fsyncs and power losses at random points. After every
// recovery it checks the promises: every batch below the last successful
// Sync is there; what is there is exactly what was appended, in order; the
// start offset never goes back below a DeleteRecords that returned.
func TestRandomCrashes(t *testing.T) {
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	for seed := range uint64(rounds) {
		runCrashModel(t, seed)
	}
}

func runCrashModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	mem := vfs.NewMem()
	fy := vfs.NewFaulty(mem)
	fy.SetTransient(seed%2 == 1) // odd seeds: faults fail one operation only
	clk := newClock()
	opts := storage.Options{
		FS: fy, Now: clk.Now,
		SegmentBytes: 2048, IndexIntervalBytes: 128,
		SegmentMs: time.Hour, RetentionMs: 3 * time.Hour,
	}
	// appended[o] is the batch whose base offset is o.
	appended := map[int64][]byte{}
	var synced, minStart int64 // promises
	open := func() *storage.Log {
		l, err := storage.Open(dir, opts)
		if err != nil {
			t.Fatalf("seed %d: Open = %v", seed, err)
		}
		return l
	}
	verify := func(l *storage.Log) {
		t.Helper()
		start, end := l.StartOffset(), l.EndOffset()
		if end < synced {
			t.Fatalf("seed %d: end offset %d after recovery, but %d was synced", seed, end, synced)
		}
		if start < minStart {
			t.Fatalf("seed %d: start offset %d went back below %d", seed, start, minStart)
		}
		off := int64(-1)
		for b, err := range l.Batches(start) {
			if err != nil {
				t.Fatalf("seed %d: reading back: %v", seed, err)
			}
			h, _ := record.ParseHeader(b)
			if off >= 0 && h.BaseOffset != off {
				t.Fatalf("seed %d: batch at %d follows one ending at %d", seed, h.BaseOffset, off-1)
			}
			if want, ok := appended[h.BaseOffset]; !ok || !bytes.Equal(want, b) {
				t.Fatalf("seed %d: batch at offset %d is not the one appended there", seed, h.BaseOffset)
			}
			off = h.LastOffset() + 1
		}
		if off >= 0 && off != end {
			t.Fatalf("seed %d: batches end at %d, EndOffset is %d", seed, off, end)
		}
		var files int64
		names, _ := mem.ReadDir(dir)
		for _, n := range names {
			if strings.HasSuffix(n, ".log") {
				st, _ := mem.Stat(dir + "/" + n)
				files += st.Size()
			}
		}
		if l.Size() != files {
			t.Fatalf("seed %d: Size() = %d, the .log files hold %d", seed, l.Size(), files)
		}
		// Offsets past the recovered end will be reused.
		for o := range appended {
			if o >= end {
				delete(appended, o)
			}
		}
		synced = min(synced, end)
		minStart = max(minStart, start)
	}

	l := open()
	for range 120 {
		switch op := rng.IntN(23); {
		case op == 22:
			start, end := l.StartOffset(), l.EndOffset()
			if end > start {
				to := start + rng.Int64N(end-start+1)
				newEnd, err := l.TruncateTo(to)
				if err == nil {
					for o := range appended {
						if o >= newEnd {
							delete(appended, o)
						}
					}
					synced = min(synced, newEnd)
				} else {
					// A failed truncation may have cut partway: down
					// to the batch holding to, at most.
					cut := int64(0)
					for o := range appended {
						if o <= to {
							cut = max(cut, o)
						}
					}
					synced = min(synced, cut)
				}
			}
		case op >= 20 && op < 22:
			start, end := l.StartOffset(), l.EndOffset()
			if end > start {
				off := start + rng.Int64N(end-start)
				data, err := l.Read(off, rng.IntN(3000))
				if err != nil {
					break // a failed log may refuse; not a promise
				}
				parts, err := record.Split(data)
				if err != nil || len(parts) == 0 {
					t.Fatalf("seed %d: Read(%d) = %d bytes that do not split: %v", seed, off, len(data), err)
				}
				for _, p := range parts {
					h, _ := record.ParseHeader(p)
					if want, ok := appended[h.BaseOffset]; !ok || !bytes.Equal(want, p) {
						t.Fatalf("seed %d: Read(%d) returned a batch at %d that was not appended there", seed, off, h.BaseOffset)
					}
				}
				if h, _ := record.ParseHeader(parts[0]); off < h.BaseOffset || off > h.LastOffset() {
					t.Fatalf("seed %d: Read(%d) starts with [%d, %d]", seed, off, h.BaseOffset, h.LastOffset())
				}
			}
		case op < 10:
			b := makeBatch(t, rng, 1+rng.IntN(3), rng.IntN(300), clk.Millis())
			if res, err := l.Append(b); err == nil {
				appended[res.BaseOffset] = b
			}
		case op < 13:
			end := l.EndOffset()
			if err := l.Sync(context.Background(), end); err == nil {
				synced = max(synced, end)
			}
		case op < 14:
			end := l.EndOffset()
			if end > 0 {
				before := rng.Int64N(end + 1)
				if err := l.DeleteRecords(before); err == nil {
					minStart = max(minStart, before)
				}
			}
		case op < 15:
			clk.Add(time.Duration(rng.IntN(90)) * time.Minute)
			// Retention deletes data, synced or not; once it returns
			// nil the deletion is durable.
			if err := l.EnforceRetention(); err == nil {
				minStart = max(minStart, l.StartOffset())
			}
		case op < 16:
			if rng.IntN(2) == 0 {
				fy.FailAfterBytes(int64(rng.IntN(400)))
			} else {
				fy.FailWriteAt(1 + rng.IntN(4))
			}
		case op < 17:
			fy.FailSyncAt(1 + rng.IntN(3))
		case op < 18:
			l.Close()
			fy.Heal()
			l = open()
			verify(l)
		default:
			// Power loss (or, one time in three, a killed process).
			if rng.IntN(3) != 0 {
				mem.Crash()
			}
			fy.Heal()
			l = open()
			verify(l)
		}
	}
	l.Close()
	fy.Heal()
	l = open()
	verify(l)
	l.Close()
}
