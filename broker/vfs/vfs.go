// Package vfs is the file-system seam of the broker's storage: every disk
// access of broker/storage goes through an [FS], so tests can run on an
// in-memory file system that simulates crashes ([NewMem]) and inject write
// and sync failures ([NewFaulty]).
//
// # Implementations
//
//	| constructor | what                                                        |
//	|-------------|-------------------------------------------------------------|
//	| Default     | the operating system's file system                          |
//	| NewMem()    | in memory; Crash() drops all data not made durable by Sync  |
//	|             | and all names not made durable by SyncDir                   |
//	| NewFaulty() | wraps another FS; fails writes after N bytes (torn: the     |
//	|             | prefix lands), the Nth write or the Nth Sync; counts syncs  |
//
// All implementations are safe for concurrent use. A [File] is safe for
// concurrent ReadAt, WriteAt and Sync; Write (which advances an offset) must
// not race with other writes to the same File.
package vfs

import (
	"io"
	"os"
)

// File is an open file.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Write writes at the file's own offset, which starts at 0 and
	// advances with each Write; WriteAt does not move it.
	io.Writer
	io.Closer
	// Sync makes the file's contents durable.
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
}

// FS is a file system. Names are slash-separated paths as taken by package
// os.
type FS interface {
	// Create creates name, or truncates it if it exists, open for reading
	// and writing.
	Create(name string) (File, error)
	// Open opens an existing file for reading.
	Open(name string) (File, error)
	// OpenReadWrite opens name for reading and writing, creating it empty
	// if it does not exist; existing contents are kept.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory. Open handles of a
	// removed file keep working.
	Remove(name string) error
	// RemoveAll removes name and everything under it; a missing name is
	// not an error.
	RemoveAll(name string) error
	// Rename renames oldname to newname, replacing newname if it exists.
	Rename(oldname, newname string) error
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir returns the names of the entries of dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat describes name. A missing name gives an error that satisfies
	// errors.Is(err, fs.ErrNotExist).
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the entries of dir durable: files created, removed or
	// renamed in it survive a crash only after SyncDir.
	SyncDir(dir string) error
}
