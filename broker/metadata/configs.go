package metadata

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Topic config keys the broker honours. They carry Kafka's names so that
// kafka-topics, kadm and other tools set them unchanged.
const (
	RetentionMs          = "retention.ms"
	RetentionBytes       = "retention.bytes"
	SegmentBytes         = "segment.bytes"
	SegmentMs            = "segment.ms"
	MaxMessageBytes      = "max.message.bytes"
	MessageTimestampType = "message.timestamp.type"
	CleanupPolicy        = "cleanup.policy"
)

// Values of [MessageTimestampType] and [CleanupPolicy].
const (
	CreateTime     = "CreateTime"
	LogAppendTime  = "LogAppendTime"
	CleanupDelete  = "delete"
	CleanupCompact = "compact"
)

// A ConfigError says why a topic config was refused. Key names the config.
type ConfigError struct {
	Key    string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %q: %s", e.Key, e.Reason)
}

// TopicDefaults are the broker-wide values a topic uses for every config it
// does not set itself. The zero value is not useful; start from
// [DefaultTopicDefaults]. The yaml names are the Kafka topic config names.
type TopicDefaults struct {
	// RetentionMs deletes closed segments whose newest record is older than
	// this. -1 keeps them forever. Default 604800000 (7 days).
	RetentionMs int64 `yaml:"retention.ms"`
	// RetentionBytes deletes the oldest closed segments while a partition is
	// larger than this. -1 (the default) means no size limit.
	RetentionBytes int64 `yaml:"retention.bytes"`
	// SegmentBytes rolls a new segment when the active one would grow past
	// this. Default 1073741824 (1 GiB); at least 1024.
	SegmentBytes int64 `yaml:"segment.bytes"`
	// SegmentMs rolls a new segment when the active one's first batch is
	// older than this. Default 604800000 (7 days).
	SegmentMs int64 `yaml:"segment.ms"`
	// MaxMessageBytes is the largest record batch a produce may carry.
	// Default 1048588 (Kafka's).
	MaxMessageBytes int64 `yaml:"max.message.bytes"`
	// MessageTimestampType is CreateTime (the default: keep the producer's
	// timestamps) or LogAppendTime (the broker stamps each batch).
	MessageTimestampType string `yaml:"message.timestamp.type"`
	// CleanupPolicy is "delete", the only policy implemented so far.
	CleanupPolicy string `yaml:"cleanup.policy"`
}

// DefaultTopicDefaults returns the defaults Kafka ships with.
func DefaultTopicDefaults() TopicDefaults {
	return TopicDefaults{
		RetentionMs:          7 * 24 * int64(time.Hour/time.Millisecond),
		RetentionBytes:       -1,
		SegmentBytes:         1 << 30,
		SegmentMs:            7 * 24 * int64(time.Hour/time.Millisecond),
		MaxMessageBytes:      1048588,
		MessageTimestampType: CreateTime,
		CleanupPolicy:        CleanupDelete,
	}
}

// Map returns the defaults keyed by topic config name, as strings.
func (d TopicDefaults) Map() map[string]string {
	return map[string]string{
		RetentionMs:          strconv.FormatInt(d.RetentionMs, 10),
		RetentionBytes:       strconv.FormatInt(d.RetentionBytes, 10),
		SegmentBytes:         strconv.FormatInt(d.SegmentBytes, 10),
		SegmentMs:            strconv.FormatInt(d.SegmentMs, 10),
		MaxMessageBytes:      strconv.FormatInt(d.MaxMessageBytes, 10),
		MessageTimestampType: d.MessageTimestampType,
		CleanupPolicy:        d.CleanupPolicy,
	}
}

// Validate reports the first default that is out of range, naming its key.
func (d TopicDefaults) Validate() error {
	m := d.Map()
	for _, k := range ConfigNames() {
		if err := ValidateConfig(k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// TopicSettings are a topic's effective configs, parsed.
type TopicSettings struct {
	RetentionMs          int64
	RetentionBytes       int64
	SegmentBytes         int64
	SegmentMs            int64
	MaxMessageBytes      int64
	LogAppendTime        bool // message.timestamp.type=LogAppendTime
	CleanupPolicy        string
	MessageTimestampType string
}

// Settings resolves a topic's configs over the broker defaults. Configs are
// assumed valid (they were checked by [ValidateConfig] before being stored);
// a value that does not parse falls back to the default.
func (d TopicDefaults) Settings(configs map[string]string) TopicSettings {
	s := TopicSettings{
		RetentionMs:          d.RetentionMs,
		RetentionBytes:       d.RetentionBytes,
		SegmentBytes:         d.SegmentBytes,
		SegmentMs:            d.SegmentMs,
		MaxMessageBytes:      d.MaxMessageBytes,
		MessageTimestampType: d.MessageTimestampType,
		CleanupPolicy:        d.CleanupPolicy,
	}
	num := func(k string, dst *int64) {
		if v, ok := configs[k]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				*dst = n
			}
		}
	}
	num(RetentionMs, &s.RetentionMs)
	num(RetentionBytes, &s.RetentionBytes)
	num(SegmentBytes, &s.SegmentBytes)
	num(SegmentMs, &s.SegmentMs)
	num(MaxMessageBytes, &s.MaxMessageBytes)
	if v, ok := configs[MessageTimestampType]; ok {
		s.MessageTimestampType = v
	}
	if v, ok := configs[CleanupPolicy]; ok {
		s.CleanupPolicy = v
	}
	s.LogAppendTime = s.MessageTimestampType == LogAppendTime
	return s
}

// configSpec describes one honoured config.
type configSpec struct {
	min, max int64    // for numbers
	enum     []string // for strings; nil for numbers
	doc      string
}

// configSpecs is a constant lookup table.
var configSpecs = map[string]configSpec{
	RetentionMs:          {min: -1, max: 1<<63 - 1, doc: "how long to keep closed segments, in ms; -1 forever"},
	RetentionBytes:       {min: -1, max: 1<<63 - 1, doc: "largest size of a partition before old segments are deleted; -1 unlimited"},
	SegmentBytes:         {min: 1024, max: 1<<31 - 1, doc: "size at which a segment is rolled"},
	SegmentMs:            {min: 1, max: 1<<63 - 1, doc: "age at which a segment is rolled, in ms"},
	MaxMessageBytes:      {min: 1, max: 1<<31 - 1, doc: "largest record batch a produce may carry"},
	MessageTimestampType: {enum: []string{CreateTime, LogAppendTime}, doc: "CreateTime or LogAppendTime"},
	CleanupPolicy:        {enum: []string{CleanupDelete}, doc: "delete (compact is not implemented yet)"},
}

// ConfigNames returns the honoured topic config keys, sorted.
func ConfigNames() []string {
	names := make([]string, 0, len(configSpecs))
	for k := range configSpecs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ConfigDoc returns a one-line description of a config key, or "".
func ConfigDoc(key string) string { return configSpecs[key].doc }

// IsNumericConfig reports whether key holds a number (Kafka type LONG or INT).
func IsNumericConfig(key string) bool {
	spec, ok := configSpecs[key]
	return ok && spec.enum == nil
}

// ValidateConfig checks one topic config. It returns a *[ConfigError] that
// names the key for an unknown key, a value that does not parse, a value out
// of range, or cleanup.policy=compact (not implemented yet).
func ValidateConfig(key, value string) error {
	spec, ok := configSpecs[key]
	if !ok {
		return &ConfigError{Key: key, Reason: "unknown topic config; supported: " + fmt.Sprint(ConfigNames())}
	}
	if spec.enum != nil {
		if key == CleanupPolicy && slices.Contains(strings.Split(value, ","), CleanupCompact) {
			return &ConfigError{Key: key, Reason: "compaction is not implemented yet; use cleanup.policy=delete"}
		}
		for _, v := range spec.enum {
			if v == value {
				return nil
			}
		}
		return &ConfigError{Key: key, Reason: fmt.Sprintf("value %q is not one of %v", value, spec.enum)}
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return &ConfigError{Key: key, Reason: fmt.Sprintf("value %q is not an integer", value)}
	}
	if n < spec.min || n > spec.max {
		return &ConfigError{Key: key, Reason: fmt.Sprintf("value %d is outside [%d, %d]", n, spec.min, spec.max)}
	}
	return nil
}

// ValidateConfigs checks every entry of configs, in key order, and returns
// the first error.
func ValidateConfigs(configs map[string]string) error {
	keys := make([]string, 0, len(configs))
	for k := range configs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ValidateConfig(k, configs[k]); err != nil {
			return err
		}
	}
	return nil
}
