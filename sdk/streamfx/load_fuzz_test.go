package streamfx_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/sdk/streamfx"
)

// FuzzLoad feeds arbitrary files and one variable to the loader: it must
// return a configuration or an error, never panic, and every error it
// returns for a file must say where.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/millstream.yaml", "testdata/bad.yaml", "testdata/example.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "MILLSTREAM_BINDINGS_UPPERCASE_IN_0_GROUP", "g")
	}
	f.Add([]byte("millstream:\n  bindings:\n    a-in-0: &x {group: *x}\n"), "MILLSTREAM_BINDERS_KAFKA_BROKERS", "a,b,,c")
	f.Add([]byte("millstream: [1, {a: b}]\n"), "MILLSTREAM_BINDINGS__", "")
	f.Add([]byte("? [a]\n: b\n"), "MILLSTREAM_", "x")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte, envName, envValue string) {
		path := filepath.Join(dir, "millstream.yaml")
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		l := streamfx.Loader{File: path, Environ: []string{envName + "=" + envValue}, Functions: []string{"uppercase"}}
		type result struct {
			got *streamfx.Loaded
			err error
		}
		ch := make(chan result, 1)
		go func() { g, e := l.Load(); ch <- result{g, e} }()
		var got *streamfx.Loaded
		var err error
		select {
		case r := <-ch:
			got, err = r.got, r.err
		case <-time.After(3 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			panic(fmt.Sprintf("Load hung on %q env %q=%q\n%s", file, envName, envValue, buf[:n]))
		}
		if err == nil && got == nil {
			t.Fatal("Load() = nil, nil")
		}
		if err != nil && !strings.Contains(err.Error(), "invalid configuration") {
			t.Fatalf("Load() error %q does not say the configuration is invalid", err)
		}
	})
}
