package rabbit

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
)

// Name is the name the RabbitMQ binder is registered under by [Module].
const Name = "rabbit"

// Module registers the RabbitMQ binder, named "rabbit", with a streamfx
// application. It reads millstream.binders.rabbit (see [ParseConfig]) and
// connects while the application is built, so an unreachable broker stops
// start-up with an error naming it.
//
//	fx.New(streamfx.Module, rabbit.Module, streamfx.Function("uppercase", uppercase))
var Module = fx.Module("millstream.binder.rabbit", fx.Provide(newModuleBinder))

type moduleParams struct {
	fx.In
	Config stream.Config
	Logger *slog.Logger `optional:"true"`
}

func newModuleBinder(p moduleParams) (streamfx.BinderOut, error) {
	cfg, err := ParseConfig(p.Config.Binders[Name])
	if err != nil {
		return streamfx.BinderOut{}, err
	}
	cfg.Logger = p.Logger
	b, err := New(context.Background(), cfg)
	if err != nil {
		return streamfx.BinderOut{}, err
	}
	return streamfx.BinderOut{Binder: streamfx.NamedBinder{Name: Name, Binder: b, Keys: Keys()}}, nil
}
