// Command uppercase is Millstream's first sample: the function uppercase
// reads text from the destination words and writes it, upper-cased, to
// upper-words.
//
// The same binary runs on every binder; only configuration changes:
//
//	uppercase                                   # Kafka on localhost:9092 (millstream.yaml)
//	MILLSTREAM_BINDERS_KAFKA_BROKERS=host:9092 uppercase
//	MILLSTREAM_BINDERS_KAFKA_BROKERS=embedded uppercase   # the bundled broker, in process
//	MILLSTREAM_DEFAULT_BINDER=memory uppercase            # in memory
//	MILLSTREAM_DEFAULT_BINDER=rabbit MILLSTREAM_BINDERS_RABBIT_URL=amqp://guest:guest@localhost:5672/ uppercase
//
// It reads millstream.yaml from the working directory (MILLSTREAM_CONFIG
// names another file).
package main

import (
	"log/slog"
	"os"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/streamfx"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// fx's own start-up events at debug level, so only the application's
	// messages and errors show.
	fxlog := &fxevent.SlogLogger{Logger: log}
	fxlog.UseLogLevel(slog.LevelDebug)
	fx.New(application(), fx.Supply(log), fx.WithLogger(func() fxevent.Logger { return fxlog })).Run()
}

// application is the fx application without its logger, for main and the
// tests.
func application(opts ...fx.Option) fx.Option {
	return fx.Options(
		streamfx.Module,
		binderModules(),
		streamfx.Function("uppercase", uppercase),
		fx.Options(opts...),
	)
}

// binderModules registers the memory and Kafka binders, which connect
// only when used, and the RabbitMQ binder when the configuration names it:
// rabbit.Module connects as the application is built, so registering it
// unused would need a RabbitMQ server anyway.
func binderModules() fx.Option {
	mods := []fx.Option{memory.Module, kafka.Module}
	loaded, err := streamfx.Loader{Functions: []string{"uppercase"}}.Load()
	if err != nil {
		// streamfx.Module loads the configuration again and reports the error.
		return fx.Options(mods...)
	}
	if _, ok := loaded.Config.Binders[rabbit.Name]; ok || loaded.Config.DefaultBinder == rabbit.Name {
		mods = append(mods, rabbit.Module)
	}
	return fx.Options(mods...)
}
