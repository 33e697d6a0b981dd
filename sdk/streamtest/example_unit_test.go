package streamtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func uppercase(ctx context.Context, in string) (string, error) {
	if in == "" {
		return "", stream.Permanent(errors.New("empty input"))
	}
	return strings.ToUpper(in), nil
}

func TestUppercase(t *testing.T) {
	app := stream.New(stream.Config{
		Bindings: map[string]stream.BindingProperties{
			"uppercase-in-0": {Group: "test", DLQ: true},
		},
	}, stream.WithBinder("memory", memory.New()))
	if err := app.Register(stream.Function("uppercase", uppercase)); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app) // started now, stopped when the test ends

	h.Send("uppercase-in-0", "hello")
	got := streamtest.Receive[string](t, h, "uppercase-out-0") // waits, up to a deadline
	if got.Payload != "HELLO" {
		t.Fatalf("payload = %q, want HELLO", got.Payload)
	}

	// Bad input ends up on the dead-letter destination, with the reason.
	h.Send("uppercase-in-0", "")
	dead := streamtest.Receive[string](t, h, "uppercase-in-0.test.dlq")
	if !strings.Contains(dead.Headers[stream.HeaderExceptionMessage], "empty input") {
		t.Fatalf("dead letter headers = %v", dead.Headers)
	}
}
