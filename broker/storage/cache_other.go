//go:build !linux

package storage

import "github.com/millstream/millstream/broker/vfs"

// dropPages does nothing where posix_fadvise is not used.
func dropPages(vfs.File, int64, int64) {}
