package storage_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

func TestCrashDropsUnsyncedKeepsSynced(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentBytes: 4 << 10})
	for range 30 {
		e.append(2, 100)
	}
	res := e.append(1, 10)
	if err := e.log.Sync(context.Background(), res.LastOffset+1); err != nil {
		t.Fatal(err)
	}
	synced := len(e.want)
	for range 5 {
		e.append(2, 100) // never synced
	}
	e.abandon()
	e.mem.Crash()
	e.open()
	if got := e.log.EndOffset(); got != res.LastOffset+1 {
		t.Fatalf("EndOffset after crash = %d, want %d (everything synced, nothing more)", got, res.LastOffset+1)
	}
	e.check(e.want[:synced])
	e.want = e.want[:synced]
	e.append(1, 1)
	e.check(e.want)
}

func TestTornWriteIsCutOnRecovery(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("power-loss=%v", crash), func(t *testing.T) {
			e := newEnv(t, storage.Options{})
			var last storage.AppendResult
			for range 10 {
				last = e.append(3, 200)
			}
			if err := e.log.Sync(context.Background(), last.LastOffset+1); err != nil {
				t.Fatal(err)
			}
			// The next append is torn: 100 of its bytes land, then the
			// "process dies" (every later mutation fails).
			e.fy.FailAfterBytes(100)
			_, err := e.log.Append(makeBatch(t, e.rng, 3, 200, 0))
			wantErr(t, "torn Append", err, vfs.ErrInjected)
			_, err = e.log.Append(makeBatch(t, e.rng, 1, 1, 0))
			wantErr(t, "Append after a failed write", err, storage.ErrLogFailed)
			e.abandon()
			if crash {
				// The torn prefix reached the disk and was even synced.
				f, err := e.mem.OpenReadWrite(dir + "/00000000000000000000.log")
				if err != nil {
					t.Fatal(err)
				}
				f.Sync()
				e.mem.Crash()
			}
			e.fy.Heal()
			e.open()
			if got := e.log.EndOffset(); got != last.LastOffset+1 {
				t.Fatalf("EndOffset after recovery = %d, want %d", got, last.LastOffset+1)
			}
			e.check(e.want)
			st, _ := e.mem.Stat(dir + "/00000000000000000000.log")
			var size int64
			for _, b := range e.want {
				size += int64(len(b))
			}
			if st.Size() != size {
				t.Fatalf("segment is %d bytes after recovery, want %d", st.Size(), size)
			}
			e.append(1, 1)
			e.check(e.want)
		})
	}
}

func TestCorruptActiveSegmentCutAtFirstBadBatch(t *testing.T) {
	e := newEnv(t, storage.Options{})
	for range 10 {
		e.append(2, 50)
	}
	// Flip a byte inside the 6th batch.
	pos := 0
	for _, b := range e.want[:5] {
		pos += len(b)
	}
	flip(t, e.mem, dir+"/00000000000000000000.log", int64(pos+record.HeaderSize+3))
	e.abandon()
	e.open()
	e.check(e.want[:5])
	if got, want := e.log.EndOffset(), int64(10); got != want {
		t.Fatalf("EndOffset = %d, want %d", got, want)
	}
}

func TestCorruptClosedSegmentIsReportedOnRead(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentBytes: 2 << 10})
	for range 20 {
		e.append(1, 400)
	}
	e.reopen()
	// Damage the second batch of the first (closed) segment.
	pos := int64(len(e.want[0]))
	flip(t, e.mem, dir+"/00000000000000000000.log", pos+record.HeaderSize+10)
	if _, err := e.log.Read(0, 1); err != nil {
		t.Fatalf("Read of the intact first batch = %v", err)
	}
	data, err := e.log.Read(1, 1<<20)
	var ce *storage.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, storage.ErrCorruptSegment) || data != nil {
		t.Fatalf("Read over the damage = %d bytes, %v; want a *CorruptError", len(data), err)
	}
	if !strings.HasSuffix(ce.File, "00000000000000000000.log") || ce.Pos != pos {
		t.Fatalf("CorruptError names %s at %d, want the first segment at %d", ce.File, ce.Pos, pos)
	}
	if !strings.Contains(err.Error(), "00000000000000000000.log") || !strings.Contains(err.Error(), fmt.Sprint(pos)) {
		t.Fatalf("error %q does not name the file and position", err)
	}
	// A read that stops before the damage still works.
	if data, err := e.log.Read(0, len(e.want[0])); err != nil || len(data) != len(e.want[0]) {
		t.Fatalf("Read(0) = %d bytes, %v", len(data), err)
	}
}

func TestMissingIndexOfClosedSegmentIsRebuilt(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentBytes: 2 << 10, IndexIntervalBytes: 100})
	for range 30 {
		e.append(2, 100)
	}
	e.log.Close()
	e.log = nil
	if err := e.mem.Remove(dir + "/00000000000000000000.index"); err != nil {
		t.Fatal(err)
	}
	f, _ := e.mem.OpenReadWrite(dir + "/00000000000000000000.timeindex")
	f.Truncate(5) // not a whole entry
	e.open()
	e.check(e.want)
	if _, err := e.mem.Stat(dir + "/00000000000000000000.index"); err != nil {
		t.Fatalf("index not rebuilt: %v", err)
	}
}

func TestSyncFailureFailsTheLog(t *testing.T) {
	e := newEnv(t, storage.Options{})
	res := e.append(1, 10)
	e.fy.FailSyncAt(1)
	err := e.log.Sync(context.Background(), res.LastOffset+1)
	wantErr(t, "Sync", err, storage.ErrLogFailed)
	_, err = e.log.Append(makeBatch(t, e.rng, 1, 1, 0))
	wantErr(t, "Append after a failed fsync", err, storage.ErrLogFailed)
	err = e.log.Sync(context.Background(), res.LastOffset+1)
	wantErr(t, "Sync again", err, storage.ErrLogFailed)
	e.abandon()
	e.fy.Heal()
	e.open()
	e.check(e.want)
}

// flip inverts one byte of a file in m.
func flip(t *testing.T, m *vfs.Mem, name string, pos int64) {
	t.Helper()
	f, err := m.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, pos); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, pos); err != nil {
		t.Fatal(err)
	}
}

func TestTransientWriteErrorLeavesLogUsable(t *testing.T) {
	e := newEnv(t, storage.Options{})
	e.append(2, 100)
	e.fy.SetTransient(true) // a full disk: one write fails, the next works
	for _, inject := range []func(){
		func() { e.fy.FailAfterBytes(30) }, // torn: 30 bytes land
		func() { e.fy.FailWriteAt(1) },     // nothing lands
	} {
		end := e.log.EndOffset()
		inject()
		_, err := e.log.Append(makeBatch(t, e.rng, 1, 100, 0))
		wantErr(t, "Append", err, vfs.ErrInjected)
		if res := e.append(1, 10); res.BaseOffset != end {
			t.Fatalf("append after a failed one got offset %d, want %d", res.BaseOffset, end)
		}
		e.check(e.want)
	}
	e.abandon()
	e.open()
	e.check(e.want)
}

// A batch with a gap in its offsets (as log compaction leaves them) is not
// what producers send, but Append takes it; recovery must keep it too.
func TestRecoveryKeepsWhatAppendTook(t *testing.T) {
	e := newEnv(t, storage.Options{})
	b, err := record.Build(0, record.Record{Value: []byte("a")}, record.Record{Value: []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	// Second record: length, attributes, timestamp delta, then its offset
	// delta (1, zig-zag 0x02): make it 2 and lastOffsetDelta 2.
	first := int(b[record.HeaderSize]/2) + 1
	p := record.HeaderSize + first + 3
	if b[p] != 0x02 {
		t.Fatalf("unexpected encoding: %x", b[record.HeaderSize:])
	}
	b[p] = 0x04
	binary.BigEndian.PutUint32(b[23:], 2)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := record.Validate(b); err == nil {
		t.Fatal("Validate accepted offset deltas 0, 2")
	}
	if _, err := e.log.Append(b); err != nil {
		t.Fatalf("Append = %v", err)
	}
	e.want = append(e.want, b)
	e.abandon()
	e.open()
	if e.log.EndOffset() != 3 {
		t.Fatalf("EndOffset after recovery = %d, want 3", e.log.EndOffset())
	}
	e.check(e.want)
}
