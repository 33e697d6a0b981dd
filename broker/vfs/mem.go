package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Mem is an in-memory [FS] that keeps two views of every file: what was
// written, which reads see, and what was made durable by File.Sync, which is
// all that [Mem.Crash] keeps. Names behave the same way: a file created,
// removed or renamed survives a crash only once its directory was synced with
// SyncDir. Directories themselves are durable as soon as they are made.
type Mem struct {
	// mu guards everything below and the contents of every memNode.
	mu      sync.Mutex
	files   map[string]*memNode // the namespace as seen now
	durable map[string]*memNode // the namespace as of each directory's last SyncDir
	dirs    map[string]bool
}

type memNode struct {
	data   []byte
	synced []byte
	// dirtyFrom is the smallest offset changed since the last Sync, or -1.
	dirtyFrom int64
}

// NewMem returns an empty in-memory file system with the root directory "/"
// and the current directory "." present.
func NewMem() *Mem {
	return &Mem{
		files:   map[string]*memNode{},
		durable: map[string]*memNode{},
		dirs:    map[string]bool{"/": true, ".": true},
	}
}

// Crash simulates a power loss: every file goes back to its contents at its
// last Sync, and the namespace to its state at each directory's last SyncDir.
// Files opened before the crash are detached: writes through them no longer
// reach the file system.
func (m *Mem) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	fresh := map[*memNode]*memNode{}
	m.files = map[string]*memNode{}
	for name, n := range m.durable {
		c, ok := fresh[n]
		if !ok {
			c = &memNode{data: slices.Clone(n.synced), synced: slices.Clone(n.synced), dirtyFrom: -1}
			fresh[n] = c
		}
		m.files[name] = c
		m.durable[name] = c
	}
}

func (m *Mem) notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// parentOK reports whether the directory holding name exists. m.mu held.
func (m *Mem) parentOK(name string) bool { return m.dirs[filepath.Dir(name)] }

func (m *Mem) Create(name string) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.parentOK(name) || m.dirs[name] {
		return nil, m.notExist("create", name)
	}
	n, ok := m.files[name]
	if ok {
		n.truncate(0)
	} else {
		n = &memNode{dirtyFrom: -1}
		m.files[name] = n
	}
	return &memFile{fs: m, node: n, name: name}, nil
}

func (m *Mem) Open(name string) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.files[name]
	if !ok {
		return nil, m.notExist("open", name)
	}
	return &memFile{fs: m, node: n, name: name, readOnly: true}, nil
}

func (m *Mem) OpenReadWrite(name string) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.files[name]
	if !ok {
		if !m.parentOK(name) {
			return nil, m.notExist("open", name)
		}
		n = &memNode{dirtyFrom: -1}
		m.files[name] = n
	}
	return &memFile{fs: m, node: n, name: name}, nil
}

func (m *Mem) Remove(name string) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[name]; ok {
		delete(m.files, name)
		return nil
	}
	if m.dirs[name] {
		for p := range m.files {
			if filepath.Dir(p) == name {
				return &fs.PathError{Op: "remove", Path: name, Err: fmt.Errorf("directory not empty")}
			}
		}
		for d := range m.dirs {
			if d != name && filepath.Dir(d) == name {
				return &fs.PathError{Op: "remove", Path: name, Err: fmt.Errorf("directory not empty")}
			}
		}
		delete(m.dirs, name)
		return nil
	}
	return m.notExist("remove", name)
}

func (m *Mem) RemoveAll(name string) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	under := func(p string) bool { return p == name || strings.HasPrefix(p, name+string(filepath.Separator)) }
	for p := range m.files {
		if under(p) {
			delete(m.files, p)
		}
	}
	// A removed tree is gone for good, as if its directories were synced.
	for p := range m.durable {
		if under(p) {
			delete(m.durable, p)
		}
	}
	for d := range m.dirs {
		if under(d) && d != "/" && d != "." {
			delete(m.dirs, d)
		}
	}
	return nil
}

func (m *Mem) Rename(oldname, newname string) error {
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.files[oldname]
	if !ok {
		return m.notExist("rename", oldname)
	}
	if !m.parentOK(newname) {
		return m.notExist("rename", newname)
	}
	delete(m.files, oldname)
	m.files[newname] = n
	return nil
}

func (m *Mem) MkdirAll(dir string, _ os.FileMode) error {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirs[d]; d = filepath.Dir(d) {
		if _, ok := m.files[d]; ok {
			return &fs.PathError{Op: "mkdir", Path: d, Err: fmt.Errorf("not a directory")}
		}
		m.dirs[d] = true
	}
	return nil
}

func (m *Mem) ReadDir(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return nil, m.notExist("readdir", dir)
	}
	var names []string
	for p := range m.files {
		if filepath.Dir(p) == dir {
			names = append(names, filepath.Base(p))
		}
	}
	for d := range m.dirs {
		if d != dir && filepath.Dir(d) == dir {
			names = append(names, filepath.Base(d))
		}
	}
	slices.Sort(names)
	return names, nil
}

func (m *Mem) Stat(name string) (os.FileInfo, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.files[name]; ok {
		return memInfo{name: filepath.Base(name), size: int64(len(n.data))}, nil
	}
	if m.dirs[name] {
		return memInfo{name: filepath.Base(name), dir: true}, nil
	}
	return nil, m.notExist("stat", name)
}

func (m *Mem) SyncDir(dir string) error {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return m.notExist("syncdir", dir)
	}
	for p := range m.durable {
		if filepath.Dir(p) == dir {
			delete(m.durable, p)
		}
	}
	for p, n := range m.files {
		if filepath.Dir(p) == dir {
			m.durable[p] = n
		}
	}
	return nil
}

// truncate sets the size; m.mu held.
func (n *memNode) truncate(size int64) {
	if size < int64(len(n.data)) {
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
	n.dirty(size)
}

func (n *memNode) dirty(from int64) {
	if n.dirtyFrom < 0 || from < n.dirtyFrom {
		n.dirtyFrom = from
	}
}

type memFile struct {
	fs       *Mem
	node     *memNode
	name     string
	readOnly bool
	// off and closed are guarded by fs.mu.
	off    int64
	closed bool
}

func (f *memFile) check(op string, write bool) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	if write && f.readOnly {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrPermission}
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.writeAt(p, off)
}

func (f *memFile) writeAt(p []byte, off int64) (int, error) {
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrInvalid}
	}
	n := f.node
	if end := off + int64(len(p)); end > int64(len(n.data)) {
		if end <= int64(cap(n.data)) {
			n.data = n.data[:end]
		} else {
			grown := make([]byte, end, max(end, 2*int64(cap(n.data))))
			copy(grown, n.data)
			n.data = grown
		}
	}
	copy(n.data[off:], p)
	n.dirty(off)
	return len(p), nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n, err := f.writeAt(p, f.off)
	f.off += int64(n)
	return n, err
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync", false); err != nil {
		return err
	}
	n := f.node
	if n.dirtyFrom < 0 {
		return nil
	}
	keep := min(n.dirtyFrom, int64(len(n.synced)), int64(len(n.data)))
	n.synced = append(n.synced[:keep], n.data[keep:]...)
	n.dirtyFrom = -1
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrInvalid}
	}
	f.node.truncate(size)
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return nil, err
	}
	return memInfo{name: filepath.Base(f.name), size: int64(len(f.node.data))}, nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("close", false); err != nil {
		return err
	}
	f.closed = true
	return nil
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
