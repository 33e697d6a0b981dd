package vfs_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/millstream/millstream/broker/vfs"
)

// TestFS runs the same checks on every implementation.
func TestFS(t *testing.T) {
	impls := []struct {
		name string
		fs   func(t *testing.T) (vfs.FS, string)
	}{
		{"Default", func(t *testing.T) (vfs.FS, string) { return vfs.Default, t.TempDir() }},
		{"Mem", func(t *testing.T) (vfs.FS, string) { return vfs.NewMem(), "/data" }},
		{"Faulty", func(t *testing.T) (vfs.FS, string) { return vfs.NewFaulty(vfs.NewMem()), "/data" }},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			fsys, root := impl.fs(t)
			testFS(t, fsys, root)
		})
	}
}

func testFS(t *testing.T, fsys vfs.FS, root string) {
	dir := filepath.Join(root, "a", "b")
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "f.log")
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("W"), 6); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 11)
	if n, err := f.ReadAt(buf, 0); n != 11 || (err != nil && err != io.EOF) || string(buf) != "hello World" {
		t.Fatalf("ReadAt = %d %v %q", n, err, buf)
	}
	if n, err := f.ReadAt(buf, 6); n != 5 || err != io.EOF {
		t.Fatalf("ReadAt past end = %d, %v; want 5, EOF", n, err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != 5 {
		t.Fatalf("Stat after Truncate = %v, %v", st, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	rw, err := fsys.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.WriteAt([]byte("!"), 5); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	ro, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	if _, err := ro.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if string(got) != "hello!" {
		t.Fatalf("contents = %q, want hello!", got)
	}
	if _, err := ro.WriteAt([]byte("x"), 0); err == nil {
		t.Error("WriteAt on a file opened read-only succeeded")
	}
	ro.Close()

	if _, err := fsys.Create(filepath.Join(dir, "g")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(filepath.Join(dir, "g"), filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	names, err := fsys.ReadDir(dir)
	if err != nil || !slices.Equal(names, []string{"c", "f.log"}) {
		t.Fatalf("ReadDir = %v, %v", names, err)
	}
	if st, err := fsys.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("Stat(dir) = %v, %v", st, err)
	}
	if err := fsys.Remove(filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(filepath.Join(dir, "c")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat(removed) = %v, want ErrNotExist", err)
	}
	if _, err := fsys.Open(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(missing) = %v, want ErrNotExist", err)
	}
	if err := fsys.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after RemoveAll = %v", err)
	}
}

func TestMemCrash(t *testing.T) {
	m := vfs.NewMem()
	if err := m.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	f, _ := m.Create("/d/log")
	f.Write([]byte("durable"))
	f.Sync()
	m.SyncDir("/d")
	f.Write([]byte(" lost"))
	g, _ := m.Create("/d/new") // never dir-synced
	g.Write([]byte("x"))
	g.Sync()
	m.Remove("/d/log") // removal not dir-synced either

	m.Crash()
	names, _ := m.ReadDir("/d")
	if !slices.Equal(names, []string{"log"}) {
		t.Fatalf("after crash ReadDir = %v, want [log]", names)
	}
	h, err := m.Open("/d/log")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32)
	n, _ := h.ReadAt(buf, 0)
	if string(buf[:n]) != "durable" {
		t.Fatalf("after crash contents = %q, want durable", buf[:n])
	}
	// The handle from before the crash is detached.
	f.WriteAt([]byte("XXXXXXX"), 0)
	n, _ = h.ReadAt(buf, 0)
	if string(buf[:n]) != "durable" {
		t.Fatalf("write through a pre-crash handle reached the file: %q", buf[:n])
	}
}

func TestMemSyncAfterOverwriteAndTruncate(t *testing.T) {
	m := vfs.NewMem()
	f, _ := m.Create("a")
	m.SyncDir(".")
	f.Write([]byte("0123456789"))
	f.Sync()
	f.WriteAt([]byte("AB"), 2)
	f.Truncate(6)
	f.Sync()
	f.WriteAt([]byte("zz"), 0) // not synced
	m.Crash()
	g, _ := m.Open("a")
	buf := make([]byte, 16)
	n, _ := g.ReadAt(buf, 0)
	if string(buf[:n]) != "01AB45" {
		t.Fatalf("durable contents = %q, want 01AB45", buf[:n])
	}
}

func TestFaultyTornWrite(t *testing.T) {
	m := vfs.NewMem()
	fy := vfs.NewFaulty(m)
	f, _ := fy.Create("x")
	fy.FailAfterBytes(7)
	if _, err := f.Write([]byte("abcd")); err != nil {
		t.Fatal(err)
	}
	n, err := f.Write([]byte("efghij"))
	if n != 3 || !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("crossing write = %d, %v; want 3, ErrInjected", n, err)
	}
	if !fy.Failed() {
		t.Error("Failed() = false after a fault")
	}
	for name, op := range map[string]func() error{
		"write":    func() error { _, err := f.Write([]byte("z")); return err },
		"sync":     f.Sync,
		"truncate": func() error { return f.Truncate(0) },
		"create":   func() error { _, err := fy.Create("y"); return err },
		"rename":   func() error { return fy.Rename("x", "y") },
		"syncdir":  func() error { return fy.SyncDir(".") },
	} {
		if err := op(); !errors.Is(err, vfs.ErrInjected) {
			t.Errorf("%s after the fault = %v, want ErrInjected", name, err)
		}
	}
	g, _ := m.Open("x")
	buf := make([]byte, 16)
	n, _ = g.ReadAt(buf, 0)
	if !bytes.Equal(buf[:n], []byte("abcdefg")) {
		t.Fatalf("file holds %q, want the torn prefix abcdefg", buf[:n])
	}
	fy.Heal()
	if _, err := f.Write([]byte("k")); err != nil {
		t.Fatalf("write after Heal = %v", err)
	}
}

func TestFaultySyncCountAndFailure(t *testing.T) {
	fy := vfs.NewFaulty(vfs.NewMem())
	f, _ := fy.Create("x")
	var hooked []string
	fy.SetSyncHook(func(name string) { hooked = append(hooked, name) })
	fy.FailSyncAt(3)
	for i := range 2 {
		if err := f.Sync(); err != nil {
			t.Fatalf("sync %d = %v", i, err)
		}
	}
	if err := f.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("third sync = %v, want ErrInjected", err)
	}
	if fy.Syncs() != 2 || !slices.Equal(hooked, []string{"x", "x"}) {
		t.Fatalf("Syncs() = %d, hook saw %v", fy.Syncs(), hooked)
	}
	if err := fy.SyncDir("."); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("SyncDir after a failed sync = %v", err)
	}
}

func TestFaultyFailWriteAt(t *testing.T) {
	m := vfs.NewMem()
	fy := vfs.NewFaulty(m)
	f, _ := fy.Create("x")
	fy.FailWriteAt(2)
	if _, err := f.Write([]byte("ab")); err != nil {
		t.Fatalf("first write = %v", err)
	}
	if n, err := f.WriteAt([]byte("cd"), 2); n != 0 || !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("second write = %d, %v; want 0, ErrInjected", n, err)
	}
	if st, _ := m.Stat("x"); st.Size() != 2 {
		t.Fatalf("file is %d bytes, want 2: the failed write wrote nothing", st.Size())
	}
}

func TestFaultyTransient(t *testing.T) {
	m := vfs.NewMem()
	fy := vfs.NewFaulty(m)
	fy.SetTransient(true)
	f, _ := fy.Create("x")
	fy.FailAfterBytes(2)
	if n, err := f.Write([]byte("abcd")); n != 2 || !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("torn write = %d, %v", n, err)
	}
	if _, err := f.Write([]byte("e")); err != nil {
		t.Fatalf("write after a transient fault = %v", err)
	}
	fy.FailSyncAt(1)
	if err := f.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("sync = %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync after a transient fault = %v", err)
	}
	if fy.Failed() {
		t.Fatal("Failed() after transient faults")
	}
}
