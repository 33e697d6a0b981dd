package kafka

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

type ctxKey struct{}

// A message's context behaves as a context.WithCancel of its parent would:
// values from the parent, not done until ended, then done for good with
// context.Canceled; contexts derived from it end with it, with no
// goroutine of their own; AfterFunc runs once, unless stopped first.
func TestRecordContextEnds(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	c := &recordContext{Context: parent}
	if c.Value(ctxKey{}) != "v" {
		t.Fatal("the parent's value is not seen")
	}
	if c.Err() != nil {
		t.Fatalf("Err before end = %v", c.Err())
	}
	done := c.Done()
	if done != c.Done() {
		t.Fatal("Done returned two channels")
	}
	select {
	case <-done:
		t.Fatal("done before end")
	default:
	}

	// Without AfterFunc, the context package would start a goroutine per
	// derived context to watch Done.
	before := runtime.NumGoroutine()
	for range 100 {
		_, cancel := context.WithCancel(c)
		defer cancel()
	}
	derived, cancel := context.WithCancel(c)
	defer cancel()
	timed, cancelTimed := context.WithTimeout(c, time.Hour)
	defer cancelTimed()
	if n := runtime.NumGoroutine(); n-before > 50 {
		t.Errorf("deriving 102 contexts started %d goroutines, want none (AfterFunc)", n-before)
	}
	var ran, stoppedRan atomic.Int32
	stop := c.AfterFunc(func() { stoppedRan.Add(1) })
	c.AfterFunc(func() { ran.Add(1) })
	if !stop() || stop() {
		t.Error("stop before end: want true once, then false")
	}

	c.end()
	c.end() // again: nothing
	for what, d := range map[string]<-chan struct{}{"Done": done, "a derived context": derived.Done(), "a derived timeout": timed.Done()} {
		select {
		case <-d:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s not closed after end", what)
		}
	}
	if !errors.Is(c.Err(), context.Canceled) || !errors.Is(derived.Err(), context.Canceled) || !errors.Is(context.Cause(c), context.Canceled) {
		t.Errorf("after end: Err %v, derived %v, Cause %v; want context.Canceled", c.Err(), derived.Err(), context.Cause(c))
	}
	waitFor := time.Now().Add(5 * time.Second)
	for ran.Load() == 0 && time.Now().Before(waitFor) {
		time.Sleep(time.Millisecond)
	}
	if ran.Load() != 1 || stoppedRan.Load() != 0 {
		t.Errorf("AfterFunc ran %d times, a stopped one %d; want 1 and 0", ran.Load(), stoppedRan.Load())
	}

	// After the end: Done is closed even when first asked for now, a new
	// AfterFunc runs at once, and stopping it is too late.
	late := &recordContext{Context: parent}
	late.end()
	select {
	case <-late.Done():
	default:
		t.Error("Done first asked for after end is not closed")
	}
	ranLate := make(chan struct{})
	if late.AfterFunc(func() { close(ranLate) })() {
		t.Error("stop of an AfterFunc registered after end reported true")
	}
	select {
	case <-ranLate:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc registered after end did not run")
	}
}
