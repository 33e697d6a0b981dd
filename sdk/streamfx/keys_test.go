package streamfx_test

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// TestReferenceGolden keeps testdata/reference.md, which the configuration
// page of the docs includes, equal to Reference(). Run with -rewrite after
// changing a key.
func TestReferenceGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("| Key | Environment variable | Value | Default | Description |\n|---|---|---|---|---|\n")
	for _, k := range streamfx.Reference() {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", k.Key, k.Env, k.Value, k.Default, k.Description)
	}
	const path = "testdata/reference.md"
	if *rewrite {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestReferenceGolden -rewrite)", err)
	}
	if b.String() != string(want) {
		t.Errorf("Reference() differs from %s; run go test ./sdk/streamfx -run TestReferenceGolden -rewrite and review the diff\ngot:\n%s", path, b.String())
	}
}

// TestReferenceCoversEveryProperty keeps the reference in step with
// sdk/stream: every binding property is documented, in its order, and each
// key of the reference is accepted by the loader.
func TestReferenceCoversEveryProperty(t *testing.T) {
	var documented []string
	for _, k := range streamfx.Reference() {
		if p, ok := strings.CutPrefix(k.Key, "millstream.bindings.<binding>."); ok {
			documented = append(documented, p)
		}
		if want := streamfx.EnvName(strings.TrimPrefix(k.Key, "millstream.")); k.Env != want {
			t.Errorf("%s: env %s, want %s", k.Key, k.Env, want)
		}
	}
	if !reflect.DeepEqual(documented, stream.PropertyKeys()) {
		t.Errorf("documented properties %v, stream.PropertyKeys() %v", documented, stream.PropertyKeys())
	}
}

// TestReferenceDefaults checks the documented defaults that are plain
// values against sdk/stream: setting a key to its documented default must
// change nothing once defaults are applied.
func TestReferenceDefaults(t *testing.T) {
	var zero stream.Config
	zero.EnsureDefaults()
	for _, k := range streamfx.Reference() {
		key := strings.TrimPrefix(k.Key, "millstream.")
		if k.Value == "string" {
			continue // defaults of strings are described in words
		}
		if p, ok := strings.CutPrefix(key, "bindings.<binding>."); ok {
			var props stream.BindingProperties
			if err := props.Set(p, k.Default); err != nil {
				t.Errorf("%s: documented default %q does not parse: %v", k.Key, k.Default, err)
				continue
			}
			if got, want := props.WithDefaults("b"), (stream.BindingProperties{}).WithDefaults("b"); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: documented default %q gives %+v, sdk/stream's default %+v", k.Key, k.Default, got, want)
			}
			continue
		}
		var c stream.Config
		if err := c.Set(key, k.Default); err != nil {
			t.Errorf("%s: documented default %q does not parse: %v", k.Key, k.Default, err)
			continue
		}
		c.EnsureDefaults()
		if !reflect.DeepEqual(c, zero) {
			t.Errorf("%s: documented default %q gives %+v, sdk/stream's default %+v", k.Key, k.Default, c, zero)
		}
	}
}
