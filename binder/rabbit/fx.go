package rabbit

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
)

// Name is the name the RabbitMQ binder is registered under by [Module].
const Name = "rabbit"

// Module registers the RabbitMQ binder, named "rabbit", with a streamfx
// application. It reads millstream.binders.rabbit (see [ParseConfig]) while
// the application is built, so a bad setting fails fx.New; it connects when
// the application starts (an OnStart hook that runs before the bindings
// start), so the application can be built without RabbitMQ, and an
// unreachable broker fails Start with an error naming the URL (password
// redacted).
//
//	fx.New(streamfx.Module, rabbit.Module, streamfx.Function("uppercase", uppercase))
var Module = fx.Module("millstream.binder.rabbit", fx.Provide(newModuleBinder))

type moduleParams struct {
	fx.In
	Config    stream.Config
	Lifecycle fx.Lifecycle
	Logger    *slog.Logger `optional:"true"`
}

func newModuleBinder(p moduleParams) (streamfx.BinderOut, error) {
	cfg, err := ParseConfig(p.Config.Binders[Name])
	if err != nil {
		return streamfx.BinderOut{}, err
	}
	cfg.Logger = p.Logger
	b, err := Open(cfg)
	if err != nil {
		return streamfx.BinderOut{}, err
	}
	p.Lifecycle.Append(fx.Hook{OnStart: b.Connect})
	return streamfx.BinderOut{Binder: streamfx.NamedBinder{Name: Name, Binder: b, Keys: Keys()}}, nil
}
