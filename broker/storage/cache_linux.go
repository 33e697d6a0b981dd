package storage

import (
	"golang.org/x/sys/unix"

	"github.com/millstream/millstream/broker/vfs"
)

// dropPages asks the kernel to drop the cached pages of f in [from, to).
// Files that are not operating system files (vfs.Mem, wrappers) and
// errors are ignored: this is advice only.
func dropPages(f vfs.File, from, to int64) {
	of, ok := f.(interface{ Fd() uintptr })
	if !ok {
		return
	}
	_ = unix.Fadvise(int(of.Fd()), from, to-from, unix.FADV_DONTNEED)
}
