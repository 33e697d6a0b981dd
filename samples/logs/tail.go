package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// tailer follows a file like tail -F from its first line: lines appended
// later are read as they come, a line is sent only once its newline is
// written, and a file cut short (truncated or replaced by a smaller one)
// is read again from its start.
type tailer struct {
	path string
	poll time.Duration // how often to look for more at the end of the file
}

// run hands every complete line to emit until ctx ends or emit returns
// false.
func (t *tailer) run(ctx context.Context, emit func(line string) bool) error {
	var (
		f       *os.File
		r       *bufio.Reader
		offset  int64
		partial []byte
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	tick := time.NewTicker(t.poll)
	defer tick.Stop()
	for {
		if f == nil {
			var err error
			f, err = os.Open(t.path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				// not written yet: wait for it
			case err != nil:
				return fmt.Errorf("tail %s: %w", t.path, err)
			default:
				r, offset, partial = bufio.NewReader(f), 0, nil
			}
		}
		for f != nil {
			b, err := r.ReadBytes('\n')
			offset += int64(len(b))
			if err == nil {
				line := string(append(partial, b...))
				partial = nil
				if !emit(line) {
					return nil
				}
				continue
			}
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("tail %s: %w", t.path, err)
			}
			partial = append(partial, b...)
			if info, err := os.Stat(t.path); err == nil && info.Size() < offset {
				f.Close() // cut short: start again from the top
				f = nil
			}
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
}
