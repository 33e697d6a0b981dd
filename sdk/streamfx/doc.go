// Package streamfx runs a Millstream application with uber-go/fx: handlers
// become bindings by one line each, binders plug in as modules, the
// configuration is loaded from millstream.yaml and MILLSTREAM_* variables,
// and the bindings start and stop with the fx application.
//
// Everything here adapts sdk/stream, which works without fx; this package
// only wires it.
//
// # Usage
//
//	fx.New(
//		streamfx.Module,
//		memory.Module, // or kafka.Module, rabbit.Module
//		streamfx.Function("uppercase", uppercase),
//		streamfx.Actuator(":8080"), // optional: health, bindings, metrics
//		streamfx.Logger(logger),    // optional: one *slog.Logger for fx and the app
//	).Run()
//
// Handlers are registered through the value group [HandlersGroup]: with
// [Function], [Consumer], [Supplier], [ChannelSupplier] and [Handler], or
// from constructors with [AsHandler] or a [HandlerOut] result. Binder
// modules feed [BindersGroup] with a [NamedBinder] through a [BinderOut]
// result, reading their settings from the provided stream.Config. A handler
// that sends elsewhere takes *[Bridge].
//
// # Configuration
//
// [Loader] reads millstream.yaml (the path is set by [ConfigFile] or the
// MILLSTREAM_CONFIG variable), then MILLSTREAM_* variables, which override
// the file. Keys are Spring Cloud Stream's; [Reference] lists them all. An
// unknown key, a binding that names no function and an unknown binder stop
// start-up with a [ConfigError] that says where the key was set and how to
// fix it.
//
// # Lifecycle
//
// OnStart starts every binding whose auto-startup is true and fails
// start-up on error; OnStop stops them, waiting for in-flight messages up to
// the shutdown-timeout or the fx stop timeout, whichever ends first.
package streamfx
