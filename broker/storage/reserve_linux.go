package storage

import (
	"golang.org/x/sys/unix"

	"github.com/millstream/millstream/broker/vfs"
)

// allocate allocates the disk blocks of f in [from, to) without changing
// its size, and reports whether it did.
func allocate(f vfs.File, from, to int64) bool {
	of, ok := f.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return unix.Fallocate(int(of.Fd()), unix.FALLOC_FL_KEEP_SIZE, from, to-from) == nil
}
