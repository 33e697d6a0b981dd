package streamfx

import (
	"log/slog"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
)

// Logger provides l to the application (the stream.App, the actuator, and
// binder modules that take a *slog.Logger) and makes fx log its own events
// through it, so that one logger serves the whole process.
func Logger(l *slog.Logger) fx.Option {
	return fx.Options(
		fx.Supply(l),
		fx.WithLogger(func() fxevent.Logger { return &fxevent.SlogLogger{Logger: l} }),
	)
}
