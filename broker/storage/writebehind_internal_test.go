package storage

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/vfs"
)

// TestWriteBehindIdleLogsHoldNoBuffer: a burst grows a log's write-behind
// buffer, but once its bytes are written the log holds no buffer, and the
// memory kept for reuse across many logs is bounded by their shared free
// list, not by the number of logs that once had a burst.
func TestWriteBehindIdleLogsHoldNoBuffer(t *testing.T) {
	fs := vfs.NewMem()
	bufs := NewBuffers(2)
	value := make([]byte, 64<<10)
	var logs []*Log
	for p := range 8 {
		l, err := Open("/p-"+string(rune('0'+p)), Options{FS: fs, WriteBehind: true, Buffers: bufs})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		logs = append(logs, l)
		for range 32 { // 2 MiB held in memory by this log
			rand.Read(value)
			b, err := record.Build(0, record.Record{Value: value})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Sync(context.Background(), l.EndOffset()); err != nil {
			t.Fatal(err)
		}
	}
	for p, l := range logs {
		l.mu.Lock()
		held := cap(l.pend)
		l.mu.Unlock()
		if held != 0 {
			t.Errorf("log %d holds a %d-byte buffer after its bytes were written, want none", p, held)
		}
	}
	if kept := len(bufs.free); kept > cap(bufs.free) {
		t.Errorf("the free list keeps %d buffers, want at most %d", kept, cap(bufs.free))
	}
	// A busy log reuses a kept buffer instead of growing a new one.
	l := logs[0]
	b, err := record.Build(0, record.Record{Value: []byte("small")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(b); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	reused := cap(l.pend)
	l.mu.Unlock()
	if reused < 1<<20 {
		t.Errorf("after a burst, the next append got a %d-byte buffer, want a kept one of at least 1 MiB", reused)
	}
}
