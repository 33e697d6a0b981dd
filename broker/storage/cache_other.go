//go:build !linux

package storage

import "github.com/millstream/millstream/broker/vfs"

// dropPages, startWriteback and awaitWriteback do nothing where
// posix_fadvise and sync_file_range are not used.
func dropPages(vfs.File, int64, int64)      {}
func startWriteback(vfs.File, int64, int64) {}
func awaitWriteback(vfs.File, int64, int64) {}
