package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// App is a running set of bindings: the handlers registered with
// [App.Register], bound to destinations through binders as the [Config]
// says. Make one with [New]; it works with or without fx.
//
// All methods are safe for concurrent use.
type App struct {
	cfg     Config
	log     *slog.Logger
	wmLog   watermill.LoggerAdapter
	metrics Metrics
	// timed: metrics takes handler durations (it is not NopMetrics), so
	// handlers are timed; reading the clock twice per message is not free.
	timed  bool
	codecs *cloudevent.Codecs
	// source is the application name parsed as the default CloudEvent
	// source, once; sourceOK is false when it does not parse.
	source   types.URIRef
	sourceOK bool
	// sourceText is source as the ce_source header carries it.
	sourceText string
	// binders and bridgeBindings are set by options and never change.
	binders        map[string]Binder
	bridgeBindings []string
	middleware     []message.HandlerMiddleware

	// mu guards everything below.
	mu         sync.Mutex
	handlers   []Handler
	units      []*unit
	byName     map[string]*unit // binding name -> unit
	bridge     *Bridge
	prepared   bool
	prepareErr error
	started    bool
	stopped    bool
}

// Option configures an [App].
type Option func(*App)

// WithBinder registers a binder under name (the name bindings and
// default-binder use). The App owns it: [App.Stop] closes it.
func WithBinder(name string, b Binder) Option {
	return func(a *App) { a.binders[name] = b }
}

// WithLogger sets the logger. Default: a logger that discards.
func WithLogger(l *slog.Logger) Option {
	return func(a *App) { a.log = l }
}

// WithMetrics sets the metrics sink. Default: [NopMetrics].
func WithMetrics(m Metrics) Option {
	return func(a *App) { a.metrics = m }
}

// WithCodec adds a codec for its content type, replacing a default one.
func WithCodec(c cloudevent.Codec) Option {
	return func(a *App) { a.codecs.Register(c) }
}

// WithBridgeBindings declares output bindings used only through the
// [Bridge] (such as "orders-out-0"), so that configuration may set their
// properties without naming a function.
func WithBridgeBindings(names ...string) Option {
	return func(a *App) { a.bridgeBindings = append(a.bridgeBindings, names...) }
}

// WithMiddleware adds Watermill middleware to every input binding, such as
// middleware.NewThrottle(100, time.Second).Middleware to cap the rate. It
// runs once per message, after the pause gate and outside dead letters and
// retries (see the package doc for the whole order). On a binder whose
// subscriber calls the handler itself ([HandlerSubscriber], the Kafka
// binder) there is no router, so message.HandlerNameFromCtx and Watermill's
// other router context helpers return "" there. Middleware may replace a
// message's Payload but must not write into its bytes: a string input
// shares them.
func WithMiddleware(m ...message.HandlerMiddleware) Option {
	return func(a *App) { a.middleware = append(a.middleware, m...) }
}

// New makes an application from cfg (defaults are applied to a copy).
func New(cfg Config, opts ...Option) *App {
	cfg.EnsureDefaults()
	a := &App{
		cfg:     cfg,
		log:     slog.New(slog.DiscardHandler),
		metrics: NopMetrics{},
		codecs:  cloudevent.NewCodecs(),
		binders: make(map[string]Binder),
	}
	for _, o := range opts {
		o(a)
	}
	a.wmLog = wmLogger{l: a.log}
	_, nop := a.metrics.(NopMetrics)
	a.timed = !nop
	if u, err := url.Parse(cfg.Application); err == nil {
		a.source = types.URIRef{URL: *u}
		a.sourceText = a.source.String()
		a.sourceOK = strings.TrimSpace(a.sourceText) != ""
	}
	a.bridge = newBridge(a)
	return a
}

// Config returns the configuration, with defaults applied.
func (a *App) Config() Config { return a.cfg }

// Register adds handlers. Names must be unique; registering after Start is
// an error.
func (a *App) Register(hs ...Handler) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.prepared {
		return fmt.Errorf("stream: register %s: the application is already prepared or started", names(hs))
	}
	for _, h := range hs {
		if h == nil || h.stage() == nil {
			return errors.New("stream: register: nil handler")
		}
		if h.Name() == "" || strings.ContainsAny(h.Name(), ";|") {
			return fmt.Errorf("stream: register: handler name %q must be non-empty and free of ';' and '|'", h.Name())
		}
		for _, old := range a.handlers {
			if old.Name() == h.Name() {
				return fmt.Errorf("stream: register: a handler named %q is already registered", h.Name())
			}
		}
		a.handlers = append(a.handlers, h)
	}
	return nil
}

func names(hs []Handler) string {
	var out []string
	for _, h := range hs {
		if h != nil {
			out = append(out, h.Name())
		}
	}
	return strings.Join(out, ", ")
}

// Binder returns the binder registered under name.
func (a *App) Binder(name string) (Binder, bool) {
	b, ok := a.binders[name]
	return b, ok
}

// BinderNames lists the names of the registered binders, sorted.
func (a *App) BinderNames() []string { return a.binderNames() }

// Codecs returns the application's codecs.
func (a *App) Codecs() *cloudevent.Codecs { return a.codecs }

// Bridge returns the application's bridge, to send to any destination.
func (a *App) Bridge() *Bridge { return a.bridge }

// Prepare checks the configuration against the registered handlers and
// binders and resolves the bindings, without starting anything: afterwards
// [App.Bindings] lists them, stopped. Start calls it when it was not called.
// Calling it again returns the first result.
func (a *App) Prepare() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.prepareLocked()
}

func (a *App) prepareLocked() error {
	if a.prepared {
		return a.prepareErr
	}
	a.prepared = true
	a.prepareErr = func() error {
		if err := a.cfg.Validate(); err != nil {
			return fmt.Errorf("stream: invalid configuration: %w", err)
		}
		units, err := a.resolve()
		if err != nil {
			return fmt.Errorf("stream: invalid configuration: %w", err)
		}
		a.units = units
		a.byName = make(map[string]*unit)
		for _, u := range units {
			for _, n := range u.bindingNames() {
				a.byName[n] = u
			}
		}
		return nil
	}()
	return a.prepareErr
}

// Start prepares the application (see [App.Prepare]) and starts every
// binding whose auto-startup is true, suppliers last. On error nothing is left running.
// Start may be called once.
func (a *App) Start(ctx context.Context) error {
	units, err := a.begin()
	if err != nil {
		return err
	}
	// Inputs first, suppliers last: what a supplier sends at once finds
	// the application's own consumers subscribed.
	for _, suppliers := range []bool{false, true} {
		for _, u := range units {
			if !u.autoStartup() || (u.st.kind == kindSupplier) != suppliers {
				continue
			}
			if err := u.start(ctx); err != nil {
				a.Stop(ctx)
				return fmt.Errorf("stream: start binding %s: %w", u.name, err)
			}
		}
	}
	return nil
}

// begin prepares the application and marks it started.
func (a *App) begin() ([]*unit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return nil, errors.New("stream: start: already started")
	}
	if a.stopped {
		return nil, fmt.Errorf("stream: start: %w", ErrClosed)
	}
	if err := a.prepareLocked(); err != nil {
		return nil, err
	}
	a.started = true
	return a.units, nil
}

// Stop stops every binding, waiting for in-flight messages (up to
// shutdown-timeout, or until ctx is done), closes the bridge's producers and
// then the binders. Handlers may still use the Bridge while they drain. Stop
// is idempotent.
func (a *App) Stop(ctx context.Context) error {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return nil
	}
	a.stopped = true
	units := a.units
	a.mu.Unlock()

	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, u := range units {
		wg.Go(func() {
			if err := u.stop(ctx); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("stop binding %s: %w", u.name, err))
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := a.bridge.close(); err != nil {
		errs = append(errs, err)
	}
	for _, n := range a.binderNames() {
		if err := a.binders[n].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close binder %s: %w", n, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stream: stop: %w", err)
	}
	return nil
}

// resolve turns the function definition and the registered handlers into
// units, and checks that bindings and binders named in configuration exist.
func (a *App) resolve() ([]*unit, error) {
	defs, err := ParseDefinition(a.cfg.FunctionDefinition)
	if err != nil {
		return nil, fmt.Errorf("millstream.function.definition: %w", err)
	}
	byName := make(map[string]Handler, len(a.handlers))
	var registered []string
	for _, h := range a.handlers {
		byName[h.Name()] = h
		registered = append(registered, h.Name())
	}
	if defs == nil {
		for _, h := range a.handlers {
			defs = append(defs, []string{h.Name()})
		}
	}
	var errs []error
	// Several bindings may fail for one cause (an unknown default binder):
	// report each message once.
	reported := map[string]bool{}
	report := func(err error) {
		if err != nil && !reported[err.Error()] {
			reported[err.Error()] = true
			errs = append(errs, err)
		}
	}
	if d := a.cfg.DefaultBinder; d != "" {
		if _, ok := a.binders[d]; !ok {
			report(fmt.Errorf("millstream.default-binder: unknown binder %q; registered binders: %s", d, strings.Join(a.binderNames(), ", ")))
		}
	}
	var units []*unit
	// unresolved holds the bindings of functions whose binder could not be
	// resolved: they exist, the binder error is the one to report.
	var unresolved []string
	seen := map[string]bool{}
	for _, def := range defs {
		var stages []*stage
		for _, n := range def {
			h, ok := byName[n]
			if !ok {
				report(fmt.Errorf("millstream.function.definition: unknown function %q; registered functions: %s", n, strings.Join(registered, ", ")))
				continue
			}
			stages = append(stages, h.stage())
		}
		if len(stages) != len(def) {
			continue
		}
		st, err := compose(stages, a.codecs)
		if err != nil {
			report(fmt.Errorf("millstream.function.definition: %w", err))
			continue
		}
		if seen[st.name] {
			report(fmt.Errorf("millstream.function.definition: %q is bound twice", st.name))
			continue
		}
		seen[st.name] = true
		u, err := a.newUnit(st)
		if err != nil {
			unresolved = append(unresolved, u.bindingNames()...)
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					report(e)
				}
			} else {
				report(err)
			}
			continue
		}
		units = append(units, u)
	}
	bound := map[string]bool{}
	var boundNames []string
	for _, u := range units {
		for _, n := range u.bindingNames() {
			bound[n] = true
			boundNames = append(boundNames, n)
		}
	}
	for _, n := range a.bridgeBindings {
		bound[n] = true
	}
	for _, n := range unresolved {
		bound[n] = true
	}
	var keys []string
	for k := range a.cfg.Bindings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !bound[k] {
			report(fmt.Errorf("millstream.bindings.%s: names no bound function; bound bindings: %s (fix the name, add the function to function.definition, or declare a bridge binding)", k, strings.Join(boundNames, ", ")))
		}
		if b := a.cfg.Bindings[k].Binder; b != "" {
			if _, ok := a.binders[b]; !ok {
				report(fmt.Errorf("millstream.bindings.%s.binder: unknown binder %q; registered binders: %s", k, b, strings.Join(a.binderNames(), ", ")))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return units, nil
}

func (a *App) binderNames() []string {
	out := make([]string, 0, len(a.binders))
	for n := range a.binders {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// binderFor picks the binder of a binding, by its properties or the default.
func (a *App) binderFor(binding string, p BindingProperties) (Binder, string, error) {
	name := p.Binder
	key := "millstream.bindings." + binding + ".binder"
	if name == "" {
		name = a.cfg.DefaultBinder
		key = "millstream.default-binder"
	}
	if name == "" {
		switch len(a.binders) {
		case 0:
			return nil, "", fmt.Errorf("binding %s: no binder registered; add one with stream.WithBinder", binding)
		case 1:
			for n, b := range a.binders {
				return b, n, nil
			}
		default:
			return nil, "", fmt.Errorf("millstream.default-binder: several binders are registered (%s); set default-binder or bindings.%s.binder", strings.Join(a.binderNames(), ", "), binding)
		}
	}
	b, ok := a.binders[name]
	if !ok {
		return nil, "", fmt.Errorf("%s: unknown binder %q; registered binders: %s", key, name, strings.Join(a.binderNames(), ", "))
	}
	return b, name, nil
}

// Properties returns the properties a binding runs with: its configuration
// with defaults applied, BindingName set, and, with dlq on and no
// dlq-destination configured, the dead-letter destination its binder names
// (see [DeadLetterNamer]).
func (a *App) Properties(binding string) BindingProperties { return a.properties(binding) }

// properties returns the properties of a binding with defaults applied and
// BindingName set. With dlq on and no dlq-destination configured, the
// binding's binder may name the dead-letter destination (DeadLetterNamer).
func (a *App) properties(binding string) BindingProperties {
	raw := a.cfg.Bindings[binding]
	p := raw.WithDefaults(binding)
	p.BindingName = binding
	if p.DLQ && raw.DLQDestination == "" {
		if b, _, err := a.binderFor(binding, p); err == nil {
			p.DLQDestination = deadLetterDestination(b, p)
		}
	}
	return p
}

// Health reports the health of every binder that can tell (see
// [HealthChecker]), by binder name; nil means healthy.
func (a *App) Health(ctx context.Context) map[string]error {
	out := make(map[string]error, len(a.binders))
	for n, b := range a.binders {
		out[n] = binderHealth(ctx, b)
	}
	return out
}

// BinderHealth is what a binder says about its health.
type BinderHealth struct {
	// Err is nil when the binder is healthy, or cannot tell.
	Err error
	// Details come from the binder's [HealthDetailer]; nil without one.
	Details map[string]any
}

// BinderHealth reports every binder's health with its details (see
// [HealthChecker] and [HealthDetailer]), by binder name.
func (a *App) BinderHealth(ctx context.Context) map[string]BinderHealth {
	out := make(map[string]BinderHealth, len(a.binders))
	for n, b := range a.binders {
		h := BinderHealth{Err: binderHealth(ctx, b)}
		if d, ok := b.(HealthDetailer); ok {
			h.Details = d.HealthDetails(ctx)
		}
		out[n] = h
	}
	return out
}

func binderHealth(ctx context.Context, b Binder) error {
	if h, ok := b.(HealthChecker); ok {
		return h.Health(ctx)
	}
	return nil
}
