package kafka_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/streamfx"
)

// TestModuleEmbedded runs a whole fx application on the Kafka binder with
// brokers: embedded: no server but the one the binder starts.
func TestModuleEmbedded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "millstream.yaml")
	cfg := `millstream:
  binders:
    kafka: {brokers: embedded, embedded-data-dir: ` + filepath.Join(dir, "data") + `, close-timeout: 1s}
  bindings:
    uppercase-in-0: {destination: words, group: uppercase}
    uppercase-out-0: {destination: upper-words}
    collect-in-0: {destination: upper-words, group: test}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	var bridge *streamfx.Bridge
	app := fx.New(fx.NopLogger, streamfx.Module, kafka.Module,
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
	if err := bridge.Send(ctx, "uppercase-in-0", "hello kafka"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "HELLO KAFKA" {
			t.Errorf("got %q, want HELLO KAFKA", s)
		}
	case <-ctx.Done():
		t.Fatal("nothing reached upper-words")
	}
}

func TestModuleUnknownKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "millstream.yaml")
	if err := os.WriteFile(path, []byte("millstream:\n  binders:\n    kafka: {brokrs: [x:1]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := fx.New(fx.NopLogger, streamfx.Module, kafka.Module, streamfx.ConfigFile(path),
		streamfx.Consumer("collect", func(_ context.Context, s string) error { return nil }))
	if err := app.Err(); err == nil || !strings.Contains(err.Error(), "brokrs") {
		t.Errorf("fx.New with an unknown key = %v, want an error naming brokrs", err)
	}
}
