package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/storage"
)

func TestRetentionByAge(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentMs: time.Hour, RetentionMs: 3 * time.Hour})
	var firsts []int64
	for range 5 { // five segments, one per hour
		firsts = append(firsts, e.append(2, 10).BaseOffset)
		e.append(2, 10)
		e.clock.Add(time.Hour)
	}
	// Newest batches by segment: t0, t0+1h, ..., t0+4h; now is t0+5h.
	if err := e.log.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	// Segments whose newest batch is more than 3h old: those of t0 and t0+1h.
	if got := e.log.StartOffset(); got != firsts[2] {
		t.Fatalf("StartOffset = %d, want %d", got, firsts[2])
	}
	if n := countSegments(t, e.mem); n != 3 {
		t.Fatalf("%d segments left, want 3", n)
	}
	_, err := e.log.Read(firsts[1], 100)
	wantErr(t, "Read below the start", err, storage.ErrOffsetOutOfRange)
	e.check(e.want[4:])

	// Everything expired: the active segment goes too, after a roll.
	e.clock.Add(10 * time.Hour)
	end := e.log.EndOffset()
	if err := e.log.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	if e.log.StartOffset() != end || e.log.EndOffset() != end || e.log.Size() != 0 {
		t.Fatalf("after all expired: start %d end %d size %d, want %d %d 0", e.log.StartOffset(), e.log.EndOffset(), e.log.Size(), end, end)
	}
	e.reopen()
	if e.log.StartOffset() != end || e.log.EndOffset() != end {
		t.Fatalf("after reopen: start %d end %d, want %d", e.log.StartOffset(), e.log.EndOffset(), end)
	}
	if res := e.append(1, 1); res.BaseOffset != end {
		t.Fatalf("next append got offset %d, want %d", res.BaseOffset, end)
	}
}

func TestRetentionByAgeKeepsForeverWhenNegative(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentMs: time.Hour, RetentionMs: -1})
	for range 3 {
		e.append(1, 1)
		e.clock.Add(24 * time.Hour)
	}
	if err := e.log.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	if e.log.StartOffset() != 0 {
		t.Fatalf("StartOffset = %d with RetentionMs -1", e.log.StartOffset())
	}
}

func TestRetentionBySize(t *testing.T) {
	forEachFS(t, storage.Options{SegmentBytes: 4 << 10, RetentionBytes: 10 << 10}, func(t *testing.T, e *env) {
		for range 60 {
			e.append(1, 500)
		}
		before := e.log.Size()
		if err := e.log.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		after := e.log.Size()
		if after < 10<<10 || after > 10<<10+4<<10 {
			t.Fatalf("Size %d -> %d, want between RetentionBytes and RetentionBytes+SegmentBytes", before, after)
		}
		// What is left is a suffix of what was written.
		start := e.log.StartOffset()
		e.check(e.want[start:])
	})
}

func TestDeleteRecords(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentBytes: 2 << 10})
	for range 20 {
		e.append(1, 500) // about four batches per segment
	}
	segs := countSegments(t, e.mem)
	if err := e.log.DeleteRecords(10); err != nil {
		t.Fatal(err)
	}
	if e.log.StartOffset() != 10 {
		t.Fatalf("StartOffset = %d, want 10", e.log.StartOffset())
	}
	if n := countSegments(t, e.mem); n >= segs {
		t.Fatalf("%d segments after DeleteRecords, had %d: whole segments below 10 not deleted", n, segs)
	}
	_, err := e.log.Read(9, 100)
	wantErr(t, "Read(9)", err, storage.ErrOffsetOutOfRange)
	e.check(e.want[10:])
	err = e.log.DeleteRecords(21)
	wantErr(t, "DeleteRecords past the end", err, storage.ErrOffsetOutOfRange)
	if err := e.log.DeleteRecords(5); err != nil || e.log.StartOffset() != 10 {
		t.Fatalf("DeleteRecords(5) after 10 = %v, start %d", err, e.log.StartOffset())
	}
	// The start offset is durable: it survives a power loss.
	if err := e.log.Sync(context.Background(), e.log.EndOffset()); err != nil {
		t.Fatal(err)
	}
	e.abandon()
	e.mem.Crash()
	e.open()
	if e.log.StartOffset() != 10 {
		t.Fatalf("StartOffset after crash = %d, want 10", e.log.StartOffset())
	}
	// Up to the end: the log is empty but keeps its offsets.
	if err := e.log.DeleteRecords(e.log.EndOffset()); err != nil {
		t.Fatal(err)
	}
	if e.log.StartOffset() != 20 || e.log.EndOffset() != 20 {
		t.Fatalf("start %d end %d, want 20 20", e.log.StartOffset(), e.log.EndOffset())
	}
	if res := e.append(1, 1); res.BaseOffset != 20 || res.LogStartOffset != 20 {
		t.Fatalf("append after deleting everything = %+v", res)
	}
}

func TestStartOffsetPastLostData(t *testing.T) {
	e := newEnv(t, storage.Options{})
	for range 10 {
		e.append(1, 10) // never synced
	}
	if err := e.log.DeleteRecords(8); err != nil {
		t.Fatal(err)
	}
	e.abandon()
	e.mem.Crash() // the batches are gone, the durable start offset is not
	e.open()
	if e.log.StartOffset() != 8 || e.log.EndOffset() != 8 {
		t.Fatalf("start %d end %d, want 8 8", e.log.StartOffset(), e.log.EndOffset())
	}
	if res := e.append(1, 1); res.BaseOffset != 8 {
		t.Fatalf("next append got %d, want 8", res.BaseOffset)
	}
	if n := countSegments(t, e.mem); n != 1 {
		t.Fatalf("%d segments, want 1", n)
	}
}
