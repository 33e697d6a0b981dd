package stream

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

func TestWorkersRunTheChainAndReturnItsResult(t *testing.T) {
	w := newWorkers()
	defer w.close()
	want := errors.New("handler failed")
	out := []*message.Message{message.NewMessage("out", nil)}
	h := w.middleware(func(msg *message.Message) ([]*message.Message, error) {
		if msg.UUID == "bad" {
			return nil, want
		}
		return out, nil
	})
	got, err := h(message.NewMessage("good", nil))
	if err != nil || len(got) != 1 || got[0] != out[0] {
		t.Fatalf("good message: got %v, %v; want the handler's output", got, err)
	}
	if _, err := h(message.NewMessage("bad", nil)); !errors.Is(err, want) {
		t.Fatalf("bad message: got %v, want %v", err, want)
	}
}

func TestWorkersKeepMessagesApartUnderConcurrency(t *testing.T) {
	w := newWorkers()
	defer w.close()
	h := w.middleware(func(msg *message.Message) ([]*message.Message, error) {
		time.Sleep(time.Millisecond) // overlap the messages
		return []*message.Message{message.NewMessage(msg.UUID+"-out", nil)}, nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			id := string(rune('A'+i%26)) + strings.Repeat("x", i)
			out, err := h(message.NewMessage(id, nil))
			if err != nil || len(out) != 1 || out[0].UUID != id+"-out" {
				errs <- errors.New("message " + id + " got another message's result")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestWorkersRaiseAPanicOnTheCallersGoroutine(t *testing.T) {
	w := newWorkers()
	defer w.close()
	h := w.middleware(func(*message.Message) ([]*message.Message, error) { panic("boom") })
	func() {
		defer func() {
			r := recover()
			p, ok := r.(workerPanic)
			if !ok || p.value != "boom" || !strings.Contains(p.String(), "worker stack") {
				t.Fatalf("recovered %#v; want the handler's panic with the worker's stack", r)
			}
		}()
		h(message.NewMessage("m", nil))
		t.Fatal("the panic did not reach the caller")
	}()
	// The worker survived the panic and still serves.
	ok := w.middleware(func(*message.Message) ([]*message.Message, error) { return nil, nil })
	if _, err := ok(message.NewMessage("next", nil)); err != nil {
		t.Fatal(err)
	}
}

func TestWorkersReportGoexit(t *testing.T) {
	w := newWorkers()
	defer w.close()
	h := w.middleware(func(*message.Message) ([]*message.Message, error) {
		runtime.Goexit()
		return nil, nil
	})
	if _, err := h(message.NewMessage("m", nil)); err == nil || !strings.Contains(err.Error(), "Goexit") {
		t.Fatalf("got %v, want an error naming runtime.Goexit", err)
	}
}

func TestWorkersEndWhenClosed(t *testing.T) {
	before := runtime.NumGoroutine()
	w := newWorkers()
	var wg sync.WaitGroup
	h := w.middleware(func(*message.Message) ([]*message.Message, error) {
		time.Sleep(time.Millisecond)
		return nil, nil
	})
	for range 8 {
		wg.Go(func() { h(message.NewMessage("m", nil)) })
	}
	wg.Wait()
	w.close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // poll: workers end asynchronously
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after close, %d before: workers did not end", n, before)
	}
}
