package storage_test

import (
	"context"
	"testing"

	"github.com/millstream/millstream/broker/storage"
)

func TestTruncateTo(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentBytes: 2 << 10, IndexIntervalBytes: 200})
	for range 40 {
		e.append(2, 300) // batches [0,1], [2,3], ...; a few per segment
	}
	segs := countSegments(t, e.mem)
	end, err := e.log.TruncateTo(81)
	if err != nil || end != 80 {
		t.Fatalf("TruncateTo(past the end) = %d, %v; want 80, nil", end, err)
	}
	// 31 is inside the batch [30,31]: that batch goes whole.
	end, err = e.log.TruncateTo(31)
	if err != nil || end != 30 {
		t.Fatalf("TruncateTo(31) = %d, %v; want 30", end, err)
	}
	e.want = e.want[:15]
	e.check(e.want)
	if n := countSegments(t, e.mem); n >= segs {
		t.Fatalf("%d segments after truncating half the log, had %d", n, segs)
	}
	// Appends continue from the new end, and every offset reads back.
	if res := e.append(1, 10); res.BaseOffset != 30 {
		t.Fatalf("append after TruncateTo got %d, want 30", res.BaseOffset)
	}
	for range 10 {
		e.append(2, 300)
	}
	e.check(e.want)
	off, _, found := e.log.OffsetForTime(0)
	if !found || off != 0 {
		t.Fatalf("OffsetForTime(0) = %d, %v", off, found)
	}
	// The truncation is durable: a power loss does not bring the old
	// batches back, and what was synced since stays.
	if err := e.log.Sync(context.Background(), e.log.EndOffset()); err != nil {
		t.Fatal(err)
	}
	e.abandon()
	e.mem.Crash()
	e.open()
	e.check(e.want)

	if err := e.log.DeleteRecords(10); err != nil {
		t.Fatal(err)
	}
	_, err = e.log.TruncateTo(9)
	wantErr(t, "TruncateTo(below the start)", err, storage.ErrOffsetOutOfRange)
	end, err = e.log.TruncateTo(10)
	if err != nil || end != 10 || e.log.EndOffset() != 10 {
		t.Fatalf("TruncateTo(start) = %d, %v; end %d", end, err, e.log.EndOffset())
	}
	e.reopen()
	if e.log.StartOffset() != 10 || e.log.EndOffset() != 10 {
		t.Fatalf("after reopen: start %d end %d, want 10 10", e.log.StartOffset(), e.log.EndOffset())
	}
}

// An fsync that was in flight when the log was truncated must not count
// for the offsets appended after the truncation: the Sync waiting on it must
// run another.
func TestTruncateDuringSync(t *testing.T) {
	e := newEnv(t, storage.Options{})
	e.append(1, 10)
	res := e.append(1, 10)
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	e.fy.SetSyncHook(func(string) {
		if first {
			first = false
			close(entered)
			<-release
		}
	})
	before := e.fy.Syncs()
	done := make(chan error)
	go func() { done <- e.log.Sync(context.Background(), res.LastOffset+1) }()
	<-entered
	if _, err := e.log.TruncateTo(1); err != nil {
		t.Fatal(err)
	}
	e.append(1, 10) // reuses offset 1, written after the fsync began
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// One fsync for the truncation itself, the stale one, and a fresh one
	// for the rewritten offset 1.
	if got := e.fy.Syncs() - before; got != 3 {
		t.Fatalf("%d fsyncs; want 3 (truncation, the stale one, a fresh one)", got)
	}
	if e.log.DurableOffset() != 2 {
		t.Fatalf("DurableOffset = %d, want 2", e.log.DurableOffset())
	}
}
