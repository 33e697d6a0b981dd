package streamfx_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
)

func uppercase(_ context.Context, in string) (string, error) { return strings.ToUpper(in), nil }

// collector is a consumer that hands what it receives to the test.
func collector(ch chan<- stream.Message[string]) func(context.Context, stream.Message[string]) error {
	return func(ctx context.Context, m stream.Message[string]) error {
		select {
		case ch <- m:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func receive(t *testing.T, ch <-chan stream.Message[string]) stream.Message[string] {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return stream.Message[string]{}
	}
}

func startApp(t *testing.T, opts ...fx.Option) *fx.App {
	t.Helper()
	app := fx.New(append([]fx.Option{fx.NopLogger}, opts...)...)
	if err := app.Err(); err != nil {
		t.Fatalf("fx.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return app
}

// TestModuleMemory runs a whole fx application on the memory binder: a
// configuration file and a variable, a function binding, a message in and a
// message out.
func TestModuleMemory(t *testing.T) {
	path := writeFile(t, `millstream:
  application: shop
  function:
    definition: uppercase;collect
  bindings:
    uppercase-in-0: { destination: words, group: upper }
    uppercase-out-0: { destination: wrong }
    collect-in-0: { destination: upper-words, group: test }
`)
	got := make(chan stream.Message[string], 1)
	var bridge *streamfx.Bridge
	var app *stream.App
	startApp(t,
		streamfx.Module,
		memory.Module,
		streamfx.Function("uppercase", uppercase),
		streamfx.Consumer("collect", collector(got)),
		streamfx.ConfigFile(path),
		streamfx.Environ([]string{"MILLSTREAM_BINDINGS_UPPERCASE_OUT_0_DESTINATION=upper-words"}),
		fx.Populate(&bridge, &app),
	)
	if err := bridge.Send(t.Context(), "uppercase-in-0", "hello"); err != nil {
		t.Fatal(err)
	}
	m := receive(t, got)
	if m.Payload != "HELLO" || m.Source != "shop" {
		t.Errorf("received %q from source %q, want HELLO from shop", m.Payload, m.Source)
	}
	var dests []string
	for _, b := range app.Bindings() {
		dests = append(dests, b.Name+"="+b.Destination)
	}
	if want := "collect-in-0=upper-words uppercase-in-0=words uppercase-out-0=upper-words"; strings.Join(dests, " ") != want {
		t.Errorf("bindings %v, want %s", dests, want)
	}
}

// TestModuleBadConfig checks that bad configuration stops the fx
// application before anything runs, naming the key and where it was set.
func TestModuleBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  []string
		want string
	}{
		{"unknown key", "millstream:\n  bindings:\n    uppercase-in-0: {destnation: x}\n", nil,
			"millstream.yaml:3: millstream.bindings.uppercase-in-0.destnation: unknown binding property; did you mean destination?"},
		{"binding of no function", "millstream:\n  bindings:\n    lowercase-in-0: {group: g}\n", nil,
			"millstream.yaml:3: millstream.bindings.lowercase-in-0: names no bound function"},
		{"unknown binder section", "millstream:\n  binders:\n    kafka: {brokers: [x]}\n", nil,
			`millstream.yaml:3: millstream.binders.kafka: unknown binder "kafka"; add its module (such as kafka.Module) to the fx app, or fix the name; registered binders: memory`},
		{"unknown default binder", "", []string{"MILLSTREAM_DEFAULT_BINDER=memroy"},
			`env MILLSTREAM_DEFAULT_BINDER: millstream.default-binder: unknown binder "memroy"; did you mean memory?`},
		{"unknown binder of a binding", "millstream:\n  bindings:\n    uppercase-in-0: {binder: rabbit}\n", nil,
			`millstream.yaml:3: millstream.bindings.uppercase-in-0.binder: unknown binder "rabbit"`},
		{"unknown key of a binder", "millstream:\n  binders:\n    memory: {retension: 5}\n", nil,
			"millstream.yaml:3: millstream.binders.memory.retension: unknown key of binder memory; did you mean retention?"},
		{"bad binder setting, reported by the binder module", "millstream:\n  binders:\n    memory:\n      retention: lots\n", nil,
			"millstream.yaml:4: millstream.binders.memory.retention: lots is not a positive whole number"},
		{"unknown function in the definition", "", []string{"MILLSTREAM_FUNCTION_DEFINITION=uppercase;lowercase"},
			`env MILLSTREAM_FUNCTION_DEFINITION: millstream.function.definition: unknown function "lowercase"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []fx.Option{fx.NopLogger, streamfx.Module, memory.Module,
				streamfx.Function("uppercase", uppercase), streamfx.Environ(tc.env)}
			if tc.file != "" {
				opts = append(opts, streamfx.ConfigFile(writeFile(t, tc.file)))
			} else {
				t.Chdir(t.TempDir())
			}
			app := fx.New(opts...)
			err := app.Err()
			if err == nil {
				err = app.Start(t.Context())
				app.Stop(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start error =\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

// TestModuleDrainsOnStop checks that stopping the fx application waits for
// the message in hand.
func TestModuleDrainsOnStop(t *testing.T) {
	t.Chdir(t.TempDir())
	entered, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context, in string) error {
		close(entered)
		<-release
		close(done)
		return nil
	}
	var bridge *streamfx.Bridge
	app := fx.New(fx.NopLogger, streamfx.Module, memory.Module, streamfx.Consumer("slow", slow),
		streamfx.Environ([]string{"MILLSTREAM_BINDINGS_SLOW_IN_0_GROUP=g"}), fx.Populate(&bridge))
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := bridge.Send(t.Context(), "slow-in-0", "x"); err != nil {
		t.Fatal(err)
	}
	<-entered
	stopped := make(chan error)
	go func() { stopped <- app.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a message was in hand", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("Stop returned before the handler finished")
	}
}

// TestModuleHandlerConstructors registers handlers from constructors with
// dependencies, both ways, and a handler that sends through the Bridge.
func TestModuleHandlerConstructors(t *testing.T) {
	t.Chdir(t.TempDir())
	got := make(chan stream.Message[string], 1)
	type prefix string
	var bridge *streamfx.Bridge
	startApp(t, streamfx.Module, memory.Module,
		fx.Supply(prefix(">")),
		fx.Provide(streamfx.AsHandler(func(p prefix, b *streamfx.Bridge) *stream.ConsumerHandler[string] {
			return stream.Consumer("fanout", func(ctx context.Context, in string) error {
				return b.Send(ctx, "marked", string(p)+in)
			})
		})),
		fx.Provide(func() streamfx.HandlerOut {
			return streamfx.HandlerOut{Handler: stream.Consumer("collect", collector(got))}
		}),
		streamfx.Environ([]string{
			"MILLSTREAM_BINDINGS_FANOUT_IN_0_GROUP=g",
			"MILLSTREAM_BINDINGS_COLLECT_IN_0_DESTINATION=marked",
			"MILLSTREAM_BINDINGS_COLLECT_IN_0_GROUP=g",
		}),
		fx.Populate(&bridge),
	)
	if err := bridge.Send(t.Context(), "fanout-in-0", "x"); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, got); m.Payload != ">x" {
		t.Errorf("received %q, want >x", m.Payload)
	}
}

func TestBridgeBeforeStart(t *testing.T) {
	var b streamfx.Bridge
	if err := b.Send(t.Context(), "x", "y"); !errors.Is(err, stream.ErrNotStarted) {
		t.Fatalf("Send before the app is made = %v, want ErrNotStarted", err)
	}
}

// TestModuleBridgeBindings configures a binding that only the Bridge sends
// to, from a variable.
func TestModuleBridgeBindings(t *testing.T) {
	t.Chdir(t.TempDir())
	got := make(chan stream.Message[string], 1)
	var bridge *streamfx.Bridge
	startApp(t, streamfx.Module, memory.Module,
		streamfx.Consumer("collect", collector(got)),
		streamfx.BridgeBindings("orders-out-0"),
		streamfx.Environ([]string{
			"MILLSTREAM_BINDINGS_ORDERS_OUT_0_DESTINATION=orders",
			"MILLSTREAM_BINDINGS_COLLECT_IN_0_DESTINATION=orders",
			"MILLSTREAM_BINDINGS_COLLECT_IN_0_GROUP=g",
		}),
		fx.Populate(&bridge),
	)
	if err := bridge.Send(t.Context(), "orders-out-0", "o1"); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, got); m.Payload != "o1" {
		t.Errorf("received %q, want o1", m.Payload)
	}
}

// TestModuleLogger checks that one logger gets fx's events and the
// application's.
func TestModuleLogger(t *testing.T) {
	t.Chdir(t.TempDir())
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	startApp(t, streamfx.Module, memory.Module, streamfx.Function("uppercase", uppercase),
		streamfx.Environ([]string{}), streamfx.Logger(log), streamfx.Actuator("127.0.0.1:0"))
	out := buf.String()
	for _, want := range []string{"msg=started", "actuator listening"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
