package streamfx

import (
	"context"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
)

// Value groups that Module reads. They are part of the API: a module of
// your own may feed them with fx.Out structs or fx.ResultTags.
const (
	// HandlersGroup holds the stream.Handler values to bind.
	HandlersGroup = "millstream.handlers"
	// BindersGroup holds the NamedBinder values to bind with.
	BindersGroup = "millstream.binders"
)

// Function registers a function handler: one line in an fx app.
//
//	fx.New(streamfx.Module, memory.Module, streamfx.Function("uppercase", uppercase))
//
// It is [stream.Function] fed to [Handler].
func Function[In, Out any](name string, fn func(context.Context, In) (Out, error)) fx.Option {
	return Handler(stream.Function(name, fn))
}

// Consumer registers a consumer handler ([stream.Consumer]).
func Consumer[In any](name string, fn func(context.Context, In) error) fx.Option {
	return Handler(stream.Consumer(name, fn))
}

// Supplier registers a polled supplier ([stream.Supplier]).
func Supplier[Out any](name string, fn func(context.Context) (Out, error)) fx.Option {
	return Handler(stream.Supplier(name, fn))
}

// ChannelSupplier registers a pushed supplier ([stream.ChannelSupplier]).
func ChannelSupplier[Out any](name string, ch <-chan Out) fx.Option {
	return Handler(stream.ChannelSupplier(name, ch))
}

// Handler registers a handler made with sdk/stream, for instance one with
// PartitionBy set.
func Handler(h stream.Handler) fx.Option {
	return fx.Provide(fx.Annotate(func() stream.Handler { return h }, fx.ResultTags(`group:"`+HandlersGroup+`"`)))
}

// AsHandler annotates a constructor whose result is a stream.Handler (any
// of the handler types of sdk/stream) so that its handler is registered;
// the constructor may take dependencies:
//
//	fx.Provide(streamfx.AsHandler(NewEnricher)) // func NewEnricher(db *DB) *stream.FunctionHandler[Order, Order]
func AsHandler(constructor any) any {
	return fx.Annotate(constructor, fx.As(new(stream.Handler)), fx.ResultTags(`group:"`+HandlersGroup+`"`))
}

// HandlerOut is a result struct that registers a handler from a
// constructor:
//
//	func NewAudit(log *slog.Logger) streamfx.HandlerOut {
//		return streamfx.HandlerOut{Handler: stream.Consumer("audit", ...)}
//	}
type HandlerOut struct {
	fx.Out
	Handler stream.Handler `group:"millstream.handlers"`
}

// NamedBinder is a binder with the name that bindings and default-binder
// use, as binder modules provide it.
type NamedBinder struct {
	// Name is the binder's name, e.g. "kafka".
	Name string
	// Binder is the binder. The application owns it from then on and closes
	// it when it stops.
	Binder stream.Binder
	// Keys, when not nil, are the keys the binder reads under
	// binders.<name>; any other key there stops start-up.
	Keys []string
}

// BinderOut is the result struct of a binder module's constructor:
//
//	func newBinder(cfg stream.Config) (streamfx.BinderOut, error)
//
// A constructor that takes *Loaded instead reads the same settings in
// Loaded.Config and can pass its errors through Loaded.Annotate, so that
// they say where the bad value was set.
type BinderOut struct {
	fx.Out
	Binder NamedBinder `group:"millstream.binders"`
}

// bridgeNames and optionSet travel in private value groups.
type bridgeNames []string

type optionSet []stream.Option

// loaderOption adjusts the Loader that Module runs.
type loaderOption func(*Loader)

// BridgeBindings declares output bindings that only the Bridge sends to
// (see [stream.WithBridgeBindings]), so configuration may set their
// properties.
func BridgeBindings(names ...string) fx.Option {
	return fx.Supply(fx.Annotated{Group: "millstream.bridge", Target: bridgeNames(names)})
}

// Options passes options to [stream.New], such as stream.WithCodec.
func Options(opts ...stream.Option) fx.Option {
	return fx.Supply(fx.Annotated{Group: "millstream.options", Target: optionSet(opts)})
}

// ConfigFile sets the configuration file's path (default
// millstream.yaml); the MILLSTREAM_CONFIG variable overrides it.
func ConfigFile(path string) fx.Option {
	return fx.Supply(fx.Annotated{Group: "millstream.loader", Target: loaderOption(func(l *Loader) { l.File = path })})
}

// Environ replaces the process environment as the source of MILLSTREAM_*
// variables (and MILLSTREAM_CONFIG), for tests.
func Environ(environ []string) fx.Option {
	env := append([]string{}, environ...)
	return fx.Supply(fx.Annotated{Group: "millstream.loader", Target: loaderOption(func(l *Loader) { l.Environ = env })})
}
