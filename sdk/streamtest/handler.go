package streamtest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// handlerSubscriber opens a subscriber of group on dest and returns it as a
// HandlerSubscriber; the test is skipped when the binder's subscribers are
// not.
func (s *suite) handlerSubscriber(t *testing.T, b stream.Binder, dest, group string) stream.HandlerSubscriber {
	t.Helper()
	sub := stream.Subscription{Destination: dest, Group: group, StartOffset: stream.Earliest,
		Properties: stream.BindingProperties{Group: group}.WithDefaults(dest)}
	ws, err := b.Subscriber(t.Context(), sub)
	if err != nil {
		t.Fatalf("Subscriber(%s, %s): %v", dest, group, err)
	}
	t.Cleanup(func() { ws.Close() })
	hs, ok := ws.(stream.HandlerSubscriber)
	if !ok {
		t.Skipf("the binder's subscriber (%T) is not a stream.HandlerSubscriber", ws)
	}
	return hs
}

// handlerOrder checks SubscribeHandler's contract: every message is handled,
// in order per key; a message whose call returns an error, panics or calls
// runtime.Goexit comes again before anything after it of its partition.
func (s *suite) handlerOrder(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	p, partitions := s.keyedPublisher(t, b, dest)
	const keys, perKey = 4, 15
	s.sendKeyed(t, b, p, dest, partitions, keys*perKey, keys)
	hs := s.handlerSubscriber(t, b, dest, "handled")

	var mu sync.Mutex
	seen := map[int]int{} // calls per seq
	var handled []int     // seqs whose call acked, in order
	done := make(chan struct{})
	h := func(m *message.Message) error {
		seq, err := strconv.Atoi(fmt.Sprint(decode(t, b, m).Extensions()["seq"]))
		if err != nil {
			return fmt.Errorf("message without seq: %w", err)
		}
		mu.Lock()
		seen[seq]++
		first := seen[seq] == 1
		mu.Unlock()
		switch {
		case first && seq%keys == 1 && seq/keys == 2:
			return errors.New("first call fails")
		case first && seq%keys == 2 && seq/keys == 3:
			panic("first call panics")
		case first && seq%keys == 3 && seq/keys == 4:
			runtime.Goexit()
		}
		mu.Lock()
		handled = append(handled, seq)
		if len(handled) == keys*perKey {
			close(done)
		}
		mu.Unlock()
		return nil
	}
	if err := hs.SubscribeHandler(context.WithoutCancel(t.Context()), dest, h); err != nil {
		t.Fatalf("SubscribeHandler(%s): %v", dest, err)
	}
	select {
	case <-done:
	case <-time.After(s.f.Timeout):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d messages handled within %v: %v", len(handled), keys*perKey, s.f.Timeout, handled)
	}
	mu.Lock()
	defer mu.Unlock()
	for k := range keys {
		var got, want []int
		for _, seq := range handled {
			if seq%keys == k {
				got = append(got, seq)
			}
		}
		for i := range perKey {
			want = append(want, i*keys+k)
		}
		if !slices.Equal(got, want) {
			t.Errorf("key %d: handled %v, want %v (each once, in order)", k, got, want)
		}
	}
	for _, seq := range []int{2*keys + 1, 3*keys + 2, 4*keys + 3} {
		if seen[seq] != 2 {
			t.Errorf("message %d was handled %d times, want 2 (its first call failed)", seq, seen[seq])
		}
	}
}

// handlerClose checks that Close waits for a call in progress.
func (s *suite) handlerClose(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	p := s.publisher(t, b, dest, 1)
	s.send(t, b, p, dest, cloudevent.Binary, testEvent(0, ""), 1)
	hs := s.handlerSubscriber(t, b, dest, "closing")
	inCall, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	err := hs.SubscribeHandler(context.WithoutCancel(t.Context()), dest, func(*message.Message) error {
		once.Do(func() { close(inCall) })
		<-release
		return nil
	})
	if err != nil {
		t.Fatalf("SubscribeHandler(%s): %v", dest, err)
	}
	expect(t, inCall, struct{}{}, s.f.Timeout)
	closed := make(chan error, 1)
	go func() { closed <- hs.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a call was in progress", err)
	case <-time.After(s.f.Quiet):
	}
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(s.f.Timeout):
		t.Fatalf("Close did not return within %v of the call's end", s.f.Timeout)
	}
}
