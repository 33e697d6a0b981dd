//go:build integration

// The integration test runs the whole application against a real
// Millstream broker in Docker, started with testcontainers:
//
//	go test -tags integration ./...
//
// BROKER_IMAGE names the broker image (default millstream/broker:dev);
// BROKER_REPO=<Millstream checkout> builds it first (make integration
// does that when the project was made from a checkout). Where no
// registry is reachable, set TESTCONTAINERS_RYUK_DISABLED=true.

package main

import (
	"cmp"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokercontainer"
	"github.com/millstream/millstream/sdk/streamfx"
	"github.com/testcontainers/testcontainers-go"
	"go.uber.org/fx"
)

// startBroker runs the broker in Docker and points the application at it.
func startBroker(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var opts []testcontainers.ContainerCustomizer
	if repo := os.Getenv("BROKER_REPO"); repo != "" {
		opts = append(opts, brokercontainer.WithBuildFromRepo(repo))
	}
	ctr, err := brokercontainer.Run(ctx, cmp.Or(os.Getenv("BROKER_IMAGE"), brokercontainer.DefaultImage), opts...)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	brokers, err := ctr.Brokers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MILLSTREAM_BINDERS_KAFKA_BROKERS", strings.Join(brokers, ","))
}

func TestIntegration(t *testing.T) {
	startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A probe consumer, bound next to hello, reads hello-out.
	got := make(chan Event, 16)
	t.Setenv("MILLSTREAM_FUNCTION_DEFINITION", "hello;probe")
	t.Setenv("MILLSTREAM_BINDINGS_PROBE_IN_0_DESTINATION", "hello-out")
	t.Setenv("MILLSTREAM_BINDINGS_PROBE_IN_0_GROUP", "probe")
	probe := streamfx.Consumer("probe", func(_ context.Context, e Event) error {
		select {
		case got <- e:
		default:
		}
		return nil
	})
	h := newHandler()
	var bridge *streamfx.Bridge
	app := fx.New(application(h, probe, fx.Populate(&bridge)), fx.NopLogger)
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if err := bridge.Send(ctx, "hello-in-0", Event{Message: "hello"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Message != "HELLO" {
			t.Fatalf("hello-out got %q, want HELLO", e.Message)
		}
	case <-ctx.Done():
		t.Fatal("nothing arrived on hello-out")
	}
}
