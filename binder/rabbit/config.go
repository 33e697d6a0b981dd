package rabbit

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/millstream/millstream/sdk/stream"
)

// Defaults of [Config].
const (
	DefaultURL           = "amqp://guest:guest@localhost:5672/"
	DefaultPrefetch      = 1
	DefaultReconnectWait = 10 * time.Second
	DefaultCloseTimeout  = 10 * time.Second
	DefaultChannelPool   = 4
)

// Config is the binder's configuration: what millstream.yaml holds under
// millstream.binders.rabbit. [ParseConfig] reads it; each field's doc names
// its key and default. The zero value, after [Config.EnsureDefaults], works
// against a RabbitMQ on localhost.
type Config struct {
	// URL (key "url") of the broker, amqp:// or amqps://, with user,
	// password and virtual host. Default [DefaultURL].
	URL string
	// Prefetch (key "prefetch") is the basic.qos prefetch count of each
	// group member. A binding with concurrency N runs N members, so at most
	// N*Prefetch messages are unacknowledged at once. Default 1, which
	// keeps order within one member even across redeliveries.
	Prefetch int
	// Transient (key "transient") publishes non-persistent messages: faster,
	// but lost when the broker restarts. Default false (persistent).
	Transient bool
	// ReconnectWait (key "reconnect-wait") is how long Publish waits for a
	// lost connection to come back before it fails. Default 10s.
	ReconnectWait time.Duration
	// CloseTimeout (key "close-timeout") bounds the wait for in-flight
	// messages to be acked when a subscriber closes; past it they are
	// returned to the queue. Default 10s.
	CloseTimeout time.Duration
	// ChannelPool (key "channel-pool") is the number of AMQP channels each
	// publisher keeps for concurrent sends. Default 4.
	ChannelPool int
	// Logger receives connection events. Default: discard.
	Logger *slog.Logger
}

// Keys lists the keys [ParseConfig] reads.
func Keys() []string {
	return []string{"url", "prefetch", "transient", "reconnect-wait", "close-timeout", "channel-pool"}
}

// ParseConfig reads the binder's settings as sdk/streamfx hands them over
// (YAML values, or strings from MILLSTREAM_BINDERS_RABBIT_* variables),
// applies defaults and validates them. Every problem is reported, joined.
func ParseConfig(raw stream.BinderConfig) (Config, error) {
	var c Config
	var errs []error
	bad := func(key string, v any, want string) {
		errs = append(errs, fmt.Errorf("millstream.binders.rabbit.%s: %v is not valid; want %s", key, v, want))
	}
	for key, v := range raw {
		switch key {
		case "url":
			c.URL = fmt.Sprint(v)
		case "prefetch", "channel-pool":
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil || n < 1 || n > 65535 {
				bad(key, v, "a whole number from 1 to 65535")
				continue
			}
			if key == "prefetch" {
				c.Prefetch = n
			} else {
				c.ChannelPool = n
			}
		case "transient":
			b, err := strconv.ParseBool(fmt.Sprint(v))
			if err != nil {
				bad(key, v, "true or false")
			}
			c.Transient = b
		case "reconnect-wait", "close-timeout":
			d, err := time.ParseDuration(fmt.Sprint(v))
			if err != nil || d <= 0 {
				bad(key, v, "a positive duration, e.g. 500ms or 10s")
				continue
			}
			if key == "reconnect-wait" {
				c.ReconnectWait = d
			} else {
				c.CloseTimeout = d
			}
		default:
			errs = append(errs, fmt.Errorf("millstream.binders.rabbit.%s: unknown key; known keys: %s", key, strings.Join(Keys(), ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	c.EnsureDefaults()
	return c, c.Validate()
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Prefetch == 0 {
		c.Prefetch = DefaultPrefetch
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.ChannelPool == 0 {
		c.ChannelPool = DefaultChannelPool
	}
}

// Validate reports every setting that cannot work, naming its key.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		errs = append(errs, fmt.Errorf("millstream.binders.rabbit.url: %q is not an AMQP URL; write e.g. %s", redact(c.URL), DefaultURL))
	}
	if c.Prefetch < 0 || c.Prefetch > 65535 {
		errs = append(errs, fmt.Errorf("millstream.binders.rabbit.prefetch: %d is out of range; use 1 to 65535", c.Prefetch))
	}
	if c.ChannelPool < 0 {
		errs = append(errs, fmt.Errorf("millstream.binders.rabbit.channel-pool: %d is negative; use 1 or more", c.ChannelPool))
	}
	if c.ReconnectWait < 0 {
		errs = append(errs, fmt.Errorf("millstream.binders.rabbit.reconnect-wait: %v is negative; use e.g. 10s", c.ReconnectWait))
	}
	if c.CloseTimeout < 0 {
		errs = append(errs, fmt.Errorf("millstream.binders.rabbit.close-timeout: %v is negative; use e.g. 10s", c.CloseTimeout))
	}
	return errors.Join(errs...)
}

// redact hides the password of an AMQP URL in messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
