package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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
//
// It looks topics up with uncached Metadata requests: kadm's ListTopics
// answers from the client's metadata cache (up to MetadataMinAge, 5 s by
// default), which still says UNKNOWN_TOPIC_OR_PARTITION for a topic that a
// binding of the same application created a moment before.
type provisioner struct {
	cl  *kgo.Client
	adm *kadm.Client
	log *slog.Logger

	// mu guards known, created, wants, waiting and locks.
	mu sync.Mutex
	// known holds the partition count of topics seen; a topic in it is not
	// provisioned again unless more partitions are asked for.
	known map[string]int32
	// created holds the topics this provisioner created. A later request
	// of the same application for more partitions of one of them grows it
	// (see ensure).
	created map[string]bool
	// wants holds, per topic being provisioned, the most partitions any
	// waiting ensure asks for: the one that creates the topic uses it.
	// waiting counts those ensures; both entries go when it drops to 0.
	wants   map[string]int32
	waiting map[string]int
	// locks serializes ensure per topic: a one-slot channel per topic.
	locks map[string]chan struct{}
}

func newProvisioner(cl *kgo.Client, log *slog.Logger) *provisioner {
	return &provisioner{cl: cl, adm: kadm.NewClient(cl), log: log, known: make(map[string]int32),
		created: make(map[string]bool), wants: make(map[string]int32), waiting: make(map[string]int), locks: make(map[string]chan struct{})}
}

// lock takes topic's ensure lock, registering want first so that whoever
// holds the lock and creates the topic creates it big enough for all.
func (p *provisioner) lock(ctx context.Context, topic string, want int32) (unlock func(), err error) {
	p.mu.Lock()
	l, ok := p.locks[topic]
	if !ok {
		l = make(chan struct{}, 1)
		p.locks[topic] = l
	}
	p.wants[topic] = max(p.wants[topic], want)
	p.waiting[topic]++
	p.mu.Unlock()
	done := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.waiting[topic]--; p.waiting[topic] == 0 {
			delete(p.waiting, topic)
			delete(p.wants, topic)
		}
	}
	select {
	case l <- struct{}{}:
		return func() { <-l; done() }, nil
	case <-ctx.Done():
		done()
		return nil, fmt.Errorf("kafka: provision topic %s: %w", topic, ctx.Err())
	}
}

// cached returns the partition count of topic when it is known to have at
// least partitions, without asking the brokers.
func (p *provisioner) cached(topic string, partitions int32) (int32, bool) {
	p.mu.Lock()
	n, ok := p.known[topic]
	p.mu.Unlock()
	return n, ok && n >= partitions
}

// ensure makes sure topic exists with at least spec.Partitions partitions
// (per how) and returns its partition count. Calls for one topic run one at
// a time; a topic is created with the most partitions any of the calls
// waiting for it asks for. A topic this provisioner created that has fewer
// partitions than a later call asks for is grown whatever how says: the
// bindings of one application disagree, and the topic is the application's
// own and new (the SDK opens inputs first, so nothing keyed was written by
// the application yet).
func (p *provisioner) ensure(ctx context.Context, topic string, spec TopicSpec, how string) (int32, error) {
	if n, ok := p.cached(topic, spec.Partitions); ok {
		return n, nil
	}
	unlock, err := p.lock(ctx, topic, spec.Partitions)
	if err != nil {
		return 0, err
	}
	defer unlock()
	p.mu.Lock()
	n, ok := p.known[topic]
	mine := p.created[topic]
	merged := spec
	merged.Partitions = max(spec.Partitions, p.wants[topic])
	p.mu.Unlock()
	if !ok || n < spec.Partitions {
		n, err = p.describe(ctx, topic)
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			n, mine, err = p.create(ctx, topic, merged)
		}
		if err != nil {
			return 0, err
		}
	}
	if spec.Partitions > 0 && n < spec.Partitions {
		switch {
		case mine:
			if err := p.grow(ctx, topic, spec.Partitions); err != nil {
				return 0, err
			}
			p.log.Info("kafka: added partitions to a topic this application created, for a binding that asks for more",
				"topic", topic, "from", n, "to", spec.Partitions)
			n = spec.Partitions
		case how == FewerPartitionsWarn:
			p.log.Warn("kafka: topic has fewer partitions than asked for; using it as it is",
				"topic", topic, "partitions", n, "want", spec.Partitions)
		case how == FewerPartitionsAdd:
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
	if mine {
		p.created[topic] = true
	}
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

// describe returns topic's partition count from a Metadata request that
// bypasses the client's cache. A missing topic is
// [kerr.UnknownTopicOrPartition].
func (p *provisioner) describe(ctx context.Context, topic string) (int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, p.cl)
	if err != nil {
		return 0, fmt.Errorf("kafka: describe topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return 0, fmt.Errorf("kafka: describe topic %s: %w", topic, err)
		}
		return int32(len(t.Partitions)), nil
	}
	return 0, fmt.Errorf("kafka: describe topic %s: %w", topic, kerr.UnknownTopicOrPartition)
}

// describeCreated is describe for a topic just created, by this client or
// another: until the creation has reached the broker answering, Kafka may
// still say the topic is unknown or has no leader, so those answers are
// retried for a while (createdVisibleTimeout).
func (p *provisioner) describeCreated(ctx context.Context, topic string) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, createdVisibleTimeout)
	defer cancel()
	backoff := 10 * time.Millisecond
	for {
		n, err := p.describe(ctx, topic)
		if !errors.Is(err, kerr.UnknownTopicOrPartition) && !errors.Is(err, kerr.LeaderNotAvailable) {
			return n, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("%w (created, but not visible after %v)", err, createdVisibleTimeout)
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// createdVisibleTimeout bounds describeCreated.
const createdVisibleTimeout = 10 * time.Second

// create creates topic; mine is false when someone else created it first.
func (p *provisioner) create(ctx context.Context, topic string, spec TopicSpec) (n int32, mine bool, err error) {
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
		n, err := p.describeCreated(ctx, topic)
		return n, false, err
	case err != nil:
		return 0, false, fmt.Errorf("kafka: create topic %s (partitions %d, replication factor %d): %w", topic, parts, rf, err)
	}
	p.log.Info("kafka: created topic", "topic", topic, "partitions", resp.NumPartitions, "replication_factor", resp.ReplicationFactor)
	if resp.NumPartitions > 0 {
		return resp.NumPartitions, true, nil
	}
	n, err = p.describeCreated(ctx, topic)
	return n, true, err
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
