package storage

import (
	"golang.org/x/sys/unix"

	"github.com/millstream/millstream/broker/vfs"
)

// osFD returns the descriptor of f if it is an operating system file;
// ok is false for the others (vfs.Mem, wrappers).
func osFD(f vfs.File) (fd int, ok bool) {
	of, ok := f.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	return int(of.Fd()), true
}

// dropPages asks the kernel to drop the cached pages of f in [from, to).
// Files that are not operating system files and errors are ignored: this
// is advice only.
func dropPages(f vfs.File, from, to int64) {
	if fd, ok := osFD(f); ok {
		_ = unix.Fadvise(fd, from, to-from, unix.FADV_DONTNEED)
	}
}

// startWriteback asks the kernel to start writing the dirty pages of f in
// [from, to) to the disk, without waiting for it (this is no fsync: it
// promises nothing after a crash). Advice only, like dropPages.
func startWriteback(f vfs.File, from, to int64) {
	if fd, ok := osFD(f); ok {
		_ = unix.SyncFileRange(fd, from, to-from, unix.SYNC_FILE_RANGE_WRITE)
	}
}

// awaitWriteback writes the dirty pages of f in [from, to) that are not
// being written yet and waits until all of them are, so that dropPages can
// drop them. Advice only, like dropPages.
func awaitWriteback(f vfs.File, from, to int64) {
	if fd, ok := osFD(f); ok {
		_ = unix.SyncFileRange(fd, from, to-from,
			unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	}
}
