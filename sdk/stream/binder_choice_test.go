package stream_test

import (
	"strings"
	"testing"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// The binders section holds settings for the binders that have any; it does
// not list the binders there are. A registered binder without settings can
// be the default or a binding's binder.
func TestBinderWithoutSettingsSection(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  stream.Config
	}{
		{"default binder", stream.Config{
			DefaultBinder: "memory",
			Binders:       map[string]stream.BinderConfig{"kafka": {"brokers": []any{"localhost:9092"}}},
		}},
		{"binding binder", stream.Config{
			DefaultBinder: "kafka",
			Binders:       map[string]stream.BinderConfig{"kafka": {"brokers": []any{"localhost:9092"}}},
			Bindings: map[string]stream.BindingProperties{
				"uppercase-in-0":  {Binder: "memory"},
				"uppercase-out-0": {Binder: "memory"},
			},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			app := stream.New(tc.cfg,
				stream.WithBinder("memory", memory.New()),
				stream.WithBinder("kafka", memory.New()))
			if err := app.Register(stream.Function("uppercase", uppercase)); err != nil {
				t.Fatal(err)
			}
			h := streamtest.Run(t, app)
			for _, b := range app.Bindings() {
				if b.Binder != "memory" {
					t.Fatalf("binding %s: binder = %s, want memory", b.Name, b.Binder)
				}
			}
			h.Send("uppercase-in-0", "hi")
			if got := streamtest.Receive[string](t, h, "uppercase-out-0"); got.Payload != "HI" {
				t.Fatalf("payload = %q, want HI", got.Payload)
			}
		})
	}
}

// A binder that is not registered is still an error naming the key and the
// registered binders, reported once, even when no binding uses the default.
func TestUnknownBinderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  stream.Config
		hs   []stream.Handler
		want string
	}{
		{"default binder", stream.Config{DefaultBinder: "nats"}, []stream.Handler{stream.Function("uppercase", uppercase)},
			`millstream.default-binder: unknown binder "nats"; registered binders: kafka, memory`},
		{"default binder, nothing bound", stream.Config{DefaultBinder: "nats"}, nil,
			`millstream.default-binder: unknown binder "nats"; registered binders: kafka, memory`},
		{"binding binder", stream.Config{DefaultBinder: "memory", Bindings: map[string]stream.BindingProperties{"uppercase-in-0": {Binder: "rabbit"}}},
			[]stream.Handler{stream.Function("uppercase", uppercase)},
			`millstream.bindings.uppercase-in-0.binder: unknown binder "rabbit"; registered binders: kafka, memory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := stream.New(tc.cfg, stream.WithBinder("memory", memory.New()), stream.WithBinder("kafka", memory.New()))
			if err := app.Register(tc.hs...); err != nil {
				t.Fatal(err)
			}
			err := app.Start(t.Context())
			if err == nil {
				app.Stop(t.Context())
				t.Fatalf("Start() = nil, want an error containing %q", tc.want)
			}
			if n := strings.Count(err.Error(), tc.want); n != 1 {
				t.Fatalf("Start() = %v\nwant %q exactly once (found %d times)", err, tc.want, n)
			}
		})
	}
}

// When a function's binder cannot be resolved, its bindings still exist: the
// error names the binder, not "names no bound function".
func TestUnresolvedBinderReportsOnlyTheCause(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  stream.Config
		want string
	}{
		{"binding binder", stream.Config{DefaultBinder: "memory", Bindings: map[string]stream.BindingProperties{
			"uppercase-in-0":  {Binder: "rabbit", Group: "g"},
			"uppercase-out-0": {Destination: "shouts"},
		}}, `millstream.bindings.uppercase-in-0.binder: unknown binder "rabbit"; registered binders: kafka, memory`},
		{"default binder", stream.Config{DefaultBinder: "nats", Bindings: map[string]stream.BindingProperties{
			"uppercase-in-0": {Group: "g"},
		}}, `millstream.default-binder: unknown binder "nats"; registered binders: kafka, memory`},
		{"no default among several", stream.Config{Bindings: map[string]stream.BindingProperties{
			"uppercase-in-0": {Group: "g"},
		}}, `millstream.default-binder: several binders are registered (kafka, memory); set default-binder or bindings.uppercase-in-0.binder`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := stream.New(tc.cfg, stream.WithBinder("memory", memory.New()), stream.WithBinder("kafka", memory.New()))
			if err := app.Register(stream.Function("uppercase", uppercase)); err != nil {
				t.Fatal(err)
			}
			err := app.Start(t.Context())
			if err == nil {
				app.Stop(t.Context())
				t.Fatalf("Start() = nil, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start() = %v\nwant an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "names no bound function") {
				t.Fatalf("Start() = %v\nwant only the binder error, not \"names no bound function\"", err)
			}
		})
	}
}
