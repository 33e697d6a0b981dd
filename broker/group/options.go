package group

import (
	"fmt"
	"time"
)

// Options configure a [Coordinator]. The zero value is valid: every zero field
// takes the default stated in its doc (see [Options.EnsureDefaults]).
type Options struct {
	// InitialRebalanceDelay is Kafka's group.initial.rebalance.delay.ms: how
	// long the first rebalance of an empty group waits for more members,
	// extended by each member that joins, up to the rebalance timeout.
	// Default 0 (no delay), which suits a single node. Set NoInitialDelay
	// semantics by leaving it zero.
	InitialRebalanceDelay time.Duration

	// MinSessionTimeout and MaxSessionTimeout bound the session timeout a
	// member may ask for (group.min/max.session.timeout.ms). Defaults 6s and
	// 30 minutes.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration

	// OffsetsRetention is offsets.retention.minutes: committed offsets of a
	// group that has been empty this long are removed. Default 7 days.
	OffsetsRetention time.Duration

	// OffsetsRetentionCheckInterval is how often Tick looks for expired
	// offsets (offsets.retention.check.interval.ms). Default 10 minutes.
	OffsetsRetentionCheckInterval time.Duration

	// MaxMetadataSize is offset.metadata.max.bytes: commits with longer
	// metadata get OFFSET_METADATA_TOO_LARGE. Default 4096.
	MaxMetadataSize int

	// PartitionExists reports whether a topic partition exists; commits to
	// one that does not get UNKNOWN_TOPIC_OR_PARTITION. Default: every
	// partition exists. It is called with the coordinator's lock held and
	// must not call back into the coordinator.
	PartitionExists func(topic string, partition int32) bool
}

// Defaults of [Options].
const (
	DefaultMinSessionTimeout             = 6 * time.Second
	DefaultMaxSessionTimeout             = 30 * time.Minute
	DefaultOffsetsRetention              = 7 * 24 * time.Hour
	DefaultOffsetsRetentionCheckInterval = 10 * time.Minute
	DefaultMaxMetadataSize               = 4096
)

// EnsureDefaults fills zero fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.MinSessionTimeout == 0 {
		o.MinSessionTimeout = DefaultMinSessionTimeout
	}
	if o.MaxSessionTimeout == 0 {
		o.MaxSessionTimeout = DefaultMaxSessionTimeout
	}
	if o.OffsetsRetention == 0 {
		o.OffsetsRetention = DefaultOffsetsRetention
	}
	if o.OffsetsRetentionCheckInterval == 0 {
		o.OffsetsRetentionCheckInterval = DefaultOffsetsRetentionCheckInterval
	}
	if o.MaxMetadataSize == 0 {
		o.MaxMetadataSize = DefaultMaxMetadataSize
	}
	if o.PartitionExists == nil {
		o.PartitionExists = func(string, int32) bool { return true }
	}
	return o
}

// Validate reports the first option that cannot work, saying how to fix it.
func (o *Options) Validate() error {
	switch {
	case o.InitialRebalanceDelay < 0:
		return fmt.Errorf("group: initial rebalance delay %v is negative: use 0 for no delay", o.InitialRebalanceDelay)
	case o.MinSessionTimeout < 0 || o.MaxSessionTimeout < 0:
		return fmt.Errorf("group: session timeout bounds must not be negative")
	case o.MaxSessionTimeout != 0 && o.MinSessionTimeout > o.MaxSessionTimeout:
		return fmt.Errorf("group: min session timeout %v is above max session timeout %v: lower the min or raise the max", o.MinSessionTimeout, o.MaxSessionTimeout)
	case o.OffsetsRetention < 0:
		return fmt.Errorf("group: offsets retention %v is negative: use a positive duration (default 7 days)", o.OffsetsRetention)
	case o.MaxMetadataSize < 0:
		return fmt.Errorf("group: max metadata size %d is negative", o.MaxMetadataSize)
	}
	return nil
}
