package stream

import (
	"context"
	"errors"
	"testing"
)

func TestCommitHoldSettlesAfterOutputs(t *testing.T) {
	ctx, h := WithCommitHold(context.Background())
	if CommitHoldFrom(ctx) != h || CommitHoldFrom(context.Background()) != nil {
		t.Fatal("CommitHoldFrom does not return the hold of the context")
	}
	d1, d2 := h.Add(), h.Add()
	var got []error
	if h.Settled(func(err error) { got = append(got, err) }) {
		t.Fatal("settled with 2 outputs pending")
	}
	d1(nil)
	if len(got) != 0 || h.Pending() != 1 {
		t.Fatalf("after one completion: settled %v, pending %d", got, h.Pending())
	}
	boom := errors.New("boom")
	d2(boom)
	d2(nil) // a second call does nothing
	if len(got) != 1 || !errors.Is(got[0], boom) {
		t.Fatalf("settled with %v, want [boom] once", got)
	}
}

func TestCommitHoldNothingPending(t *testing.T) {
	_, h := WithCommitHold(context.Background())
	h.Add()(nil)
	var called bool
	if !h.Settled(func(err error) { called = err == nil }) || !called {
		t.Fatal("a hold with nothing pending must settle at once with nil")
	}
}
