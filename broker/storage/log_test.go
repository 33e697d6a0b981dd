package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

func TestAppendAssignsOffsetsAndReadReturnsStoredBytes(t *testing.T) {
	forEachFS(t, storage.Options{}, func(t *testing.T, e *env) {
		next := int64(0)
		for i := range 50 {
			n := 1 + i%7
			res := e.append(n, 10+i*13)
			if res.BaseOffset != next || res.LastOffset != next+int64(n-1) || res.LogAppendTime != -1 {
				t.Fatalf("append %d = %+v, want base %d", i, res, next)
			}
			next += int64(n)
		}
		if got := e.log.EndOffset(); got != next {
			t.Fatalf("EndOffset = %d, want %d", got, next)
		}
		e.check(e.want)

		// Reading from any offset starts with the batch that holds it.
		for off := int64(0); off < next; off++ {
			data, err := e.log.Read(off, 1)
			if err != nil {
				t.Fatal(err)
			}
			h, err := record.Validate(data)
			if err != nil {
				t.Fatalf("Read(%d, 1) = not exactly one batch: %v", off, err)
			}
			if off < h.BaseOffset || off > h.LastOffset() {
				t.Fatalf("Read(%d) starts with batch [%d, %d]", off, h.BaseOffset, h.LastOffset())
			}
		}
		if data, err := e.log.Read(next, 100); data != nil || err != nil {
			t.Fatalf("Read(end) = %d bytes, %v; want nil, nil", len(data), err)
		}
		_, err := e.log.Read(next+1, 100)
		wantErr(t, "Read(end+1)", err, storage.ErrOffsetOutOfRange)
		_, err = e.log.Read(-1, 100)
		wantErr(t, "Read(-1)", err, storage.ErrOffsetOutOfRange)
	})
}

func TestReadMaxBytes(t *testing.T) {
	forEachFS(t, storage.Options{}, func(t *testing.T, e *env) {
		for range 10 {
			e.append(4, 500) // each batch a bit over 2 KiB
		}
		size := len(e.want[0])
		for _, tc := range []struct{ max, want int }{
			{0, 1}, {1, 1}, {size - 1, 1}, {size, 1}, {2*size - 1, 1}, {2 * size, 2}, {1 << 20, 10},
		} {
			data, err := e.log.Read(0, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			parts, err := record.Split(data)
			if err != nil || len(parts) != tc.want {
				t.Errorf("Read(0, %d) = %d batches (%v), want %d", tc.max, len(parts), err, tc.want)
			}
		}
	})
}

func TestRollBySizeAndIndexLookupsAcrossSegments(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentBytes: 8 << 10, IndexIntervalBytes: 256})
	for range 300 {
		e.append(1+e.rng.IntN(5), e.rng.IntN(300))
	}
	names, err := e.mem.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	for _, n := range names {
		if strings.HasSuffix(n, ".log") {
			logs = append(logs, n)
		}
	}
	if len(logs) < 10 {
		t.Fatalf("%d segments after 300 appends of up to 1.5 KiB into 8 KiB segments", len(logs))
	}
	if logs[0] != "00000000000000000000.log" || len(logs[1]) != len("00000000000000000000.log") {
		t.Fatalf("segment names %v", logs[:2])
	}
	for _, n := range logs {
		st, _ := e.mem.Stat(dir + "/" + n)
		if st.Size() > 8<<10 {
			t.Errorf("segment %s is %d bytes, over SegmentBytes", n, st.Size())
		}
	}
	check := func() {
		t.Helper()
		e.check(e.want)
		// Every offset, in random order, across sealed (file index) and
		// active (memory index) segments.
		end := e.log.EndOffset()
		for _, off := range e.rng.Perm(int(end)) {
			data, err := e.log.Read(int64(off), 0)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := record.ParseHeader(data)
			if int64(off) < h.BaseOffset || int64(off) > h.LastOffset() {
				t.Fatalf("Read(%d) starts with [%d, %d]", off, h.BaseOffset, h.LastOffset())
			}
		}
	}
	check()
	e.reopen()
	check()
	var total int64
	for _, b := range e.want {
		total += int64(len(b))
	}
	if e.log.Size() != total {
		t.Fatalf("Size = %d, want %d", e.log.Size(), total)
	}
}

func TestRollByAge(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentMs: time.Hour})
	e.append(1, 10)
	e.clock.Add(59 * time.Minute)
	e.append(1, 10)
	if n := countSegments(t, e.mem); n != 1 {
		t.Fatalf("%d segments before SegmentMs passed, want 1", n)
	}
	e.clock.Add(time.Minute)
	res := e.append(1, 10)
	if n := countSegments(t, e.mem); n != 2 {
		t.Fatalf("%d segments after SegmentMs passed, want 2", n)
	}
	if _, err := e.mem.Stat(fmt.Sprintf("%s/%020d.log", dir, res.BaseOffset)); err != nil {
		t.Fatalf("new segment not named by its base offset: %v", err)
	}
	// The age counts from the new segment's first batch.
	e.clock.Add(30 * time.Minute)
	e.append(1, 10)
	if n := countSegments(t, e.mem); n != 2 {
		t.Fatalf("%d segments, want 2", n)
	}
	e.check(e.want)
}

func countSegments(t *testing.T, m *vfs.Mem) int {
	t.Helper()
	names, err := m.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, ".log") {
			n++
		}
	}
	return n
}

func TestReopenKeepsIdenticalBytesAndContinues(t *testing.T) {
	for _, clean := range []bool{true, false} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			e := newEnv(t, storage.Options{SegmentBytes: 4 << 10, IndexIntervalBytes: 100})
			for range 40 {
				e.append(3, 100)
			}
			end := e.log.EndOffset()
			if clean {
				e.reopen()
			} else {
				e.abandon()
				e.open()
			}
			if e.log.EndOffset() != end {
				t.Fatalf("EndOffset after reopen = %d, want %d", e.log.EndOffset(), end)
			}
			e.check(e.want)
			res := e.append(2, 5)
			if res.BaseOffset != end {
				t.Fatalf("first append after reopen got offset %d, want %d", res.BaseOffset, end)
			}
			e.check(e.want)
		})
	}
}

func TestLogAppendTime(t *testing.T) {
	forEachFS(t, storage.Options{LogAppendTime: true}, func(t *testing.T, e *env) {
		e.clock.Add(time.Hour)
		b := makeBatch(t, e.rng, 3, 10, 5) // producer timestamps far in the past
		res, err := e.log.Append(b)
		if err != nil {
			t.Fatal(err)
		}
		if res.LogAppendTime != e.clock.Millis() {
			t.Fatalf("LogAppendTime = %d, want %d", res.LogAppendTime, e.clock.Millis())
		}
		data, _ := e.log.Read(0, 1<<20)
		h, err := record.Validate(data)
		if err != nil {
			t.Fatal(err)
		}
		if h.TimestampType() != record.LogAppendTime || h.MaxTimestamp != e.clock.Millis() {
			t.Fatalf("stored header %+v", h)
		}
	})
}

func TestAppendRefuses(t *testing.T) {
	e := newEnv(t, storage.Options{MaxMessageBytes: 1000})
	_, err := e.log.Append(makeBatch(t, e.rng, 1, 1000, 0))
	wantErr(t, "Append(too large)", err, storage.ErrBatchTooLarge)
	b := makeBatch(t, e.rng, 1, 10, 0)
	_, err = e.log.Append(b[:len(b)-1])
	wantErr(t, "Append(short)", err, record.ErrCorrupt)
	if e.log.EndOffset() != 0 {
		t.Fatal("a refused batch moved the end offset")
	}
	e.log.Close()
	_, err = e.log.Append(b)
	wantErr(t, "Append after Close", err, storage.ErrClosed)
	_, err = e.log.Read(0, 10)
	wantErr(t, "Read after Close", err, storage.ErrClosed)
}

func TestSetOptions(t *testing.T) {
	e := newEnv(t, storage.Options{})
	e.append(1, 2000)
	if err := e.log.SetOptions(storage.Options{MaxMessageBytes: 100}); err != nil {
		t.Fatal(err)
	}
	_, err := e.log.Append(makeBatch(t, e.rng, 1, 200, 0))
	wantErr(t, "Append after lowering MaxMessageBytes", err, storage.ErrBatchTooLarge)
	if err := e.log.SetOptions(storage.Options{SegmentBytes: 5}); err == nil {
		t.Fatal("SetOptions(SegmentBytes: 5) accepted")
	}
}

func TestOptionsValidate(t *testing.T) {
	var o storage.Options
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if o.SegmentBytes != 1<<30 || o.SegmentMs != 7*24*time.Hour || o.RetentionMs != 7*24*time.Hour ||
		o.RetentionBytes != -1 || o.IndexIntervalBytes != 4096 || o.MaxMessageBytes != 1048588 || o.FS != vfs.Default {
		t.Fatalf("defaults = %+v", o)
	}
	bad := o
	bad.SegmentBytes, bad.IndexIntervalBytes, bad.MaxMessageBytes = 1<<40, -2, -5
	err := bad.Validate()
	for _, field := range []string{"SegmentBytes", "IndexIntervalBytes", "MaxMessageBytes"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to name %s", err, field)
		}
	}
}

func TestAppendedWakesWaiters(t *testing.T) {
	e := newEnv(t, storage.Options{})
	ch := e.log.Appended()
	select {
	case <-ch:
		t.Fatal("Appended closed before any append")
	default:
	}
	e.append(1, 1)
	select {
	case <-ch:
	default:
		t.Fatal("Appended not closed by an append")
	}
	ch2 := e.log.Appended()
	if ch2 == ch {
		t.Fatal("Appended returned the closed channel again")
	}
	e.log.Close()
	<-ch2
}

func TestOSFileSystem(t *testing.T) {
	d := t.TempDir()
	l, err := storage.Open(d, storage.Options{SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var want []byte
	for range 20 {
		b := makeBatch(t, rng, 2, 300, time.Now().UnixMilli())
		if _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b...)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = storage.Open(d, storage.Options{SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []byte
	for off := int64(0); ; {
		data, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if data == nil {
			break
		}
		parts, _ := record.Split(data)
		h, _ := record.ParseHeader(parts[len(parts)-1])
		off = h.LastOffset() + 1
		got = append(got, data...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes back, want the %d appended", len(got), len(want))
	}
	names, _ := vfs.Default.ReadDir(d)
	if !slices.Contains(names, "00000000000000000000.index") || !slices.Contains(names, "00000000000000000000.timeindex") {
		t.Fatalf("directory holds %v", names)
	}
}

func TestReadUntilAndBatches(t *testing.T) {
	forEachFS(t, storage.Options{}, func(t *testing.T, e *env) {
		for range 10 {
			e.append(2, 30) // offsets 0-1, 2-3, ...
		}
		data, err := e.log.ReadUntil(0, 1<<20, 5)
		if err != nil {
			t.Fatal(err)
		}
		parts, _ := record.Split(data)
		if len(parts) != 3 { // [0,1] [2,3] [4,5]: the third starts below 5
			t.Fatalf("ReadUntil(0, 5) = %d batches, want 3", len(parts))
		}
		if data, err := e.log.ReadUntil(6, 1<<20, 6); data != nil || err != nil {
			t.Fatalf("ReadUntil(6, 6) = %d bytes, %v; want nil, nil", len(data), err)
		}
		// The batch holding offset is returned when it starts below until.
		if data, _ := e.log.ReadUntil(5, 1, 6); len(data) == 0 {
			t.Fatal("ReadUntil(5, 1, 6) returned nothing; the batch [4,5] holds 5")
		}
		var got [][]byte
		for b, err := range e.log.Batches(3) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		}
		if len(got) != 9 || !bytes.Equal(got[0], e.want[1]) || !bytes.Equal(got[8], e.want[9]) {
			t.Fatalf("Batches(3) = %d batches", len(got))
		}
	})
}

func TestDurableOffset(t *testing.T) {
	e := newEnv(t, storage.Options{})
	res := e.append(3, 1)
	if e.log.DurableOffset() != 0 {
		t.Fatalf("DurableOffset before Sync = %d", e.log.DurableOffset())
	}
	if err := e.log.Sync(t.Context(), res.LastOffset+1); err != nil {
		t.Fatal(err)
	}
	if e.log.DurableOffset() != 3 {
		t.Fatalf("DurableOffset after Sync = %d, want 3", e.log.DurableOffset())
	}
}

// dirSyncRecorder records the directories fsynced through it.
type dirSyncRecorder struct {
	vfs.FS
	synced []string
}

func (r *dirSyncRecorder) SyncDir(dir string) error {
	r.synced = append(r.synced, dir)
	return r.FS.SyncDir(dir)
}

func TestOpenSyncsTheParentOfANewDirectory(t *testing.T) {
	mem := vfs.NewMem()
	mem.MkdirAll("/data", 0o755)
	rec := &dirSyncRecorder{FS: mem}
	l, err := storage.Open("/data/a/topic-0", storage.Options{FS: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, want := range []string{"/data", "/data/a", "/data/a/topic-0"} {
		if !slices.Contains(rec.synced, want) {
			t.Errorf("directory %s not fsynced when creating the log (fsynced: %v)", want, rec.synced)
		}
	}
	rec.synced = nil
	l.Close()
	l2, err := storage.Open("/data/a/topic-0", storage.Options{FS: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if slices.Contains(rec.synced, "/data/a") {
		t.Errorf("reopening an existing log fsynced its parent: %v", rec.synced)
	}
}

func TestTinySegmentsHoldOneBatchEach(t *testing.T) {
	e := newEnv(t, storage.Options{SegmentBytes: 14})
	for range 5 {
		e.append(2, 50)
	}
	if n := countSegments(t, e.mem); n != 5 {
		t.Fatalf("%d segments, want one per batch (5)", n)
	}
	e.reopen()
	e.check(e.want)
}

// TestAppendChecked: a batch validated by record.Check is appended without
// a second CRC check and reads back as stored; the zero record.Checked,
// which no validation produced, is refused and appends nothing.
func TestAppendChecked(t *testing.T) {
	l, err := storage.Open(dir, storage.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	b := makeBatch(t, rng, 3, 100, 1)
	c, _, err := record.Check(b)
	if err != nil {
		t.Fatal(err)
	}
	record.SetPartitionLeaderEpoch(c.Bytes(), 7) // outside the CRC
	res, err := l.AppendChecked(c)
	if err != nil {
		t.Fatal(err)
	}
	if res.BaseOffset != 0 || res.LastOffset != 2 {
		t.Fatalf("AppendChecked = offsets %d to %d, want 0 to 2", res.BaseOffset, res.LastOffset)
	}
	if _, err := l.AppendChecked(record.Checked{}); !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("AppendChecked(zero Checked) = %v, want ErrCorrupt", err)
	}
	if end := l.EndOffset(); end != 3 {
		t.Fatalf("end offset %d after a refused append, want 3", end)
	}
	got, err := l.Read(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b) {
		t.Fatalf("read back %d bytes, want the %d appended (offsets written in place)", len(got), len(b))
	}
}
