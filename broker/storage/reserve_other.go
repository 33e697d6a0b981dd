//go:build !linux

package storage

import "github.com/millstream/millstream/broker/vfs"

// allocate reserves nothing where fallocate is not used.
func allocate(vfs.File, int64, int64) error { return errCannotReserve }
