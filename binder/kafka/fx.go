package kafka

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
)

// Name is the name the Kafka binder is registered under by [Module].
const Name = "kafka"

// Module registers the Kafka binder, named "kafka", with a streamfx
// application. It reads millstream.binders.kafka (see [ParseConfig]); with
// brokers: embedded the bundled broker starts while the application is
// built, so a port in use stops start-up.
//
//	fx.New(streamfx.Module, kafka.Module, streamfx.Function("uppercase", uppercase))
var Module = fx.Module("millstream.binder.kafka", fx.Provide(newModuleBinder))

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
