package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/millstream/millstream/broker/auth"
	"github.com/millstream/millstream/broker/metadata"
	"github.com/millstream/millstream/broker/storage"
)

// Config is everything a broker needs to start. Start from [DefaultConfig]:
// the zero value is not valid. The yaml names are the keys of the
// `millstream broker --config FILE` file and match the flag names.
type Config struct {
	// DataDir holds the partition logs and the metadata log. Default "./data".
	DataDir string `yaml:"data-dir"`
	// KafkaAddr is the host:port the Kafka protocol listener binds.
	// Default "127.0.0.1:9092"; port 0 picks a free port.
	KafkaAddr string `yaml:"kafka-addr"`
	// AdvertiseKafkaAddr is the host:port given to clients in Metadata
	// responses. Default "": the address the listener actually bound.
	AdvertiseKafkaAddr string `yaml:"advertise-kafka-addr"`
	// HTTPAddr, when set, serves GET /healthz there. Default "" (off).
	HTTPAddr string `yaml:"http-addr"`
	// MaxRequestSize is the largest request frame accepted, in bytes; a
	// larger size prefix closes the connection. Default 104857600 (100 MiB).
	MaxRequestSize int32 `yaml:"max-request-size"`
	// AutoCreateTopics creates a topic when Metadata asks for one that does
	// not exist. Default true.
	AutoCreateTopics bool `yaml:"auto-create-topics"`
	// DefaultPartitions is the partition count of auto-created topics and
	// of CreateTopics requests that ask for -1. Default 1.
	DefaultPartitions int32 `yaml:"default-partitions"`
	// MaxPartitionsPerTopic bounds the partition count a CreateTopics or
	// CreatePartitions request may ask for. Every partition is a directory
	// with open files, created with fsyncs; a typo of 100000 should be an
	// error, not a minute-long stall. Default 1000.
	MaxPartitionsPerTopic int32 `yaml:"max-partitions-per-topic"`
	// Fsync is the durability policy. Default always.
	Fsync FsyncPolicy `yaml:"fsync"`
	// PageCacheKeepBytes is how many bytes behind the fsynced end of each
	// partition's active segment stay in the operating system's page cache
	// after each fsync; older fsynced bytes are dropped from it
	// (storage.Options.PageCacheKeep). A larger window keeps more of the
	// recent log in memory for consumers that fall behind; a smaller one,
	// or the default, keeps the page cache from growing with every byte
	// written, which makes appends cheaper. -1 never drops: the kernel
	// decides, as it does for any file. Default 67108864 (64 MiB).
	PageCacheKeepBytes int64 `yaml:"page-cache-keep-bytes"`
	// RetentionCheckInterval is how often retention runs over every
	// partition. Default 1m.
	RetentionCheckInterval time.Duration `yaml:"retention-check-interval"`
	// ShutdownTimeout bounds how long Close waits for in-flight requests
	// before it drops connections. Default 10s.
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`
	// TopicDefaults apply to every topic that does not set the config
	// itself. Default: Kafka's (metadata.DefaultTopicDefaults).
	TopicDefaults metadata.TopicDefaults `yaml:"topic-defaults"`
	// GroupInitialRebalanceDelay is Kafka's
	// group.initial.rebalance.delay.ms: how long the first rebalance of an
	// empty consumer group waits for more members. Default 0 (no delay).
	GroupInitialRebalanceDelay time.Duration `yaml:"group-initial-rebalance-delay"`
	// SASLMechanisms, when not empty, turns SASL authentication on: every
	// connection must authenticate with one of these mechanisms (PLAIN,
	// SCRAM-SHA-256, SCRAM-SHA-512) before any request other than
	// ApiVersions, SaslHandshake and SaslAuthenticate. Default empty (off).
	SASLMechanisms []string `yaml:"sasl-mechanisms"`
	// SASLUsers are the users SASL accepts: name -> password and/or
	// pre-derived SCRAM credentials (see [auth.User]). Required when
	// SASLMechanisms is set. Default none.
	SASLUsers map[string]auth.User `yaml:"sasl-users"`
}

// DefaultConfig returns the configuration `millstream broker` runs with when
// given no flags.
func DefaultConfig() Config {
	return Config{
		DataDir:                "./data",
		KafkaAddr:              "127.0.0.1:9092",
		MaxRequestSize:         100 << 20,
		AutoCreateTopics:       true,
		DefaultPartitions:      1,
		MaxPartitionsPerTopic:  1000,
		Fsync:                  FsyncPolicy{Mode: FsyncAlways},
		PageCacheKeepBytes:     storage.DefaultPageCacheKeep,
		RetentionCheckInterval: time.Minute,
		ShutdownTimeout:        10 * time.Second,
		TopicDefaults:          metadata.DefaultTopicDefaults(),
	}
}

// Validate reports every setting that cannot work, each naming the setting
// and how to fix it.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir is empty: give a directory for the logs, e.g. ./data"))
	}
	if err := validateHostPort(c.KafkaAddr, true); err != nil {
		errs = append(errs, fmt.Errorf("kafka-addr %q: %w", c.KafkaAddr, err))
	}
	if c.AdvertiseKafkaAddr != "" {
		if err := validateHostPort(c.AdvertiseKafkaAddr, false); err != nil {
			errs = append(errs, fmt.Errorf("advertise-kafka-addr %q: %w", c.AdvertiseKafkaAddr, err))
		}
	}
	if c.HTTPAddr != "" {
		if err := validateHostPort(c.HTTPAddr, true); err != nil {
			errs = append(errs, fmt.Errorf("http-addr %q: %w", c.HTTPAddr, err))
		}
	}
	if c.MaxRequestSize < 1024 {
		errs = append(errs, fmt.Errorf("max-request-size %d: must be at least 1024 bytes", c.MaxRequestSize))
	}
	if c.MaxPartitionsPerTopic < 1 || c.MaxPartitionsPerTopic > metadata.MaxPartitions {
		errs = append(errs, fmt.Errorf("max-partitions-per-topic %d: must be 1 to %d", c.MaxPartitionsPerTopic, metadata.MaxPartitions))
	}
	if c.DefaultPartitions < 1 || c.DefaultPartitions > max(c.MaxPartitionsPerTopic, 1) {
		errs = append(errs, fmt.Errorf("default-partitions %d: must be 1 to max-partitions-per-topic (%d)", c.DefaultPartitions, c.MaxPartitionsPerTopic))
	}
	if err := c.Fsync.validate(); err != nil {
		errs = append(errs, fmt.Errorf("fsync: %w", err))
	}
	if c.PageCacheKeepBytes == 0 || c.PageCacheKeepBytes < -1 {
		errs = append(errs, fmt.Errorf("page-cache-keep-bytes %d: use a size in bytes (default %d), or -1 to leave the page cache to the kernel", c.PageCacheKeepBytes, storage.DefaultPageCacheKeep))
	}
	if c.RetentionCheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("retention-check-interval %s: must be positive, e.g. 1m", c.RetentionCheckInterval))
	}
	if c.GroupInitialRebalanceDelay < 0 {
		errs = append(errs, fmt.Errorf("group-initial-rebalance-delay %s: must not be negative; 0 means no delay", c.GroupInitialRebalanceDelay))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown-timeout %s: must be positive, e.g. 10s", c.ShutdownTimeout))
	}
	if err := c.TopicDefaults.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("topic default: %w", err))
	}
	if len(c.SASLMechanisms) > 0 || len(c.SASLUsers) > 0 {
		if err := auth.Validate(c.SASLMechanisms, c.SASLUsers); err != nil {
			errs = append(errs, fmt.Errorf("sasl (sasl-mechanisms, sasl-users): %w", err))
		}
	}
	return errors.Join(errs...)
}

func validateHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT: %w", err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (!listen && n == 0) {
		return fmt.Errorf("port %q is not a number from %d to 65535", port, map[bool]int{true: 0, false: 1}[listen])
	}
	if !listen && host == "" {
		return errors.New("clients need a host name or address to connect to")
	}
	return nil
}

// Fsync modes; see [FsyncPolicy].
const (
	FsyncAlways   = "always"
	FsyncInterval = "interval"
	FsyncNever    = "never"
)

// FsyncPolicy says when appended data reaches the disk.
//
//   - always (the default): a produce with acks=all (-1) is answered after
//     its batch is fsynced; concurrent produces share one fsync (group
//     commit). acks=1 is answered after the append, before the fsync.
//   - interval=D: every partition with unsynced data is fsynced every D;
//     acks=all is answered after the append. A crash loses at most about D
//     of acknowledged data.
//   - never: the broker fsyncs only on clean shutdown and segment roll;
//     the operating system decides the rest.
//
// Its text form is the flag value: "always", "interval=100ms", "never".
type FsyncPolicy struct {
	Mode     string
	Interval time.Duration // for Mode == FsyncInterval
}

// String returns the flag form of the policy.
func (p FsyncPolicy) String() string {
	if p.Mode == FsyncInterval {
		return FsyncInterval + "=" + p.Interval.String()
	}
	return p.Mode
}

// Set parses the flag form; it makes *FsyncPolicy a pflag.Value.
func (p *FsyncPolicy) Set(s string) error {
	q, err := ParseFsyncPolicy(s)
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// Type names the flag value type in help output.
func (p *FsyncPolicy) Type() string { return "policy" }

// UnmarshalText parses the text form (used by the YAML config file).
func (p *FsyncPolicy) UnmarshalText(b []byte) error { return p.Set(string(b)) }

// MarshalText returns the text form.
func (p FsyncPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// ParseFsyncPolicy parses "always", "never" or "interval=DURATION".
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch {
	case s == FsyncAlways || s == FsyncNever:
		return FsyncPolicy{Mode: s}, nil
	case strings.HasPrefix(s, FsyncInterval+"="):
		d, err := time.ParseDuration(strings.TrimPrefix(s, FsyncInterval+"="))
		if err != nil {
			return FsyncPolicy{}, fmt.Errorf("%q: %w", s, err)
		}
		p := FsyncPolicy{Mode: FsyncInterval, Interval: d}
		return p, p.validate()
	}
	return FsyncPolicy{}, fmt.Errorf("%q: want always, never or interval=DURATION (e.g. interval=100ms)", s)
}

func (p FsyncPolicy) validate() error {
	switch p.Mode {
	case FsyncAlways, FsyncNever:
		return nil
	case FsyncInterval:
		if p.Interval <= 0 {
			return fmt.Errorf("interval %s: must be positive, e.g. interval=100ms", p.Interval)
		}
		return nil
	}
	return fmt.Errorf("mode %q: want always, never or interval=DURATION", p.Mode)
}
