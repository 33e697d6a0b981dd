package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestEveryMethodMeasuresAndCleansUp runs every method briefly and checks
// that each reports ordered, positive percentiles and leaves no file behind.
func TestEveryMethodMeasuresAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"--dir", dir, "--ops", "50", "--size", "100", "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(methods) {
		t.Fatalf("got %d result lines, want one per method (%d):\n%s", len(lines), len(methods), out.String())
	}
	for i, line := range lines {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if r.Method != methods[i].name || r.Ops != 50 || r.Size != 100 {
			t.Errorf("line %d: %+v, want method %s, 50 ops of 100 bytes", i, r, methods[i].name)
		}
		if !(r.P50 > 0 && r.P50 <= r.P99 && r.P99 <= r.P999 && r.P999 <= r.Max*1.01) {
			t.Errorf("%s: percentiles out of order: %+v", r.Method, r)
		}
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("files left in --dir: %v", left)
	}
}

func TestUnknownMethodIsRefused(t *testing.T) {
	err := run([]string{"--dir", t.TempDir(), "--methods", "append+fsync,mmap"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `"mmap"`) {
		t.Fatalf("err = %v, want one naming the unknown method", err)
	}
}
