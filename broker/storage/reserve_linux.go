package storage

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/millstream/millstream/broker/vfs"
)

// allocate allocates the disk blocks of f in [from, to) without changing
// its size.
func allocate(f vfs.File, from, to int64) error {
	fd, ok := osFD(f)
	if !ok {
		return errNotOSFile
	}
	err := unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, from, to-from)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENODEV) {
		return errCannotReserve
	}
	return err
}
