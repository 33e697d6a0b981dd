package stream_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// pauseBinder is the memory binder with its subscribers' native pause
// counted (native), failing (broken) or hidden (neither), to test both of
// the SDK's ways to pause.
type pauseBinder struct {
	*memory.Binder
	native, broken bool
	pauses         atomic.Int32
	resumes        atomic.Int32
}

func (b *pauseBinder) Subscriber(ctx context.Context, s stream.Subscription) (message.Subscriber, error) {
	sub, err := b.Binder.Subscriber(ctx, s)
	if err != nil || !(b.native || b.broken) {
		return plainSubscriber{sub}, err
	}
	return &countingPauser{Subscriber: sub, b: b}, nil
}

// plainSubscriber hides the memory subscriber's Pauser.
type plainSubscriber struct{ message.Subscriber }

type countingPauser struct {
	message.Subscriber
	b *pauseBinder
}

func (c *countingPauser) Pause(ctx context.Context) error {
	c.b.pauses.Add(1)
	if c.b.broken {
		return errors.New("pause not possible")
	}
	return c.Subscriber.(stream.Pauser).Pause(ctx)
}

func (c *countingPauser) Resume(ctx context.Context) error {
	c.b.resumes.Add(1)
	return c.Subscriber.(stream.Pauser).Resume(ctx)
}

// TestPause runs the same pause and resume through a binder that pauses
// natively, one that cannot (the SDK's gate), and one whose pause fails
// (the gate takes over): nothing is handled while paused, everything after.
func TestPause(t *testing.T) {
	for _, tc := range []struct {
		name           string
		native, broken bool
		wantPauses     int32
		wantResumes    int32
	}{
		{"native", true, false, 1, 1},
		{"gate", false, false, 0, 0},
		{"native fails", false, true, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &pauseBinder{Binder: memory.New(), native: tc.native, broken: tc.broken}
			got := make(chan string, 10)
			seen := make(chan string, 10)
			app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
				"sink-in-0":    {Destination: "in", Group: "g", Concurrency: 2, PartitionCount: 2},
				"witness-in-0": {Destination: "in", Group: "w"},
			}}, stream.WithBinder("memory", b))
			app.Register(
				stream.Consumer("sink", func(_ context.Context, in string) error { got <- in; return nil }),
				stream.Consumer("witness", func(_ context.Context, in string) error { seen <- in; return nil }),
			)
			h := streamtest.Run(t, app)
			h.Send("sink-in-0", "one")
			want(t, got, "one")
			want(t, seen, "one")
			for range 2 { // pausing twice is pausing once
				if err := app.SetState(t.Context(), "sink-in-0", stream.StatePaused); err != nil {
					t.Fatal(err)
				}
			}
			if bi, _ := app.Binding("sink-in-0"); bi.State != stream.StatePaused {
				t.Fatalf("state = %s, want PAUSED", bi.State)
			}
			h.Send("sink-in-0", "two")
			want(t, seen, "two")
			select {
			case v := <-got:
				t.Fatalf("paused binding handled %q", v)
			case <-time.After(50 * time.Millisecond):
			}
			for range 2 {
				if err := app.SetState(t.Context(), "sink-in-0", stream.StateResumed); err != nil {
					t.Fatal(err)
				}
			}
			want(t, got, "two")
			if bi, _ := app.Binding("sink-in-0"); bi.State != stream.StateStarted {
				t.Fatalf("state after resume = %s, want STARTED", bi.State)
			}
			if p, r := b.pauses.Load(), b.resumes.Load(); p != tc.wantPauses || r != tc.wantResumes {
				t.Fatalf("binder Pause/Resume calls = %d/%d, want %d/%d", p, r, tc.wantPauses, tc.wantResumes)
			}
		})
	}
}

func want(t *testing.T, ch <-chan string, v string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != v {
			t.Fatalf("got %q, want %q", got, v)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing received, want %q", v)
	}
}
