package stream

import (
	"errors"
	"fmt"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the configuration of an application: the millstream section of
// millstream.yaml. Each field's doc names its key (under "millstream.") and
// default. Keys can also be set one by one with [Config.Set], which is how
// sdk/streamfx applies MILLSTREAM_* environment variables.
type Config struct {
	// Application is the application name (key "application"), the default
	// CloudEvent source. Default "millstream".
	Application string
	// FunctionDefinition (key "function.definition") selects the
	// registered handlers to bind: "a;b" binds a and b, "parse|enrich" binds
	// their composition, named "parseenrich". Empty binds every registered
	// handler.
	FunctionDefinition string
	// DefaultBinder (key "default-binder") is the binder of bindings that name
	// none. Empty: the only binder there is; with several it must be set.
	DefaultBinder string
	// Binders (key "binders.<name>") holds each binder's own settings, raw,
	// for the binder to read (e.g. binders.kafka.brokers).
	Binders map[string]BinderConfig
	// Bindings (key "bindings.<binding>") holds the properties of each
	// binding by name, e.g. "uppercase-in-0". Unset properties take the
	// defaults documented on [BindingProperties].
	Bindings map[string]BindingProperties
	// ShutdownTimeout (key "shutdown-timeout") bounds how long stopping waits
	// for in-flight messages to finish. Default 30s.
	ShutdownTimeout time.Duration
	// DynamicDestinationCacheSize (key "dynamic-destination-cache-size") is
	// how many producers the [Bridge] keeps for destinations that are not
	// bindings; the least recently used is closed beyond it. Default 10.
	DynamicDestinationCacheSize int
}

// BinderConfig is the raw configuration of one binder: what millstream.yaml
// holds under binders.<name>. Values are what YAML decoding gives (string,
// int, bool, []any, map[string]any) or strings from the environment.
type BinderConfig map[string]any

// Defaults of [Config] and [BindingProperties].
const (
	DefaultApplication                 = "millstream"
	DefaultShutdownTimeout             = 30 * time.Second
	DefaultDynamicDestinationCacheSize = 10
	DefaultMaxAttempts                 = 3
	DefaultBackOffInitialInterval      = time.Second
	DefaultBackOffMultiplier           = 2.0
	DefaultBackOffMaxInterval          = 10 * time.Second
	DefaultPollerFixedDelay            = time.Second
)

// StartOffset says where a new subscription starts reading.
type StartOffset string

const (
	// Earliest reads everything the destination still holds.
	Earliest StartOffset = "earliest"
	// Latest reads what is sent from now on.
	Latest StartOffset = "latest"
)

// BindingProperties configure one binding. The key of each field is given in
// its doc (under "bindings.<binding>."), with the default used when it is
// left zero. The names are Spring Cloud Stream's.
type BindingProperties struct {
	// Destination (key "destination") is the topic, exchange or queue name.
	// Default: the binding name.
	Destination string
	// Group (key "group") is the consumer group: each group gets every
	// message once, shared among its members. Empty: an anonymous,
	// non-durable subscription that gets messages sent from now on.
	Group string
	// Binder (key "binder") names the binder. Default: Config.DefaultBinder.
	Binder string
	// ContentType (key "content-type") is the content type of the messages
	// sent, and of received ones that carry none. Default: text/plain for
	// string payloads, application/octet-stream for []byte, else
	// application/json.
	ContentType string
	// Concurrency (key "concurrency") is the number of group members this
	// binding runs: messages of different partitions are handled in
	// parallel. Default 1.
	Concurrency int

	// PartitionKey (key "partition-key") says where the partition key of a
	// sent message comes from when the handler did not set Message.Key:
	// "subject", "type", "source", "id", "header:<name>" or
	// "extension:<name>". Default: only Message.Key (the partitionkey
	// extension) or a key function given in code.
	PartitionKey string
	// PartitionCount (key "partition-count") is the number of partitions of
	// the destination, on output bindings. Default 1.
	PartitionCount int
	// Partitioned (key "partitioned") marks an input binding as reading only
	// the partitions of this instance: those p with p % InstanceCount ==
	// InstanceIndex. Default false.
	Partitioned bool
	// InstanceCount (key "instance-count") is the number of instances of the
	// application. Default 1.
	InstanceCount int
	// InstanceIndex (key "instance-index") is the index of this instance,
	// from 0. Default 0.
	InstanceIndex int

	// MaxAttempts (key "max-attempts") is how many times a message is
	// handled before it is given up on; 1 disables retries. Default 3.
	MaxAttempts int
	// BackOffInitialInterval (key "back-off-initial-interval") is the wait
	// before the first retry. Default 1s.
	BackOffInitialInterval time.Duration
	// BackOffMultiplier (key "back-off-multiplier") multiplies the wait after
	// each retry. Default 2.0.
	BackOffMultiplier float64
	// BackOffMaxInterval (key "back-off-max-interval") caps the wait.
	// Default 10s.
	BackOffMaxInterval time.Duration
	// DLQ (key "dlq") sends messages that failed every attempt, and
	// messages that cannot be decoded, to DLQDestination. Default false:
	// they are logged, counted and dropped.
	DLQ bool
	// DLQDestination (key "dlq-destination") is where dead letters go.
	// Default: what the binding's binder names it, if the binder is a
	// [DeadLetterNamer] (the Kafka binder: "error.<destination>.<group>");
	// otherwise "<destination>.<group>.dlq", or "<destination>.dlq" without
	// a group.
	DLQDestination string

	// AutoStartup (key "auto-startup") starts the binding with the
	// application. Default true; a binding that does not start with the
	// application is started through [App.SetState].
	AutoStartup *bool
	// Structured (key "structured") sends CloudEvents in structured mode
	// (the whole event as JSON). Default false: binary mode.
	Structured bool
	// StartOffset (key "start-offset") is where a new group starts: earliest
	// or latest. Default: earliest for a group, latest for an anonymous
	// subscription. Binders without retention ignore it.
	StartOffset StartOffset
	// PollerFixedDelay (key "poller-fixed-delay") is the wait between two
	// calls of a polled supplier. Default 1s.
	PollerFixedDelay time.Duration

	// BindingName is the name of the binding these properties belong to.
	// It is no configuration key: the App sets it on the properties it
	// hands to binders (as Spring Cloud Stream's bindingName), so that a
	// binder can report per binding (the Kafka binder's lag). Empty in
	// properties made elsewhere, and for a dead-letter destination.
	BindingName string
}

// PropertyKeys lists the keys of [BindingProperties], in the order of the
// struct.
func PropertyKeys() []string {
	return []string{
		"destination", "group", "binder", "content-type", "concurrency",
		"partition-key", "partition-count", "partitioned", "instance-count", "instance-index",
		"max-attempts", "back-off-initial-interval", "back-off-multiplier", "back-off-max-interval",
		"dlq", "dlq-destination", "auto-startup", "structured", "start-offset", "poller-fixed-delay",
	}
}

// Set sets the property of key (one of [PropertyKeys]) from its string form,
// as found in an environment variable. Durations are Go durations ("1s",
// "250ms"); booleans are strconv.ParseBool's.
func (p *BindingProperties) Set(key, value string) error {
	var err error
	switch key {
	case "destination":
		p.Destination = value
	case "group":
		p.Group = value
	case "binder":
		p.Binder = value
	case "content-type":
		p.ContentType = value
	case "concurrency":
		p.Concurrency, err = strconv.Atoi(value)
	case "partition-key":
		p.PartitionKey = value
	case "partition-count":
		p.PartitionCount, err = strconv.Atoi(value)
	case "partitioned":
		p.Partitioned, err = strconv.ParseBool(value)
	case "instance-count":
		p.InstanceCount, err = strconv.Atoi(value)
	case "instance-index":
		p.InstanceIndex, err = strconv.Atoi(value)
	case "max-attempts":
		p.MaxAttempts, err = strconv.Atoi(value)
	case "back-off-initial-interval":
		p.BackOffInitialInterval, err = time.ParseDuration(value)
	case "back-off-multiplier":
		p.BackOffMultiplier, err = strconv.ParseFloat(value, 64)
	case "back-off-max-interval":
		p.BackOffMaxInterval, err = time.ParseDuration(value)
	case "dlq":
		p.DLQ, err = strconv.ParseBool(value)
	case "dlq-destination":
		p.DLQDestination = value
	case "auto-startup":
		var b bool
		b, err = strconv.ParseBool(value)
		p.AutoStartup = &b
	case "structured":
		p.Structured, err = strconv.ParseBool(value)
	case "start-offset":
		p.StartOffset = StartOffset(value)
	case "poller-fixed-delay":
		p.PollerFixedDelay, err = time.ParseDuration(value)
	default:
		return fmt.Errorf("unknown binding property %q (known: %s)", key, strings.Join(PropertyKeys(), ", "))
	}
	if err != nil {
		return fmt.Errorf("binding property %s: %q: %w", key, value, err)
	}
	return nil
}

// Set sets one configuration key (without the "millstream." prefix) from
// its string form: "application", "function.definition", "default-binder",
// "shutdown-timeout", "dynamic-destination-cache-size",
// "bindings.<binding>.<property>" and "binders.<binder>.<key>" (stored as a
// string for the binder to read).
func (c *Config) Set(key, value string) error {
	var err error
	switch key {
	case "application":
		c.Application = value
	case "function.definition":
		c.FunctionDefinition = value
	case "default-binder":
		c.DefaultBinder = value
	case "shutdown-timeout":
		c.ShutdownTimeout, err = time.ParseDuration(value)
	case "dynamic-destination-cache-size":
		c.DynamicDestinationCacheSize, err = strconv.Atoi(value)
	default:
		switch {
		case strings.HasPrefix(key, "bindings."):
			rest := strings.TrimPrefix(key, "bindings.")
			i := strings.LastIndexByte(rest, '.')
			if i <= 0 {
				return fmt.Errorf("millstream.%s: want bindings.<binding>.<property>", key)
			}
			name, prop := rest[:i], rest[i+1:]
			if c.Bindings == nil {
				c.Bindings = make(map[string]BindingProperties)
			}
			p := c.Bindings[name]
			if err := p.Set(prop, value); err != nil {
				return fmt.Errorf("millstream.%s: %w", key, err)
			}
			c.Bindings[name] = p
			return nil
		case strings.HasPrefix(key, "binders."):
			rest := strings.TrimPrefix(key, "binders.")
			name, sub, ok := strings.Cut(rest, ".")
			if !ok || name == "" || sub == "" {
				return fmt.Errorf("millstream.%s: want binders.<binder>.<key>", key)
			}
			if c.Binders == nil {
				c.Binders = make(map[string]BinderConfig)
			}
			if c.Binders[name] == nil {
				c.Binders[name] = BinderConfig{}
			}
			c.Binders[name][sub] = value
			return nil
		}
		return fmt.Errorf("millstream.%s: unknown key (known: application, function.definition, default-binder, shutdown-timeout, dynamic-destination-cache-size, bindings.<binding>.<property>, binders.<binder>.<key>)", key)
	}
	if err != nil {
		return fmt.Errorf("millstream.%s: %q: %w", key, value, err)
	}
	return nil
}

// EnsureDefaults fills zero fields of c with their defaults. Binding
// properties keep their zero values: [BindingProperties.WithDefaults] is
// applied per binding, where the binding name is known.
func (c *Config) EnsureDefaults() {
	if c.Application == "" {
		c.Application = DefaultApplication
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.DynamicDestinationCacheSize == 0 {
		c.DynamicDestinationCacheSize = DefaultDynamicDestinationCacheSize
	}
}

// Validate checks c on its own: values in range and a well-formed function
// definition. Whether bindings name registered functions, and whether
// default-binder and bindings.<binding>.binder name registered binders, is
// checked by [App.Prepare], which knows them: Binders holds the settings of
// the binders that have any, not the list of binders (a binder registered
// with [WithBinder] needs no section). Every error names the key and says how to fix it; all problems are
// reported, joined.
func (c *Config) Validate() error {
	var errs []error
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("millstream.shutdown-timeout: %v is negative; use a duration such as 30s", c.ShutdownTimeout))
	}
	if c.DynamicDestinationCacheSize < 0 {
		errs = append(errs, fmt.Errorf("millstream.dynamic-destination-cache-size: %d is negative; use 1 or more", c.DynamicDestinationCacheSize))
	}
	if _, err := ParseDefinition(c.FunctionDefinition); err != nil {
		errs = append(errs, fmt.Errorf("millstream.function.definition: %w", err))
	}
	names := make([]string, 0, len(c.Bindings))
	for name := range c.Bindings {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := c.Bindings[name]
		if err := p.validate("millstream.bindings." + name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks the values of p; errors name the property key.
func (p BindingProperties) Validate() error { return p.validate("") }

func (p BindingProperties) validate(prefix string) error {
	key := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key(k), fmt.Sprintf(format, args...)))
	}
	if p.Concurrency < 0 {
		bad("concurrency", "%d is negative; use 1 or more", p.Concurrency)
	}
	if p.PartitionCount < 0 {
		bad("partition-count", "%d is negative; use 1 or more", p.PartitionCount)
	}
	if p.InstanceCount < 0 {
		bad("instance-count", "%d is negative; use 1 or more", p.InstanceCount)
	}
	count := max(p.InstanceCount, 1)
	if p.InstanceIndex < 0 || p.InstanceIndex >= count {
		bad("instance-index", "%d is out of range; use 0 to instance-count-1 (%d)", p.InstanceIndex, count-1)
	}
	if p.MaxAttempts < 0 {
		bad("max-attempts", "%d is negative; use 1 to disable retries, or more", p.MaxAttempts)
	}
	if p.BackOffInitialInterval < 0 {
		bad("back-off-initial-interval", "%v is negative; use a duration such as 1s", p.BackOffInitialInterval)
	}
	if p.BackOffMaxInterval < 0 {
		bad("back-off-max-interval", "%v is negative; use a duration such as 10s", p.BackOffMaxInterval)
	}
	if p.BackOffMultiplier != 0 && p.BackOffMultiplier < 1 {
		bad("back-off-multiplier", "%v is below 1; use 1 (constant back-off) or more", p.BackOffMultiplier)
	}
	if p.BackOffInitialInterval > 0 && p.BackOffMaxInterval > 0 && p.BackOffMaxInterval < p.BackOffInitialInterval {
		bad("back-off-max-interval", "%v is below back-off-initial-interval %v; raise it", p.BackOffMaxInterval, p.BackOffInitialInterval)
	}
	if p.PollerFixedDelay < 0 {
		bad("poller-fixed-delay", "%v is negative; use a duration such as 1s", p.PollerFixedDelay)
	}
	switch p.StartOffset {
	case "", Earliest, Latest:
	default:
		bad("start-offset", "%q is not earliest or latest", p.StartOffset)
	}
	if p.ContentType != "" {
		mt, _, err := mime.ParseMediaType(p.ContentType)
		if err == nil && !strings.Contains(mt, "/") {
			err = errors.New("no type/subtype")
		}
		if err != nil {
			bad("content-type", "%q is not a media type (%v); use e.g. application/json", p.ContentType, err)
		}
	}
	if pk := p.PartitionKey; pk != "" {
		switch {
		case pk == "subject", pk == "type", pk == "source", pk == "id":
		case strings.HasPrefix(pk, "header:") && len(pk) > len("header:"):
		case strings.HasPrefix(pk, "extension:") && len(pk) > len("extension:"):
		default:
			bad("partition-key", "%q is not subject, type, source, id, header:<name> or extension:<name>", pk)
		}
	}
	return errors.Join(errs...)
}

// WithDefaults returns p with zero fields set to their defaults, for the
// binding called name.
func (p BindingProperties) WithDefaults(name string) BindingProperties {
	if p.Destination == "" {
		p.Destination = name
	}
	if p.Concurrency == 0 {
		p.Concurrency = 1
	}
	if p.PartitionCount == 0 {
		p.PartitionCount = 1
	}
	if p.InstanceCount == 0 {
		p.InstanceCount = 1
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BackOffInitialInterval == 0 {
		p.BackOffInitialInterval = DefaultBackOffInitialInterval
	}
	if p.BackOffMultiplier == 0 {
		p.BackOffMultiplier = DefaultBackOffMultiplier
	}
	if p.BackOffMaxInterval == 0 {
		p.BackOffMaxInterval = max(DefaultBackOffMaxInterval, p.BackOffInitialInterval)
	}
	if p.AutoStartup == nil {
		t := true
		p.AutoStartup = &t
	}
	if p.PollerFixedDelay == 0 {
		p.PollerFixedDelay = DefaultPollerFixedDelay
	}
	if p.DLQDestination == "" {
		p.DLQDestination = DefaultDeadLetterDestination(p.Destination, p.Group)
	}
	return p
}
