package vfs

import (
	"errors"
	"os"
	"sync"
)

// ErrInjected is the error a [Faulty] file system returns for an injected
// fault and for every mutation after it.
var ErrInjected = errors.New("vfs: injected fault")

// Faulty wraps an [FS] and fails on demand. Once a fault fires, every later
// mutation (write, sync, truncate, create, remove, rename, mkdir, syncdir)
// fails with [ErrInjected] until [Faulty.Heal], the way a process that died
// at that moment would do nothing more; reads keep working. With
// [Faulty.SetTransient] a fault fails only the operation it hits. Combined with
// [Mem.Crash] it produces the states a crash can leave on disk.
type Faulty struct {
	fs FS

	// mu guards the fields below.
	mu sync.Mutex
	// writeBudget is the number of bytes writes may still put down, or -1
	// for no limit.
	writeBudget int64
	// syncCountdown: the syncCountdown-th next File.Sync fails; 0 = never.
	syncCountdown int
	// writeCountdown: the writeCountdown-th next write fails whole; 0 =
	// never.
	writeCountdown int
	failed         bool
	// transient: a fault fails only the operation it hits.
	transient bool
	syncs     int64
	dirSyncs  int64
	syncHook  func(name string)
}

// NewFaulty returns fs with fault injection, initially injecting nothing.
func NewFaulty(fs FS) *Faulty { return &Faulty{fs: fs, writeBudget: -1} }

// FailAfterBytes makes writes fail once n more bytes were written: the write
// that crosses the limit is torn (its first bytes up to the limit reach the
// file, then it fails) and everything after it fails.
func (f *Faulty) FailAfterBytes(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeBudget = n
}

// FailWriteAt makes the n-th next write call (1 = the next one) fail
// without writing anything, and everything after it.
func (f *Faulty) FailWriteAt(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeCountdown = n
}

// FailSyncAt makes the n-th next File.Sync fail (1 = the next one) and
// everything after it.
func (f *Faulty) FailSyncAt(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncCountdown = n
}

// SetTransient makes faults fail only the operation they hit (the way a
// full disk fails one write) instead of everything after it.
func (f *Faulty) SetTransient(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transient = on
}

// Heal clears the injected faults: operations succeed again.
func (f *Faulty) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeBudget, f.syncCountdown, f.writeCountdown, f.failed = -1, 0, 0, false
}

// Failed reports whether a fault has fired since the last Heal.
func (f *Faulty) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// Syncs returns the number of File.Sync calls that succeeded.
func (f *Faulty) Syncs() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

// DirSyncs returns the number of SyncDir calls that succeeded.
func (f *Faulty) DirSyncs() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dirSyncs
}

// SetSyncHook installs fn, called with the file's name at the start of every
// File.Sync, outside any lock: a test can block in it to hold a sync in
// flight. nil removes it.
func (f *Faulty) SetSyncHook(fn func(name string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncHook = fn
}

// mutate reports the error for a mutation, nil if it may proceed.
func (f *Faulty) mutate() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed {
		return ErrInjected
	}
	return nil
}

func (f *Faulty) wrap(file File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: file, fs: f}, nil
}

func (f *Faulty) Create(name string) (File, error) {
	if err := f.mutate(); err != nil {
		return nil, err
	}
	file, err := f.fs.Create(name)
	return f.wrap(file, err)
}

func (f *Faulty) Open(name string) (File, error) {
	file, err := f.fs.Open(name)
	return f.wrap(file, err)
}

func (f *Faulty) OpenReadWrite(name string) (File, error) {
	if err := f.mutate(); err != nil {
		return nil, err
	}
	file, err := f.fs.OpenReadWrite(name)
	return f.wrap(file, err)
}

func (f *Faulty) Remove(name string) error {
	if err := f.mutate(); err != nil {
		return err
	}
	return f.fs.Remove(name)
}

func (f *Faulty) RemoveAll(name string) error {
	if err := f.mutate(); err != nil {
		return err
	}
	return f.fs.RemoveAll(name)
}

func (f *Faulty) Rename(oldname, newname string) error {
	if err := f.mutate(); err != nil {
		return err
	}
	return f.fs.Rename(oldname, newname)
}

func (f *Faulty) MkdirAll(dir string, perm os.FileMode) error {
	if err := f.mutate(); err != nil {
		return err
	}
	return f.fs.MkdirAll(dir, perm)
}

func (f *Faulty) ReadDir(dir string) ([]string, error) { return f.fs.ReadDir(dir) }

func (f *Faulty) Stat(name string) (os.FileInfo, error) { return f.fs.Stat(name) }

func (f *Faulty) SyncDir(dir string) error {
	if err := f.mutate(); err != nil {
		return err
	}
	if err := f.fs.SyncDir(dir); err != nil {
		return err
	}
	f.mu.Lock()
	f.dirSyncs++
	f.mu.Unlock()
	return nil
}

type faultyFile struct {
	File
	fs *Faulty
}

// allow returns how many of n bytes a write may put down and whether it
// must then fail.
func (f *faultyFile) allow(n int) (int, bool) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.failed {
		return 0, true
	}
	if f.fs.writeCountdown > 0 {
		f.fs.writeCountdown--
		if f.fs.writeCountdown == 0 {
			f.fs.failed = !f.fs.transient
			return 0, true
		}
	}
	if f.fs.writeBudget < 0 {
		return n, false
	}
	if int64(n) <= f.fs.writeBudget {
		f.fs.writeBudget -= int64(n)
		return n, false
	}
	ok := int(f.fs.writeBudget)
	f.fs.writeBudget = -1
	if !f.fs.transient {
		f.fs.writeBudget, f.fs.failed = 0, true
	}
	return ok, true
}

func (f *faultyFile) Write(p []byte) (int, error) {
	n, fail := f.allow(len(p))
	if n > 0 {
		if w, err := f.File.Write(p[:n]); err != nil {
			return w, err
		}
	}
	if fail {
		return n, ErrInjected
	}
	return n, nil
}

func (f *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	n, fail := f.allow(len(p))
	if n > 0 {
		if w, err := f.File.WriteAt(p[:n], off); err != nil {
			return w, err
		}
	}
	if fail {
		return n, ErrInjected
	}
	return n, nil
}

func (f *faultyFile) Truncate(size int64) error {
	if err := f.fs.mutate(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *faultyFile) Sync() error {
	f.fs.mu.Lock()
	hook := f.fs.syncHook
	fail := f.fs.failed
	if !fail && f.fs.syncCountdown > 0 {
		f.fs.syncCountdown--
		if f.fs.syncCountdown == 0 {
			f.fs.failed = !f.fs.transient
			fail = true
		}
	}
	f.fs.mu.Unlock()
	if fail {
		return ErrInjected
	}
	if hook != nil {
		st, err := f.File.Stat()
		name := ""
		if err == nil {
			name = st.Name()
		}
		hook(name)
	}
	if err := f.File.Sync(); err != nil {
		return err
	}
	f.fs.mu.Lock()
	f.fs.syncs++
	f.fs.mu.Unlock()
	return nil
}
