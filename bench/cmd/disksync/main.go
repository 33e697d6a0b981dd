// Command disksync measures the floor under a durable acknowledgement on
// this machine's disk: how long one small write plus the call that makes it
// durable takes, for each way a log could do it. Every method runs the same
// loop, one operation at a time, in its own fresh file in --dir:
//
//	append+fsync       write at the end of a growing file, fsync
//	append+fdatasync   write at the end of a growing file, fdatasync
//	prealloc+fdatasync pwrite into a file reserved with fallocate (unwritten extents), fdatasync
//	zeroed+fsync       pwrite into a file written with zeros and fsynced beforehand, fsync
//	zeroed+fdatasync   pwrite into a file written with zeros and fsynced beforehand, fdatasync
//	append+O_DSYNC     write at the end of a growing file opened with O_DSYNC
//	zeroed+O_DSYNC     pwrite into a pre-zeroed file opened with O_DSYNC
//
// The figures are the latency of the whole operation (write and sync), with
// the percentiles of broker/cli/perfstat's histogram.
//
//	disksync --dir /tmp --ops 20000 --size 1024 [--json] [--methods append+fsync,zeroed+fdatasync]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/millstream/millstream/broker/cli/perfstat"
)

// method is one way to write a record durably.
type method struct {
	name string
	// prepare creates the file at path for ops writes of size bytes and
	// returns it open.
	prepare func(path string, ops, size int) (*os.File, error)
	// sync makes the write just done durable (nil: the write itself is).
	sync func(f *os.File) error
	// grow: the write goes at the end of the file, making it longer.
	grow bool
}

var methods = []method{
	{name: "append+fsync", prepare: openEmpty(0), sync: (*os.File).Sync, grow: true},
	{name: "append+fdatasync", prepare: openEmpty(0), sync: fdatasync, grow: true},
	{name: "prealloc+fdatasync", prepare: openFallocated, sync: fdatasync},
	{name: "zeroed+fsync", prepare: openZeroed(0), sync: (*os.File).Sync},
	{name: "zeroed+fdatasync", prepare: openZeroed(0), sync: fdatasync},
	{name: "append+O_DSYNC", prepare: openEmpty(syscall.O_DSYNC), grow: true},
	{name: "zeroed+O_DSYNC", prepare: openZeroed(syscall.O_DSYNC)},
}

func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

func openEmpty(flags int) func(string, int, int) (*os.File, error) {
	return func(path string, _, _ int) (*os.File, error) {
		return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC|flags, 0o644)
	}
}

// openFallocated reserves the blocks without writing them: the first write
// to each block still changes the extent tree (unwritten to written).
func openFallocated(path string, ops, size int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, int64(ops)*int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("fallocate: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openZeroed writes the whole file with zeros and fsyncs it, so later
// writes change no metadata but the modification time.
func openZeroed(flags int) func(string, int, int) (*os.File, error) {
	return func(path string, ops, size int) (*os.File, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, err
		}
		zeros := make([]byte, 1<<20)
		for left := int64(ops) * int64(size); left > 0; left -= int64(len(zeros)) {
			if _, err := f.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
				f.Close()
				return nil, err
			}
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		if flags == 0 {
			return f, nil
		}
		f.Close()
		return os.OpenFile(path, os.O_RDWR|flags, 0o644)
	}
}

// Result is one method's figures, in milliseconds.
type Result struct {
	Method string  `json:"method"`
	Ops    int     `json:"ops"`
	Size   int     `json:"size"`
	Mean   float64 `json:"mean_ms"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	P999   float64 `json:"p99_9_ms"`
	Max    float64 `json:"max_ms"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "disksync:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("disksync", flag.ContinueOnError)
	dir := fs.String("dir", os.TempDir(), "directory for the test files (on the disk to measure); they are removed afterwards")
	ops := fs.Int("ops", 20000, "operations per method")
	size := fs.Int("size", 1024, "bytes per write")
	only := fs.String("methods", "", "comma-separated subset of methods (default: all)")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ops < 1 || *size < 1 {
		return errors.New("--ops and --size must be positive")
	}
	run := methods
	if *only != "" {
		run = nil
		for _, name := range strings.Split(*only, ",") {
			m, ok := find(name)
			if !ok {
				return fmt.Errorf("unknown method %q", name)
			}
			run = append(run, m)
		}
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%d ops of %d bytes per method in %s, one at a time; latency of write+sync in ms\n", *ops, *size, *dir)
		fmt.Fprintf(stdout, "%-20s %8s %8s %8s %8s %8s\n", "method", "mean", "p50", "p99", "p99.9", "max")
	}
	for _, m := range run {
		r, err := measure(m, *dir, *ops, *size)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Fprintln(stdout, string(b))
		} else {
			fmt.Fprintf(stdout, "%-20s %8.3f %8.3f %8.3f %8.3f %8.3f\n", r.Method, r.Mean, r.P50, r.P99, r.P999, r.Max)
		}
	}
	return nil
}

func find(name string) (method, bool) {
	for _, m := range methods {
		if m.name == name {
			return m, true
		}
	}
	return method{}, false
}

func measure(m method, dir string, ops, size int) (Result, error) {
	path := filepath.Join(dir, fmt.Sprintf("disksync-%d-%s.dat", os.Getpid(), strings.ReplaceAll(m.name, "+", "-")))
	defer os.Remove(path)
	f, err := m.prepare(path, ops, size)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	buf := perfstat.NewPayloads(size, uint64(time.Now().UnixNano()))
	var h perfstat.Histogram
	for i := range ops {
		p := buf.Next()
		start := time.Now()
		var err error
		if m.grow {
			_, err = f.Write(p)
		} else {
			_, err = f.WriteAt(p, int64(i)*int64(size))
		}
		if err == nil && m.sync != nil {
			err = m.sync(f)
		}
		if err != nil {
			return Result{}, err
		}
		h.Record(time.Since(start))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Result{
		Method: m.name, Ops: ops, Size: size,
		Mean: ms(h.Mean()), P50: ms(h.Quantile(0.50)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()),
	}, nil
}
