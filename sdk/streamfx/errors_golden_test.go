package streamfx_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/streamfx"
)

// TestErrorExamplesGolden records what bad configuration prints, for the
// docs (testdata/errors.txt): problems found while reading, then problems
// found against the registered functions and binders.
func TestErrorExamplesGolden(t *testing.T) {
	bad, err := os.ReadFile("testdata/bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := filepath.Abs("testdata/errors.txt")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	run := func(yaml string, env ...string) string {
		t.Helper()
		if err := os.WriteFile("millstream.yaml", []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		app := fx.New(fx.NopLogger, streamfx.Module, memory.Module, streamfx.Function("uppercase", uppercase), streamfx.Environ(env))
		err := app.Err()
		if err == nil {
			err = app.Start(context.Background())
			app.Stop(context.Background())
		}
		if err == nil {
			t.Fatal("bad configuration was accepted")
		}
		// fx wraps the error in the names of the constructors; the part a
		// user reads starts with ours.
		msg := err.Error()
		if i := strings.Index(msg, "streamfx: "); i >= 0 {
			msg = msg[i:]
		}
		return msg
	}
	var b strings.Builder
	b.WriteString("$ MILLSTREAM_BINDINGS_UPPERCASE_IN_0_MAX_ATEMPTS=5 ./app   # with testdata/bad.yaml\n")
	b.WriteString(run(string(bad), "MILLSTREAM_BINDINGS_UPPERCASE_IN_0_MAX_ATEMPTS=5") + "\n\n")
	b.WriteString("$ ./app   # every key is known, but the binder is not registered\n")
	b.WriteString(run("millstream:\n  binders:\n    kafka: { brokers: [localhost:9092] }\n") + "\n\n")
	b.WriteString("$ MILLSTREAM_BINDINGS_LOWERCASE_IN_0_GROUP=g ./app   # the binding names no function\n")
	b.WriteString(run("millstream:\n  bindings:\n    lowercase-in-0: { destination: words }\n", "MILLSTREAM_BINDINGS_LOWERCASE_IN_0_GROUP=g") + "\n")
	got := b.String()
	if *rewrite {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -rewrite)", err)
	}
	if got != string(want) {
		t.Errorf("error examples differ from testdata/errors.txt (run with -rewrite and review):\n%s", got)
	}
}
