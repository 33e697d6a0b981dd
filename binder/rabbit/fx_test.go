package rabbit_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/streamfx"
)

// TestModule runs a whole fx application on the RabbitMQ binder, configured
// by a YAML file with the URL from the environment, as a deployment would.
func TestModule(t *testing.T) {
	d := dest()
	path := filepath.Join(t.TempDir(), "millstream.yaml")
	cfg := `millstream:
  binders:
    rabbit: {close-timeout: 1s}
  bindings:
    uppercase-in-0: {destination: ` + d + `.words, group: uppercase}
    uppercase-out-0: {destination: ` + d + `.upper}
    collect-in-0: {destination: ` + d + `.upper, group: test}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MILLSTREAM_BINDERS_RABBIT_URL", broker(t).URL)
	got := make(chan string, 1)
	var bridge *streamfx.Bridge
	app := fx.New(fx.NopLogger, streamfx.Module, rabbit.Module,
		streamfx.Function("uppercase", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil }),
		streamfx.Consumer("collect", func(_ context.Context, s string) error { got <- s; return nil }),
		streamfx.ConfigFile(path),
		fx.Populate(&bridge))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := app.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	if err := bridge.Send(ctx, "uppercase-in-0", "hello rabbit"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "HELLO RABBIT" {
			t.Errorf("got %q, want HELLO RABBIT", s)
		}
	case <-ctx.Done():
		t.Fatal("nothing reached the output destination")
	}
}

func TestModuleErrors(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"millstream:\n  binders:\n    rabbit: {ur1: amqp://x}\n", "millstream.binders.rabbit.ur1: unknown key"},
	} {
		path := filepath.Join(t.TempDir(), "millstream.yaml")
		if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		app := fx.New(fx.NopLogger, streamfx.Module, rabbit.Module, streamfx.ConfigFile(path),
			streamfx.Consumer("sink", func(context.Context, string) error { return nil }))
		if err := app.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("fx app with %q: %v, want an error containing %q", tt.yaml, err, tt.want)
		}
	}
}

// TestModuleConnectsOnStart: with RabbitMQ unreachable the application is
// still built (the module does not connect in its constructor); Start fails
// with an error naming the URL, its password redacted.
func TestModuleConnectsOnStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "millstream.yaml")
	yaml := "millstream:\n  binders:\n    rabbit: {url: \"amqp://app:s3cret@127.0.0.1:1/\"}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	app := fx.New(fx.NopLogger, streamfx.Module, rabbit.Module, streamfx.ConfigFile(path),
		streamfx.Consumer("sink", func(context.Context, string) error { return nil }))
	if err := app.Err(); err != nil {
		t.Fatalf("building the app without RabbitMQ: %v, want no error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := app.Start(ctx)
	if err == nil {
		app.Stop(ctx)
		t.Fatal("Start with RabbitMQ unreachable = nil, want an error")
	}
	if want := "rabbit: connect to amqp://app:xxxxx@127.0.0.1:1/"; !strings.Contains(err.Error(), want) {
		t.Errorf("Start = %v, want an error containing %q", err, want)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Start = %v: shows the password", err)
	}
}
