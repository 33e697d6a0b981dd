package kafka

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/millstream/millstream/sdk/stream"
)

// Config is the binder's configuration: what millstream.yaml holds under
// millstream.binders.kafka. [ParseConfig] reads it; each field's doc names
// its key and default.
type Config struct {
	// Brokers (key "brokers"), the seed brokers; "embedded" starts the
	// bundled broker in process. Default [localhost:9092]. ClientID (key
	// "client-id", default "millstream"), TLS (keys "tls-*") and SASL
	// (keys "sasl-*") are the [Connection]'s.
	Connection
	// Embedded (keys "embedded-data-dir", "embedded-addr") configures the
	// bundled broker of brokers: embedded.
	Embedded EmbeddedConfig
	// ReplicationFactor (key "replication-factor") of created topics.
	// Default: the broker's.
	ReplicationFactor int16
	// TopicConfigs (key "topic-configs", a map) are the configs of created
	// topics, e.g. retention.ms. Default none.
	TopicConfigs map[string]string
	// AutoCreateTopics (key "auto-create-topics") creates missing topics.
	// Default true.
	AutoCreateTopics bool
	// FewerPartitions (key "fewer-partitions"): what to do when a topic an
	// output binding sends to has fewer partitions than its
	// partition-count: "error" (default), "warn" or "add".
	FewerPartitions string
	// CloseTimeout (key "close-timeout") bounds the wait for in-flight
	// messages on close. Default 10s.
	CloseTimeout time.Duration
	// RevokeTimeout (key "revoke-timeout") bounds the wait for in-flight
	// messages when a rebalance takes partitions away. Default 1s.
	RevokeTimeout time.Duration
	// CommitInterval (key "commit-interval") is how often acked offsets are
	// committed. Default 1s.
	CommitInterval time.Duration
	// FetchMaxWait (key "fetch-max-wait") is how long the broker may hold
	// a fetch that finds no new records; it also bounds how long a
	// consumer waits for a partition whose buffer is full before it
	// pauses fetching it (SubscriberConfig.FetchMaxWait). Default 100ms
	// (Kafka's fetch.max.wait.ms is 500ms; see SubscriberConfig).
	FetchMaxWait time.Duration
	// NackResendDelay (key "nack-resend-delay") is the wait before a
	// nacked message is delivered again. The SDK retries with its own
	// back-off before it nacks. Default 100ms.
	NackResendDelay time.Duration
}

// DefaultBrokers is the default of [Config.Brokers].
var defaultBrokers = []string{"localhost:9092"}

// Keys lists the keys [ParseConfig] reads.
func Keys() []string {
	return []string{
		"brokers", "client-id",
		"tls-enabled", "tls-ca-file", "tls-cert-file", "tls-key-file", "tls-server-name", "tls-insecure-skip-verify",
		"sasl-mechanism", "sasl-username", "sasl-password",
		"embedded-data-dir", "embedded-addr",
		"replication-factor", "topic-configs", "auto-create-topics", "fewer-partitions",
		"close-timeout", "revoke-timeout", "commit-interval", "nack-resend-delay", "fetch-max-wait",
	}
}

// ParseConfig reads the binder's settings as sdk/streamfx hands them over
// (YAML values, or strings from MILLSTREAM_BINDERS_KAFKA_* variables).
func ParseConfig(raw stream.BinderConfig) (Config, error) {
	c := Config{AutoCreateTopics: true}
	var errs []error
	bad := func(key string, v any, want string) {
		errs = append(errs, fmt.Errorf("millstream.binders.kafka.%s: %v is not valid; want %s", key, v, want))
	}
	var tlsOn bool
	var tlsCfg TLSConfig
	var sasl SASLConfig
	for key, v := range raw {
		switch key {
		case "brokers":
			list, ok := stringList(v)
			if !ok || len(list) == 0 {
				bad(key, v, "a list of host:port, or embedded")
			}
			c.Brokers = list
		case "client-id":
			c.ClientID = fmt.Sprint(v)
		case "tls-enabled", "tls-insecure-skip-verify", "auto-create-topics":
			b, ok := boolValue(v)
			if !ok {
				bad(key, v, "true or false")
			}
			switch key {
			case "tls-enabled":
				tlsOn = tlsOn || b
			case "tls-insecure-skip-verify":
				tlsCfg.InsecureSkipVerify = b
				tlsOn = tlsOn || b
			default:
				c.AutoCreateTopics = b
			}
		case "tls-ca-file", "tls-cert-file", "tls-key-file", "tls-server-name":
			s := fmt.Sprint(v)
			tlsOn = true
			switch key {
			case "tls-ca-file":
				tlsCfg.CAFile = s
			case "tls-cert-file":
				tlsCfg.CertFile = s
			case "tls-key-file":
				tlsCfg.KeyFile = s
			default:
				tlsCfg.ServerName = s
			}
		case "sasl-mechanism":
			sasl.Mechanism = strings.ToUpper(fmt.Sprint(v))
		case "sasl-username":
			sasl.Username = fmt.Sprint(v)
		case "sasl-password":
			sasl.Password = fmt.Sprint(v)
		case "embedded-data-dir":
			c.Embedded.DataDir = fmt.Sprint(v)
		case "embedded-addr":
			c.Embedded.Addr = fmt.Sprint(v)
		case "replication-factor":
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil || n < 1 || n > 32767 {
				bad(key, v, "a whole number from 1, e.g. 3")
			}
			c.ReplicationFactor = int16(n)
		case "topic-configs":
			m, ok := stringMap(v)
			if !ok {
				bad(key, v, "a map of topic configs, e.g. {retention.ms: 86400000}")
			}
			c.TopicConfigs = m
		case "fewer-partitions":
			c.FewerPartitions = fmt.Sprint(v)
		case "close-timeout", "revoke-timeout", "commit-interval", "nack-resend-delay", "fetch-max-wait":
			d, err := time.ParseDuration(fmt.Sprint(v))
			if err != nil || d < 0 {
				bad(key, v, "a duration, e.g. 500ms or 10s")
			}
			switch key {
			case "close-timeout":
				c.CloseTimeout = d
			case "revoke-timeout":
				c.RevokeTimeout = d
			case "commit-interval":
				c.CommitInterval = d
			case "fetch-max-wait":
				c.FetchMaxWait = d
			default:
				c.NackResendDelay = d
			}
		default:
			errs = append(errs, fmt.Errorf("millstream.binders.kafka.%s: unknown key; known keys: %s", key, strings.Join(Keys(), ", ")))
		}
	}
	if tlsOn {
		c.TLS = &tlsCfg
	}
	if sasl != (SASLConfig{}) {
		c.SASL = &sasl
	}
	if len(c.Brokers) == 0 {
		c.Brokers = slices.Clone(defaultBrokers)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// IsEmbedded reports whether the configuration asks for the bundled broker.
func (c *Config) IsEmbedded() bool {
	return len(c.Brokers) == 1 && c.Brokers[0] == Embedded
}

// Validate reports every setting that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if slices.Contains(c.Brokers, Embedded) && !c.IsEmbedded() {
		errs = append(errs, errors.New("brokers: embedded stands alone: write brokers: embedded, or list host:port addresses"))
	}
	if err := c.Connection.Validate(); err != nil {
		errs = append(errs, err)
	}
	p := ProvisionConfig{FewerPartitions: c.FewerPartitions}
	if err := p.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := checkFetchMaxWait(c.FetchMaxWait); err != nil {
		errs = append(errs, err)
	}
	if c.ReplicationFactor < 0 {
		errs = append(errs, fmt.Errorf("replication-factor %d: must be positive", c.ReplicationFactor))
	}
	return errors.Join(errs...)
}

func stringList(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, true
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, strings.TrimSpace(s))
		}
		return out, true
	case []string:
		return v, true
	}
	return nil, false
}

func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

// stringMap reads a YAML mapping (whatever map type the decoder made).
func stringMap(v any) (map[string]string, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map {
		return nil, false
	}
	out := make(map[string]string, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		out[fmt.Sprint(it.Key().Interface())] = fmt.Sprint(it.Value().Interface())
	}
	return out, true
}
