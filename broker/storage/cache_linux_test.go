package storage_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/millstream/millstream/broker/storage"
)

// residentBytes returns how many bytes of path in [from, to) are in the
// page cache (mincore), in whole pages.
func residentBytes(t *testing.T, path string, from, to int64) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (int64(len(m))+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	var n int64
	for i := from / page; i < (to+page-1)/page && i < int64(len(vec)); i++ {
		if vec[i]&1 != 0 {
			n += page
		}
	}
	return n
}

// TestSyncDropsPageCacheBehindWindow: after group-commit syncs that end at
// arbitrary byte positions, the fsynced bytes of the active segment older
// than Options.PageCacheKeep are out of the page cache, whole (ranges that
// ended inside the kernel's large folios used to leave about half of them
// cached), while the last PageCacheKeep bytes stay; a negative
// PageCacheKeep drops nothing.
func TestSyncDropsPageCacheBehindWindow(t *testing.T) {
	const keep = 4 << 20
	for _, tc := range []struct {
		name string
		keep int64
	}{{"keep 4 MiB", keep}, {"never drop", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			l, err := storage.Open(dir, storage.Options{WriteBehind: true, PageCacheKeep: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 200 {
				// Odd sizes, 2 to 6 batches per sync: syncs end anywhere.
				for range 2 + i%5 {
					if _, err := l.Append(makeBatch(t, rng, 1, 40_000+rng.IntN(20_000), 1)); err != nil {
						t.Fatal(err)
					}
				}
				if err := l.Sync(context.Background(), l.EndOffset()); err != nil {
					t.Fatal(err)
				}
			}
			checkCacheWindow(t, dir, l.Size(), keep, tc.keep < 0)
		})
	}
}

// TestWritesWithoutSyncDropPageCacheBehindWindow: a log that is written but
// not fsynced (the broker's fsync policies interval and never, and acks=1)
// still keeps only about Options.PageCacheKeep bytes of its active segment
// in the page cache, whether Append writes each batch or Flush writes what
// write-behind held, and that claims nothing about durability: the durable
// offset stays where no Sync moved it. A negative PageCacheKeep drops
// nothing.
func TestWritesWithoutSyncDropPageCacheBehindWindow(t *testing.T) {
	const keep = 4 << 20
	for _, tc := range []struct {
		name        string
		writeBehind bool
		keep        int64
	}{
		{"append writes", false, keep},
		{"flush writes", true, keep},
		{"never drop", false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			l, err := storage.Open(dir, storage.Options{WriteBehind: tc.writeBehind, PageCacheKeep: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range 600 {
				if _, err := l.Append(makeBatch(t, rng, 1, 40_000+rng.IntN(20_000), 1)); err != nil {
					t.Fatal(err)
				}
				if tc.writeBehind && i%3 == 2 {
					if err := l.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			if d := l.DurableOffset(); d != 0 {
				t.Errorf("durable offset %d without a Sync, want 0", d)
			}
			checkCacheWindow(t, dir, l.Size(), keep, tc.keep < 0)
		})
	}
}

// checkCacheWindow checks the page cache of the first segment of the log in
// dir, size bytes long: with keepAll, most of the bytes older than the
// window of keep bytes are cached; else (nearly) none of them are, and most
// of the last keep bytes are.
func checkCacheWindow(t *testing.T, dir string, size, keep int64, keepAll bool) {
	t.Helper()
	seg := filepath.Join(dir, "00000000000000000000.log")
	behind := size - keep - 2<<20 // the window, plus the drop's step
	if behind < 16<<20 {
		t.Fatalf("wrote only %d bytes, want more to test", size)
	}
	old := residentBytes(t, seg, 0, behind)
	recent := residentBytes(t, seg, size-keep, size)
	if keepAll {
		if old < behind/2 {
			t.Errorf("PageCacheKeep -1: %d of the %d bytes older than the window are cached, want them kept", old, behind)
		}
		return
	}
	if old > behind/50 {
		t.Errorf("%d of the %d bytes older than the %d-byte window are still cached, want (nearly) none", old, behind, keep)
	}
	if recent < keep/2 {
		t.Errorf("%d of the last %d bytes are cached, want them kept", recent, keep)
	}
}
