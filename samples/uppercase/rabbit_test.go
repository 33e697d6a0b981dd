package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/rabbit/rabbittest"
	"github.com/millstream/millstream/sdk/streamfx"
)

// TestUppercaseOnRabbitMQ runs the sample unchanged on a private
// rabbitmq-server: only MILLSTREAM_DEFAULT_BINDER and the binder's address
// differ from the Kafka run.
func TestUppercaseOnRabbitMQ(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rabbitmq-server")
	}
	srv, err := rabbittest.Start()
	if errors.Is(err, rabbittest.ErrNotInstalled) {
		t.Skip("rabbitmq-server is not installed (make tools installs it)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Setenv("MILLSTREAM_DEFAULT_BINDER", "rabbit")
	t.Setenv("MILLSTREAM_BINDERS_RABBIT_URL", srv.URL)

	// A probe consumer bound next to uppercase reads upper-words.
	got := make(chan string, 1)
	t.Setenv("MILLSTREAM_FUNCTION_DEFINITION", "uppercase;probe")
	t.Setenv("MILLSTREAM_BINDINGS_PROBE_IN_0_DESTINATION", "upper-words")
	t.Setenv("MILLSTREAM_BINDINGS_PROBE_IN_0_GROUP", "probe")
	probe := streamfx.Consumer("probe", func(_ context.Context, s string) error {
		select {
		case got <- s:
		default: // only the first one is checked
		}
		return nil
	})
	var bridge *streamfx.Bridge
	app := fx.New(application(probe, fx.Populate(&bridge)), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if err := bridge.Send(ctx, "words", "hello rabbit"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "HELLO RABBIT" {
			t.Fatalf("upper-words got %q, want HELLO RABBIT", s)
		}
	case <-ctx.Done():
		t.Fatal("nothing arrived on upper-words")
	}
}
