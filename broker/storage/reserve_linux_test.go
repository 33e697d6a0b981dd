package storage_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
)

// allocatedBytes returns the file's size and the disk space allocated to it.
func allocatedBytes(t *testing.T, path string) (size, allocated int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size(), fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// TestSegmentSpaceReservedAheadAndGivenBack: while a segment is written,
// disk space is allocated ahead of its writes without changing the file's
// size; what was not used is given back when the segment is sealed by a
// roll (also when a crash came between) and when the log is closed, and a
// reopened log reads exactly what was written.
func TestSegmentSpaceReservedAheadAndGivenBack(t *testing.T) {
	probe, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Fallocate(int(probe.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, 1<<20)
	probe.Close()
	if err != nil {
		t.Skipf("the temporary directory's file system cannot reserve space (fallocate: %v)", err)
	}
	for _, wb := range []bool{true, false} {
		name := "write-behind"
		if !wb {
			name = "direct"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			const segBytes = 8 << 20
			opts := storage.Options{WriteBehind: wb, SegmentBytes: segBytes}
			l, err := storage.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			var want [][]byte
			appendSync := func(n int) {
				for range n {
					b := makeBatch(t, rng, 1, 30_000+rng.IntN(20_000), 1)
					if _, err := l.Append(b); err != nil {
						t.Fatal(err)
					}
					want = append(want, append([]byte(nil), b...)) // as stored
				}
				if err := l.Sync(context.Background(), l.EndOffset()); err != nil {
					t.Fatal(err)
				}
			}
			appendSync(40) // about 1.6 MB, in the first segment
			first := filepath.Join(dir, "00000000000000000000.log")
			size, alloc := allocatedBytes(t, first)
			if size != l.Size() {
				t.Fatalf("active segment is %d bytes on disk, the log holds %d: the reservation changed the file's size", size, l.Size())
			}
			// Without a reservation a synced file has its size rounded up
			// to a block allocated.
			if alloc < (size+4095)/4096*4096+64<<10 {
				t.Fatalf("active segment of %d bytes has %d bytes allocated; want space reserved ahead of its writes", size, alloc)
			}

			// A crash (the log is dropped unclosed) leaves the reservation;
			// recovery notes it, and the seal below still gives it back.
			l, err = storage.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, alloc = allocatedBytes(t, first); alloc < (size+4095)/4096*4096+64<<10 {
				t.Fatalf("reservation gone after the crash (%d bytes allocated to %d): the test no longer checks recovery", alloc, size)
			}

			// Past 8 MiB the first segment is sealed: its reservation goes.
			for l.EndOffset() < 300 {
				appendSync(20)
			}
			size, alloc = allocatedBytes(t, first)
			if size > segBytes || alloc > size+64<<10 {
				t.Fatalf("sealed segment of %d bytes has %d bytes allocated; want its reservation given back", size, alloc)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			segs, err := filepath.Glob(filepath.Join(dir, "*.log"))
			if err != nil || len(segs) < 2 {
				t.Fatalf("segments %v (%v); want a roll", segs, err)
			}
			size, alloc = allocatedBytes(t, segs[len(segs)-1])
			if alloc > size+64<<10 {
				t.Fatalf("active segment of %d bytes has %d bytes allocated after Close; want its reservation given back", size, alloc)
			}

			l, err = storage.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var got [][]byte
			for off := int64(0); off < l.EndOffset(); {
				data, err := l.Read(off, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				parts, err := record.Split(data)
				if err != nil || len(parts) == 0 {
					t.Fatalf("Read(%d): %d batches, %v", off, len(parts), err)
				}
				got = append(got, parts...)
				off += int64(len(parts))
			}
			if len(got) != len(want) {
				t.Fatalf("read %d batches after reopening, wrote %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("batch %d differs after reopening", i)
				}
			}
		})
	}
}
