package main

import (
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// start runs the handler on the in-memory binder for one test.
func start(t *testing.T, h *handler) *streamtest.Harness {
	t.Helper()
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"hello-in-0": {Group: "test", DLQ: true},
	}}, stream.WithBinder("memory", memory.New()))
	if err := app.Register(stream.Function("hello", h.Handle)); err != nil {
		t.Fatal(err)
	}
	return streamtest.Run(t, app) // started now, stopped when the test ends
}

func TestHandle(t *testing.T) {
	h := start(t, newHandler())
	h.Send("hello-in-0", Event{Message: "hello"})
	got := streamtest.Receive[Event](t, h, "hello-out-0")
	if got.Payload.Message != "HELLO" {
		t.Fatalf("Handle(hello) sent %q, want HELLO", got.Payload.Message)
	}
}

func TestHandleRejectsEmpty(t *testing.T) {
	h := start(t, newHandler())
	h.Send("hello-in-0", Event{})
	dead := streamtest.Receive[Event](t, h, "hello-in-0.test.dlq")
	if !strings.Contains(dead.Headers[stream.HeaderExceptionMessage], "empty message") {
		t.Fatalf("dead letter headers = %v, want the reason", dead.Headers)
	}
}

// TestApplication checks the fx wiring of main without starting it.
func TestApplication(t *testing.T) {
	if err := fx.ValidateApp(application(newHandler())); err != nil {
		t.Fatal(err)
	}
}
