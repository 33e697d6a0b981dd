package rabbit

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestCompleteFailsLaterQueued: messages complete in queuing order; once
// one fails, every message queued up to then fails too (even one the
// broker confirmed), and one queued afterwards completes on its own.
func TestCompleteFailsLaterQueued(t *testing.T) {
	type result struct {
		seq uint64
		err error
	}
	var seq atomic.Uint64
	queue := make(chan queued, 8)
	results := make(chan result, 8)
	add := func(confirmed func() bool, err error) {
		s := seq.Add(1)
		queue <- queued{seq: s, confirmed: confirmed, err: err, id: "m", topic: "d",
			done: func(err error) { results <- result{s, err} }}
	}
	ok := func() bool { return true }
	nack := make(chan bool)
	add(ok, nil)                            // 1: confirmed
	add(func() bool { return <-nack }, nil) // 2: nacked after 3 and 4 were queued
	add(ok, nil)                            // 3: confirmed, queued before 2 failed
	add(nil, errors.New("channel closed"))  // 4: not sent
	ended := make(chan struct{})
	go complete(queue, &seq, ended)
	nack <- false
	want := []error{nil, errNotConfirmed, errEarlierFailed, nil}
	for i, w := range want {
		r := <-results
		if r.seq != uint64(i+1) {
			t.Fatalf("completion %d was of message %d, want %d", i+1, r.seq, i+1)
		}
		switch {
		case w == nil && i == 0 && r.err != nil:
			t.Fatalf("message 1: done(%v), want nil", r.err)
		case w != nil && !errors.Is(r.err, w):
			t.Fatalf("message %d: done(%v), want %v", r.seq, r.err, w)
		case i == 3 && r.err == nil:
			t.Fatalf("message 4: done(nil), want its send error")
		}
	}
	add(ok, nil) // 5: queued after the failure was reported
	if r := <-results; r.seq != 5 || r.err != nil {
		t.Fatalf("message %d: done(%v), want message 5 with nil", r.seq, r.err)
	}
	close(queue)
	<-ended
}
