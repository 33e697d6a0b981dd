// Command hello is a Millstream application: the function hello reads
// events from hello-in and sends what it returns to hello-out, on the kafka binder.
//
// It reads millstream.yaml from the working directory (MILLSTREAM_CONFIG
// names another file); MILLSTREAM_* variables override the file, for
// instance MILLSTREAM_BINDERS_KAFKA_BROKERS=host:9092.
package main

import (
	"log/slog"
	"os"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/streamfx"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// fx's own start-up events at debug level: only the application's
	// messages and errors show.
	fxlog := &fxevent.SlogLogger{Logger: log}
	fxlog.UseLogLevel(slog.LevelDebug)
	fx.New(
		application(newHandler()),
		fx.Supply(log),
		fx.WithLogger(func() fxevent.Logger { return fxlog }),
	).Run()
}

// application is the fx application: the Millstream module, the
// kafka binder and one handler. Tests add options.
func application(h *handler, opts ...fx.Option) fx.Option {
	return fx.Options(
		streamfx.Module,
		kafka.Module,
		streamfx.Function("hello", h.Handle),
		fx.Options(opts...),
	)
}
