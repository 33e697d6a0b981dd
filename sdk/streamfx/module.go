package streamfx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
)

// Module is the fx module of a Millstream application. It loads the
// configuration (millstream.yaml and MILLSTREAM_* variables, see [Loader]),
// makes the [stream.App] from the handlers and binders registered in the
// value groups, and ties the application to the fx lifecycle: OnStart
// starts the bindings and fails start-up on error, OnStop stops them,
// letting in-flight messages finish.
//
// It provides *stream.App, stream.Config (with defaults, for binder modules
// to read their settings), *Loaded and *Bridge. It reads, optionally, a
// *slog.Logger and a stream.Metrics.
var Module = fx.Module("millstream",
	fx.Provide(loadConfig, configOf, newBridge, newApp),
	fx.Invoke(func(*stream.App) {}),
)

type loadParams struct {
	fx.In
	Handlers []stream.Handler `group:"millstream.handlers"`
	Bridges  []bridgeNames    `group:"millstream.bridge"`
	Options  []loaderOption   `group:"millstream.loader"`
}

func loadConfig(p loadParams) (*Loaded, error) {
	var l Loader
	for _, o := range p.Options {
		o(&l)
	}
	for _, h := range p.Handlers {
		if h != nil {
			l.Functions = append(l.Functions, h.Name())
		}
	}
	for _, b := range p.Bridges {
		l.Bindings = append(l.Bindings, b...)
	}
	return l.Load()
}

func configOf(l *Loaded) stream.Config {
	c := l.Config
	c.EnsureDefaults()
	return c
}

// Bridge sends to any destination through the application's
// [stream.Bridge]. Handler constructors cannot take *stream.App (the App
// depends on its handlers), so they take *Bridge, which works once the
// application is made.
type Bridge struct {
	app atomic.Pointer[stream.App]
}

func newBridge() *Bridge { return &Bridge{} }

// Send is [stream.Bridge.Send].
func (b *Bridge) Send(ctx context.Context, destination string, v any) error {
	app := b.app.Load()
	if app == nil {
		return fmt.Errorf("streamfx: bridge: send to %s: %w", destination, stream.ErrNotStarted)
	}
	return app.Bridge().Send(ctx, destination, v)
}

type appParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Loaded    *Loaded
	Bridge    *Bridge
	Handlers  []stream.Handler `group:"millstream.handlers"`
	Binders   []NamedBinder    `group:"millstream.binders"`
	Bridges   []bridgeNames    `group:"millstream.bridge"`
	Options   []optionSet      `group:"millstream.options"`
	Logger    *slog.Logger     `optional:"true"`
	Metrics   stream.Metrics   `optional:"true"`
}

func newApp(p appParams) (app *stream.App, err error) {
	defer func() {
		if err != nil {
			for _, b := range p.Binders {
				if b.Binder != nil {
					b.Binder.Close()
				}
			}
		}
	}()
	if err := checkBinders(p.Loaded, p.Binders); err != nil {
		return nil, err
	}
	opts := make([]stream.Option, 0, len(p.Binders)+4)
	for _, b := range p.Binders {
		opts = append(opts, stream.WithBinder(b.Name, b.Binder))
	}
	if p.Logger != nil {
		opts = append(opts, stream.WithLogger(p.Logger))
	}
	if p.Metrics != nil {
		opts = append(opts, stream.WithMetrics(p.Metrics))
	}
	for _, b := range p.Bridges {
		opts = append(opts, stream.WithBridgeBindings(b...))
	}
	for _, o := range p.Options {
		opts = append(opts, o...)
	}
	app = stream.New(p.Loaded.Config, opts...)
	if err := app.Register(p.Handlers...); err != nil {
		return nil, err
	}
	if err := app.Prepare(); err != nil {
		return nil, fmt.Errorf("streamfx: %w", p.Loaded.Annotate(err))
	}
	p.Bridge.app.Store(app)
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error { return p.Loaded.Annotate(app.Start(ctx)) },
		OnStop:  func(ctx context.Context) error { return app.Stop(ctx) },
	})
	return app, nil
}

// checkBinders checks the configuration against the registered binders:
// every binder it names exists, and binders.<name> holds only keys the
// binder reads.
func checkBinders(l *Loaded, binders []NamedBinder) error {
	byName := map[string]NamedBinder{}
	var names []string
	var errs []error
	for _, b := range binders {
		if b.Name == "" || b.Binder == nil {
			errs = append(errs, fmt.Errorf("streamfx: a binder module provided a binder without a name or value (%q)", b.Name))
			continue
		}
		if _, dup := byName[b.Name]; dup {
			errs = append(errs, fmt.Errorf("streamfx: two binders are named %q; include each binder module once", b.Name))
			continue
		}
		byName[b.Name] = b
		names = append(names, b.Name)
	}
	slices.Sort(names)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	registered := "registered binders: " + strings.Join(names, ", ")
	if len(names) == 0 {
		registered = "no binder is registered"
	}
	unknown := func(key, name string) {
		hint := ""
		if c := closest(name, names); c != "" {
			hint = "did you mean " + c + "? "
		}
		errs = append(errs, &ConfigError{Source: sourceOf(key, l.Sources), Key: key,
			Err: fmt.Errorf("unknown binder %q; %sadd its module (such as kafka.Module) to the fx app, or fix the name; %s", name, hint, registered)})
	}
	c := l.Config
	var configured []string
	for n := range c.Binders {
		configured = append(configured, n)
	}
	slices.Sort(configured)
	for _, n := range configured {
		key := "millstream.binders." + n
		b, ok := byName[n]
		if !ok {
			unknown(key, n)
			continue
		}
		if b.Keys == nil {
			continue
		}
		var keys []string
		for k := range c.Binders[n] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(b.Keys, k) {
				errs = append(errs, &ConfigError{Source: sourceOf(key+"."+k, l.Sources), Key: key + "." + k,
					Err: fmt.Errorf("unknown key of binder %s; %s", n, didYouMean(k, b.Keys, "keys"))})
			}
		}
	}
	if c.DefaultBinder != "" {
		if _, ok := byName[c.DefaultBinder]; !ok {
			unknown("millstream.default-binder", c.DefaultBinder)
		}
	}
	var bindings []string
	for n := range c.Bindings {
		bindings = append(bindings, n)
	}
	slices.Sort(bindings)
	for _, n := range bindings {
		if b := c.Bindings[n].Binder; b != "" {
			if _, ok := byName[b]; !ok {
				unknown("millstream.bindings."+n+".binder", b)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("streamfx: invalid configuration:\n%w", errors.Join(errs...))
	}
	return nil
}
