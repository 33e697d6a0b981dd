package streamtest_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func TestListenAndPending(t *testing.T) {
	app := stream.New(stream.Config{}, stream.WithBinder("memory", memory.New()))
	h := streamtest.Run(t, app, streamtest.WithTimeout(2*time.Second))
	h.Listen("", "notifications")
	for _, s := range []string{"a", "b"} {
		h.Send("notifications", s)
	}
	if got := streamtest.Receive[string](t, h, "notifications").Payload; got != "a" {
		t.Fatalf("first = %q, want a", got)
	}
	// b arrives asynchronously; Raw waits for it.
	if got := string(h.Raw("notifications").Payload); got != "b" {
		t.Fatalf("second = %q, want b", got)
	}
	if n := h.Pending("notifications"); n != 0 {
		t.Fatalf("Pending = %d, want 0", n)
	}
}
