package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// What provisioning does with an existing topic that has fewer partitions
// than [TopicSpec.Partitions] asks for.
const (
	// FewerPartitionsError fails Publisher or Subscribe with a
	// [*TooFewPartitionsError]. The default.
	FewerPartitionsError = "error"
	// FewerPartitionsWarn logs a warning and uses the topic as it is.
	FewerPartitionsWarn = "warn"
	// FewerPartitionsAdd adds partitions up to the number asked for. Keys
	// move to other partitions: order per key breaks across the change.
	FewerPartitionsAdd = "add"
)

// TopicSpec is what provisioning creates a missing topic with.
type TopicSpec struct {
	// Partitions is the partition count of a new topic, and the least an
	// existing topic must have. Default 0: the broker's default for new
	// topics, and no check of existing ones.
	Partitions int32
	// ReplicationFactor of a new topic. Default 0: the broker's default.
	ReplicationFactor int16
	// Configs of a new topic (e.g. "retention.ms": "86400000"). Existing
	// topics are not altered.
	Configs map[string]string
}

// ProvisionConfig says whether and how topics are created.
type ProvisionConfig struct {
	// Disabled turns provisioning off: topics must exist (or the broker
	// creates them on first use). Default false.
	Disabled bool
	// Topic is the shape of topics that are created.
	Topic TopicSpec
	// FewerPartitions is what happens when an existing topic has fewer
	// partitions than Topic.Partitions: "error" (default), "warn" or "add".
	FewerPartitions string
}

// Validate checks the settings.
func (c *ProvisionConfig) Validate() error {
	var errs []error
	switch c.FewerPartitions {
	case "", FewerPartitionsError, FewerPartitionsWarn, FewerPartitionsAdd:
	default:
		errs = append(errs, fmt.Errorf("fewer-partitions %q: want error, warn or add", c.FewerPartitions))
	}
	if c.Topic.Partitions < 0 {
		errs = append(errs, fmt.Errorf("partition-count %d: must be positive, or 0 for the broker default", c.Topic.Partitions))
	}
	if c.Topic.ReplicationFactor < 0 {
		errs = append(errs, fmt.Errorf("replication-factor %d: must be positive, or 0 for the broker default", c.Topic.ReplicationFactor))
	}
	return errors.Join(errs...)
}

// TooFewPartitionsError reports an existing topic with fewer partitions than
// asked for.
type TooFewPartitionsError struct {
	Topic      string
	Partitions int32 // what the topic has
	Want       int32 // what was asked for
}

func (e *TooFewPartitionsError) Error() string {
	return fmt.Sprintf("kafka: topic %s has %d partitions, %d asked for: add partitions (millstream topics alter --partitions %d %s), set fewer-partitions: add, or ask for fewer",
		e.Topic, e.Partitions, e.Want, e.Want, e.Topic)
}

// provisioner creates topics on demand. Safe for concurrent use.
type provisioner struct {
	adm *kadm.Client
	log *slog.Logger

	// mu guards known.
	mu sync.Mutex
	// known holds the partition count of topics seen; a topic in it is not
	// provisioned again.
	known map[string]int32
}

func newProvisioner(adm *kadm.Client, log *slog.Logger) *provisioner {
	return &provisioner{adm: adm, log: log, known: make(map[string]int32)}
}

// ensure makes sure topic exists with at least spec.Partitions partitions
// (per how) and returns its partition count.
func (p *provisioner) ensure(ctx context.Context, topic string, spec TopicSpec, how string) (int32, error) {
	p.mu.Lock()
	n, ok := p.known[topic]
	p.mu.Unlock()
	if ok && n >= spec.Partitions {
		return n, nil
	}
	n, err := p.describe(ctx, topic)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		n, err = p.create(ctx, topic, spec)
	}
	if err != nil {
		return 0, err
	}
	if spec.Partitions > 0 && n < spec.Partitions {
		switch how {
		case FewerPartitionsWarn:
			p.log.Warn("kafka: topic has fewer partitions than asked for; using it as it is",
				"topic", topic, "partitions", n, "want", spec.Partitions)
		case FewerPartitionsAdd:
			if err := p.grow(ctx, topic, spec.Partitions); err != nil {
				return 0, err
			}
			p.log.Info("kafka: added partitions", "topic", topic, "from", n, "to", spec.Partitions)
			n = spec.Partitions
		default:
			return 0, &TooFewPartitionsError{Topic: topic, Partitions: n, Want: spec.Partitions}
		}
	}
	p.mu.Lock()
	p.known[topic] = n
	p.mu.Unlock()
	return n, nil
}

// partitions returns the partition count of an existing topic, looking it up
// again when refresh is set.
func (p *provisioner) partitions(ctx context.Context, topic string, refresh bool) (int32, error) {
	p.mu.Lock()
	n, ok := p.known[topic]
	p.mu.Unlock()
	if ok && !refresh {
		return n, nil
	}
	n, err := p.describe(ctx, topic)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	p.known[topic] = n
	p.mu.Unlock()
	return n, nil
}

func (p *provisioner) describe(ctx context.Context, topic string) (int32, error) {
	details, err := p.adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("kafka: describe topic %s: %w", topic, err)
	}
	d, ok := details[topic]
	if !ok {
		return 0, fmt.Errorf("kafka: describe topic %s: %w", topic, kerr.UnknownTopicOrPartition)
	}
	if d.Err != nil {
		return 0, fmt.Errorf("kafka: describe topic %s: %w", topic, d.Err)
	}
	return int32(len(d.Partitions)), nil
}

func (p *provisioner) create(ctx context.Context, topic string, spec TopicSpec) (int32, error) {
	parts, rf := spec.Partitions, spec.ReplicationFactor
	if parts == 0 {
		parts = -1
	}
	if rf == 0 {
		rf = -1
	}
	var configs map[string]*string
	if len(spec.Configs) > 0 {
		configs = make(map[string]*string, len(spec.Configs))
		for k, v := range spec.Configs {
			configs[k] = kadm.StringPtr(v)
		}
	}
	resp, err := p.adm.CreateTopic(ctx, parts, rf, configs, topic)
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		// Someone else created it meanwhile: take it as it is.
		return p.describe(ctx, topic)
	case err != nil:
		return 0, fmt.Errorf("kafka: create topic %s (partitions %d, replication factor %d): %w", topic, parts, rf, err)
	}
	p.log.Info("kafka: created topic", "topic", topic, "partitions", resp.NumPartitions, "replication_factor", resp.ReplicationFactor)
	if resp.NumPartitions > 0 {
		return resp.NumPartitions, nil
	}
	return p.describe(ctx, topic)
}

func (p *provisioner) grow(ctx context.Context, topic string, to int32) error {
	resps, err := p.adm.UpdatePartitions(ctx, int(to), topic)
	if err != nil {
		return fmt.Errorf("kafka: add partitions to topic %s: %w", topic, err)
	}
	if r, ok := resps[topic]; ok && r.Err != nil {
		return fmt.Errorf("kafka: add partitions to topic %s: %w", topic, r.Err)
	}
	return nil
}
