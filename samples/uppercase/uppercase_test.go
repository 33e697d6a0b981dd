package main

import (
	"context"
	"testing"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// newApp builds the sample's application as main does (millstream.yaml and
// MILLSTREAM_* variables) without starting it; streamtest starts it.
func newApp(t *testing.T) *stream.App {
	t.Helper()
	var app *stream.App
	if err := fx.New(application(), fx.Populate(&app), fx.NopLogger).Err(); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestUppercaseOnMemory(t *testing.T) {
	t.Setenv("MILLSTREAM_DEFAULT_BINDER", "memory")
	h := streamtest.Run(t, newApp(t))

	for _, tc := range []struct{ in, want string }{
		{"hello", "HELLO"},
		{"héllo, wörld", "HÉLLO, WÖRLD"},
	} {
		h.Send("uppercase-in-0", tc.in)
		got := streamtest.Receive[string](t, h, "uppercase-out-0")
		if got.Payload != tc.want {
			t.Errorf("uppercase(%q) = %q, want %q", tc.in, got.Payload, tc.want)
		}
		if got.ContentType != "text/plain" {
			t.Errorf("content type = %q, want text/plain", got.ContentType)
		}
	}
	if dest := h.App().Config().Bindings["uppercase-out-0"].Destination; dest != "upper-words" {
		t.Errorf("output destination = %q, want upper-words", dest)
	}
}

func TestUppercaseRejectsEmpty(t *testing.T) {
	_, err := uppercase(context.Background(), "")
	if !stream.IsPermanent(err) {
		t.Fatalf("uppercase(\"\") = %v, want a permanent error", err)
	}
}
