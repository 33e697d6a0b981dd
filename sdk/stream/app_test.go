package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func uppercase(_ context.Context, in string) (string, error) { return strings.ToUpper(in), nil }

func TestFunctionRoundTrip(t *testing.T) {
	app := stream.New(stream.Config{Application: "test"}, stream.WithBinder("memory", memory.New()))
	if err := app.Register(stream.Function("uppercase", uppercase)); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	h.Send("uppercase-in-0", "hello")
	got := streamtest.Receive[string](t, h, "uppercase-out-0")
	if got.Payload != "HELLO" {
		t.Fatalf("payload = %q, want HELLO", got.Payload)
	}
	if got.Source != "test" || got.ContentType != "text/plain" || got.Type != "millstream.string" {
		t.Fatalf("attributes = source %q, content type %q, type %q", got.Source, got.ContentType, got.Type)
	}
}
