//go:build !linux

package storage

import "github.com/millstream/millstream/broker/vfs"

// allocate does nothing where fallocate is not used.
func allocate(vfs.File, int64, int64) bool { return false }
