package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// Binder is the sdk/stream Binder for Kafka: destinations are topics,
// groups are consumer groups, partitions are partitions, and CloudEvents
// follow the CloudEvents Kafka protocol binding ([cloudevent.Kafka]).
//
// Its publishers share one producer client; each Subscribe of its
// subscribers is one group member with its own client. It is safe for
// concurrent use.
type Binder struct {
	cfg      Config
	log      *slog.Logger
	embedded *embeddedBroker
	conn     Connection
	// producer is shared by every publisher, and serves provisioning.
	producer *kgo.Client
	prov     *provisioner

	// mu guards subs.
	mu   sync.Mutex
	subs map[*Subscriber]stream.Subscription
}

// New starts the binder: with brokers: embedded it starts the bundled broker
// first (a port in use fails here); otherwise it connects lazily.
func New(ctx context.Context, cfg Config) (*Binder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: binder config: %w", err)
	}
	b := &Binder{cfg: cfg, log: discardLogger(cfg.Logger), subs: make(map[*Subscriber]stream.Subscription)}
	b.conn = cfg.Connection
	if cfg.IsEmbedded() {
		e, err := startEmbedded(ctx, cfg.Embedded, b.log)
		if err != nil {
			return nil, err
		}
		b.embedded = e
		b.conn.Brokers = []string{e.addr()}
	}
	pc := b.publisherConfig(stream.Publication{})
	pc.setDefaults()
	cl, err := newProducerClient(&pc)
	if err != nil {
		b.closeEmbedded()
		return nil, err
	}
	b.producer = cl
	b.prov = newProvisioner(cl, b.log)
	return b, nil
}

// Brokers returns the seed brokers the binder uses: with brokers: embedded,
// the address of the bundled broker.
func (b *Binder) Brokers() []string { return slices.Clone(b.conn.Brokers) }

// Features implements [stream.Binder].
func (b *Binder) Features() stream.Features {
	return stream.Features{Durable: true, Partitions: true, Retention: true}
}

// Convention implements [stream.Binder]: the CloudEvents Kafka binding.
func (b *Binder) Convention() cloudevent.Convention { return cloudevent.Kafka() }

func (b *Binder) publisherConfig(p stream.Publication) PublisherConfig {
	return PublisherConfig{
		Connection: b.conn,
		Provision: ProvisionConfig{
			Disabled:        !b.cfg.AutoCreateTopics,
			FewerPartitions: b.cfg.FewerPartitions,
			Topic:           b.topicSpec(p.Properties.PartitionCount),
		},
	}
}

func (b *Binder) topicSpec(partitions int) TopicSpec {
	return TopicSpec{Partitions: int32(partitions), ReplicationFactor: b.cfg.ReplicationFactor, Configs: b.cfg.TopicConfigs}
}

// Publisher implements [stream.Binder]. The topic is created with
// partition-count partitions when missing; one with fewer is handled per
// fewer-partitions.
func (b *Binder) Publisher(ctx context.Context, p stream.Publication) (message.Publisher, error) {
	cfg := b.publisherConfig(p)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: publisher for %s: %w", p.Destination, err)
	}
	cfg.setDefaults()
	pub := &Publisher{cfg: cfg, log: b.log, cl: b.producer, prov: b.prov}
	if p.Destination != "" {
		if _, err := pub.provision(ctx, p.Destination); err != nil {
			return nil, err
		}
	}
	return pub, nil
}

// Subscriber implements [stream.Binder]. A named group is a Kafka consumer
// group; an anonymous subscription reads every partition from the end,
// without a group, and commits nothing. A missing topic is created with
// max(partition-count, concurrency × instance-count) partitions, as Spring
// Cloud Stream's Kafka binder does.
func (b *Binder) Subscriber(ctx context.Context, s stream.Subscription) (message.Subscriber, error) {
	props := s.Properties
	want := max(props.PartitionCount, max(props.Concurrency, 1)*max(props.InstanceCount, 1))
	how := FewerPartitionsWarn
	if b.cfg.FewerPartitions == FewerPartitionsAdd {
		how = FewerPartitionsAdd
	}
	cfg := SubscriberConfig{
		Connection:      b.conn,
		Group:           s.Group,
		StartOffset:     string(s.StartOffset),
		NackResendDelay: b.cfg.NackResendDelay,
		CloseTimeout:    b.cfg.CloseTimeout,
		RevokeTimeout:   b.cfg.RevokeTimeout,
		CommitInterval:  b.cfg.CommitInterval,
		FetchMaxWait:    b.cfg.FetchMaxWait,
		Provision: ProvisionConfig{
			Disabled:        !b.cfg.AutoCreateTopics,
			FewerPartitions: how,
			Topic:           b.topicSpec(want),
		},
	}
	if s.Anonymous {
		cfg.Group, cfg.StartOffset = "", Latest
	}
	for _, p := range s.Partitions {
		cfg.Partitions = append(cfg.Partitions, int32(p))
	}
	sub, err := NewSubscriber(cfg)
	if err != nil {
		return nil, fmt.Errorf("kafka: subscriber for %s: %w", s.Destination, err)
	}
	sub.admin, sub.prov, sub.sharedAdmin = b.producer, b.prov, true
	if s.Destination != "" {
		if _, err := sub.provision(ctx, s.Destination); err != nil {
			return nil, err
		}
	}
	if err := b.provisionDeadLetter(ctx, s); err != nil {
		sub.Close()
		return nil, err
	}
	b.mu.Lock()
	b.subs[sub] = s
	b.mu.Unlock()
	return &trackedSubscriber{Subscriber: sub, b: b}, nil
}

// provisionDeadLetter creates the dead-letter topic of a subscription with
// dlq: true, as Spring Cloud Stream's Kafka binder does when it provisions
// a consumer: with the SDK it exists already (the App opens the binding's
// dead-letter publisher first), but a subscription opened by other code
// gets it too. It has one partition unless it exists; dead letters carry
// no partition of their own.
func (b *Binder) provisionDeadLetter(ctx context.Context, s stream.Subscription) error {
	if !b.cfg.AutoCreateTopics || !s.Properties.DLQ || s.Properties.DLQDestination == "" {
		return nil
	}
	_, err := b.prov.ensure(ctx, s.Properties.DLQDestination, b.topicSpec(1), FewerPartitionsWarn)
	return err
}

// trackedSubscriber forgets itself in the binder when closed.
type trackedSubscriber struct {
	*Subscriber
	b *Binder
}

func (t *trackedSubscriber) Close() error {
	err := t.Subscriber.Close()
	t.b.mu.Lock()
	delete(t.b.subs, t.Subscriber)
	t.b.mu.Unlock()
	return err
}

// Close closes the shared producer and stops the embedded broker. The SDK
// closes every publisher and subscriber first.
func (b *Binder) Close() error {
	b.producer.Close()
	return b.closeEmbedded()
}

func (b *Binder) closeEmbedded() error {
	if b.embedded == nil {
		return nil
	}
	err := b.embedded.close()
	b.embedded = nil
	return err
}

// DeadLetterDestination implements [stream.DeadLetterNamer]: the
// dead-letter topic of a binding with dlq: true and no dlq-destination is
// Spring Cloud Stream's error.<destination>.<group>, or error.<destination>
// for an anonymous binding.
func (b *Binder) DeadLetterDestination(destination, group string) string {
	if group == "" {
		return "error." + destination
	}
	return "error." + destination + "." + group
}

var (
	_ stream.Binder          = (*Binder)(nil)
	_ stream.HealthChecker   = (*Binder)(nil)
	_ stream.HealthDetailer  = (*Binder)(nil)
	_ stream.DeadLetterNamer = (*Binder)(nil)
)
