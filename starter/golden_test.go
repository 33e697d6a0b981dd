package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/hello from the templates")

// TestGolden keeps testdata/hello, the project `starter new hello` writes
// outside a checkout, equal to what the templates produce; the docs quote
// it. go test ./starter -run Golden -rewrite regenerates it.
func TestGolden(t *testing.T) {
	golden := filepath.Join("testdata", "hello")
	dir := t.TempDir()
	if _, err := Generate(context.Background(), Options{Name: "hello", Dir: dir, SkipTidy: true}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if *rewrite {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(golden, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range entries {
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(golden, e.Name())
		if *rewrite {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./starter -run Golden -rewrite)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from the templates' output (go test ./starter -run Golden -rewrite):\n%s", path, got)
		}
	}
	golds, err := os.ReadDir(golden)
	if err != nil {
		t.Fatal(err)
	}
	if len(golds) != len(entries) {
		t.Errorf("testdata/hello has %d files, the templates write %d (go test ./starter -run Golden -rewrite)", len(golds), len(entries))
	}
}
