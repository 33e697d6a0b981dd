package storage_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

const dir = "/data/topic-0"

// clock is a settable clock for Options.Now.
type clock struct{ t time.Time }

func newClock() *clock               { return &clock{t: time.UnixMilli(1_700_000_000_000)} }
func (c *clock) Now() time.Time      { return c.t }
func (c *clock) Add(d time.Duration) { c.t = c.t.Add(d) }
func (c *clock) Millis() int64       { return c.t.UnixMilli() }

// makeBatch builds a batch of n records with random values of valueLen
// bytes and timestamps ts, ts+1, ...
func makeBatch(t testing.TB, rng *rand.Rand, n, valueLen int, ts int64) []byte {
	t.Helper()
	recs := make([]record.Record, n)
	for i := range recs {
		v := make([]byte, valueLen)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		recs[i] = record.Record{Timestamp: ts + int64(i), Key: []byte{byte(i)}, Value: v}
	}
	b, err := record.Build(0, recs...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// env is a log on an in-memory file system with fault injection.
type env struct {
	t     *testing.T
	dir   string
	mem   *vfs.Mem // nil on the OS file system
	fy    *vfs.Faulty
	clock *clock
	opts  storage.Options
	log   *storage.Log
	// want holds every appended batch, as stored (base offset set), by
	// base offset order.
	want [][]byte
	rng  *rand.Rand
}

func newEnv(t *testing.T, opts storage.Options) *env {
	t.Helper()
	mem := vfs.NewMem()
	return newEnvOn(t, opts, mem, mem, dir)
}

// newEnvOS is newEnv on the operating system's file system, in a temporary
// directory.
func newEnvOS(t *testing.T, opts storage.Options) *env {
	t.Helper()
	return newEnvOn(t, opts, vfs.Default, nil, t.TempDir())
}

// forEachFS runs test on the in-memory and on the OS file system: the
// tests that need no crash simulation run on both.
func forEachFS(t *testing.T, opts storage.Options, test func(t *testing.T, e *env)) {
	t.Run("Mem", func(t *testing.T) { test(t, newEnv(t, opts)) })
	t.Run("OS", func(t *testing.T) { test(t, newEnvOS(t, opts)) })
}

func newEnvOn(t *testing.T, opts storage.Options, fsys vfs.FS, mem *vfs.Mem, d string) *env {
	t.Helper()
	e := &env{t: t, dir: d, mem: mem, clock: newClock(), rng: rand.New(rand.NewPCG(1, 2))}
	e.fy = vfs.NewFaulty(fsys)
	opts.FS = e.fy
	opts.Now = e.clock.Now
	e.opts = opts
	e.open()
	t.Cleanup(func() {
		if e.log != nil {
			e.log.Close()
		}
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	l, err := storage.Open(e.dir, e.opts)
	if err != nil {
		e.t.Fatalf("Open = %v", err)
	}
	e.log = l
}

// reopen closes cleanly and opens again.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.log.Close(); err != nil {
		e.t.Fatalf("Close = %v", err)
	}
	e.open()
}

// abandon drops the log without closing it, as a killed process would.
func (e *env) abandon() { e.log = nil }

// append appends a fresh batch and records what should be stored.
func (e *env) append(n, valueLen int) storage.AppendResult {
	e.t.Helper()
	b := makeBatch(e.t, e.rng, n, valueLen, e.clock.Millis())
	res, err := e.log.Append(b)
	if err != nil {
		e.t.Fatalf("Append = %v", err)
	}
	e.want = append(e.want, b)
	return res
}

// readAll reads every batch from offset from to the end.
func (e *env) readAll(from int64) [][]byte {
	e.t.Helper()
	var out [][]byte
	for off := from; ; {
		data, err := e.log.Read(off, 64<<10)
		if err != nil {
			e.t.Fatalf("Read(%d) = %v", off, err)
		}
		if data == nil {
			return out
		}
		parts, err := record.Split(data)
		if err != nil {
			e.t.Fatalf("Read(%d) returned bytes that do not split: %v", off, err)
		}
		for _, p := range parts {
			h, err := record.ValidateFrame(p)
			if err != nil {
				e.t.Fatalf("Read(%d) returned an invalid batch: %v", off, err)
			}
			out = append(out, p)
			off = h.LastOffset() + 1
		}
	}
}

// check asserts that the log holds exactly want[i:] from its start.
func (e *env) check(want [][]byte) {
	e.t.Helper()
	got := e.readAll(e.log.StartOffset())
	if len(got) != len(want) {
		e.t.Fatalf("log holds %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			h1, _ := record.ParseHeader(got[i])
			h2, _ := record.ParseHeader(want[i])
			e.t.Fatalf("batch %d differs: got offset %d (%d bytes), want offset %d (%d bytes)", i, h1.BaseOffset, len(got[i]), h2.BaseOffset, len(want[i]))
		}
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}
