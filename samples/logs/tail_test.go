package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTailer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	lines := make(chan string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	tl := tailer{path: path, poll: 5 * time.Millisecond}
	go func() { done <- tl.run(ctx, func(l string) bool { lines <- l; return true }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v", err)
		}
	}()
	next := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("line = %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no line, want %q", want)
		}
	}
	write := func(flag int, s string) {
		t.Helper()
		f, err := os.OpenFile(path, flag|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}

	// The file does not exist yet; then it does, with a partial last line.
	write(os.O_APPEND, "one\ntwo\nthr")
	next("one\n")
	next("two\n")
	write(os.O_APPEND, "ee\n")
	next("three\n")
	// Rotated: replaced by a shorter file, read from its start.
	write(os.O_TRUNC, "new\n")
	next("new\n")
	if len(lines) != 0 {
		t.Fatalf("%d unexpected lines", len(lines))
	}
}

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Entry
	}{
		{`{"level":"ERROR","service":"api","msg":"boom"}` + "\n", Entry{"error", "api", "boom"}},
		{`{"msg":"no level"}`, Entry{"unknown", "unknown", "no level"}},
		{"plain text\r\n", Entry{"unknown", "unknown", "plain text"}},
	} {
		if got := parseLine(tc.line); got != tc.want {
			t.Errorf("parseLine(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}
