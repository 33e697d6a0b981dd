package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("kafka: publisher closed")

// Acks settings of [PublisherConfig.Acks].
const (
	// AcksAll waits for every in-sync replica. The default.
	AcksAll = "all"
	// AcksLeader waits for the partition leader only.
	AcksLeader = "1"
)

// PublisherConfig configures a [Publisher].
type PublisherConfig struct {
	Connection
	// Marshaler builds records from messages. Default [DefaultMarshaler].
	Marshaler Marshaler
	// Acks is "all" (default) or "1". Idempotence needs "all".
	Acks string
	// DisableIdempotence turns off the idempotent producer (which keeps
	// retries from duplicating or reordering records). Default false:
	// idempotent.
	DisableIdempotence bool
	// DeliveryTimeout bounds how long Publish tries to deliver a message,
	// retries included. Default 30s.
	DeliveryTimeout time.Duration
	// Linger is how long the client waits to fill a batch. Default 0:
	// Publish waits for its messages anyway, so lingering only adds delay.
	Linger time.Duration
	// Provision creates the topics published to. Default: created with the
	// broker's defaults when missing.
	Provision ProvisionConfig
}

// DefaultDeliveryTimeout is the default of [PublisherConfig.DeliveryTimeout].
const DefaultDeliveryTimeout = 30 * time.Second

func (c *PublisherConfig) setDefaults() {
	if c.Marshaler == nil {
		c.Marshaler = DefaultMarshaler{}
	}
	if c.Acks == "" {
		c.Acks = AcksAll
	}
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if c.Provision.FewerPartitions == "" {
		c.Provision.FewerPartitions = FewerPartitionsError
	}
}

// Validate reports every setting that cannot work.
func (c *PublisherConfig) Validate() error {
	errs := []error{c.Connection.Validate(), c.Provision.Validate()}
	switch c.Acks {
	case "", AcksAll, "-1":
	case AcksLeader:
		if !c.DisableIdempotence {
			errs = append(errs, errors.New("acks 1: the idempotent producer needs acks all: set acks: all or disable idempotence"))
		}
	default:
		errs = append(errs, fmt.Errorf("acks %q: want all or 1", c.Acks))
	}
	if c.DeliveryTimeout < 0 {
		errs = append(errs, fmt.Errorf("delivery-timeout %s: must be positive", c.DeliveryTimeout))
	}
	return errors.Join(errs...)
}

// Publisher is a Watermill [message.Publisher] that produces to Kafka.
//
// Publish is synchronous: it returns after every message was acknowledged by
// the brokers (with acks=all by default, by every in-sync replica), or with
// the first error. Messages of one Publish call to one partition keep their
// order. Each message's context cancels the delivery of that message.
//
// A Publisher is safe for concurrent use. Close waits for Publish calls in
// progress, then closes the client; Publish after Close returns
// [ErrPublisherClosed].
type Publisher struct {
	cfg  PublisherConfig
	log  *slog.Logger
	cl   *kgo.Client
	prov *provisioner
	// ownsClient: Close closes cl. Publishers of a binder share its
	// client.
	ownsClient bool

	// mu is held for reading by Publish and for writing by Close.
	mu     sync.RWMutex
	closed bool
	// inflight counts PublishAsync messages not completed yet.
	inflight sync.WaitGroup
}

// NewPublisher connects a publisher. It does not wait for the brokers: a
// cluster that cannot be reached shows in the first Publish.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: publisher config: %w", err)
	}
	cfg.setDefaults()
	cl, err := newProducerClient(&cfg)
	if err != nil {
		return nil, err
	}
	log := discardLogger(cfg.Logger)
	return &Publisher{cfg: cfg, log: log, cl: cl, ownsClient: true, prov: newProvisioner(cl, log)}, nil
}

// newProducerClient makes the franz-go client of a publisher.
func newProducerClient(cfg *PublisherConfig) (*kgo.Client, error) {
	opts, err := cfg.kgoOpts()
	if err != nil {
		return nil, fmt.Errorf("kafka: publisher config: %w", err)
	}
	opts = append(opts,
		kgo.RecordPartitioner(Partitioner()),
		kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		kgo.ProducerLinger(cfg.Linger),
	)
	if cfg.Provision.Disabled {
		// Without provisioning, let a broker that auto-creates topics do
		// so; with it, the producer must not race provisioning.
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	if cfg.Acks == AcksLeader {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	} else {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if cfg.DisableIdempotence {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: new publisher client: %w", err)
	}
	return cl, nil
}

// Client returns the underlying franz-go client, for what this package does
// not offer. Do not close it.
func (p *Publisher) Client() *kgo.Client { return p.cl }

// Publish sends msgs to topic and waits until all are acknowledged. See
// [Publisher] for ordering and context behaviour.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrPublisherClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.DeliveryTimeout)
	defer cancel()
	partitions, err := p.provision(ctx, topic)
	if err != nil {
		return err
	}
	recs := make([]*kgo.Record, len(msgs))
	for i, msg := range msgs {
		if recs[i], err = p.marshal(ctx, topic, msg, &partitions); err != nil {
			return err
		}
	}
	for i, r := range p.cl.ProduceSync(ctx, recs...) {
		if r.Err != nil {
			return fmt.Errorf("kafka: publish message %s to topic %s: %w", msgs[i].UUID, topic, r.Err)
		}
	}
	return nil
}

var _ stream.AsyncPublisher = (*Publisher)(nil)

// PublishAsync queues msg for topic and returns; done is called once the
// brokers acknowledged it, or with the error Publish would have returned.
// Records of one partition are stored, and complete, in the order they were
// queued (franz-go's idempotent producer keeps a failed batch from being
// overtaken). It implements [stream.AsyncPublisher]: a function binding
// whose input is a Kafka subscriber publishes its outputs with it and
// commits each input only once its outputs are stored. ctx cancels the
// delivery (franz-go then fails the partition's buffered records), as the
// message's context does. Close waits for queued messages to complete.
func (p *Publisher) PublishAsync(ctx context.Context, topic string, msg *message.Message, done func(error)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		done(ErrPublisherClosed)
		return
	}
	rec, err := p.record(ctx, topic, msg)
	if err != nil {
		done(err)
		return
	}
	p.produce(ctx, rec, msg.UUID, done)
}

// produce sends rec, the record of message id, and calls done with the
// outcome. ctx ends the delivery early: the SDK passes its binding's
// context, which ends once shutdown-timeout has passed at stop.
func (p *Publisher) produce(ctx context.Context, rec *kgo.Record, id string, done func(error)) {
	p.inflight.Add(1)
	p.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
		defer p.inflight.Done()
		if err != nil {
			err = fmt.Errorf("kafka: publish message %s to topic %s: %w", id, rec.Topic, err)
		}
		done(err)
	})
}

// PublishEvent implements [stream.EventPublisher]: with the default
// marshaler (and key metadata), it produces ev as PublishAsync produces
// ev.Message(c), its headers written straight from the event's parts; with
// any other marshaler, or a convention other than the Kafka one, it
// declines. ctx cancels the delivery, as for PublishAsync.
func (p *Publisher) PublishEvent(ctx context.Context, topic string, ev *cloudevent.BinaryEvent, c cloudevent.Convention, done func(error)) bool {
	if m, ok := p.cfg.Marshaler.(DefaultMarshaler); !ok || m.keyMetadata() != cloudevent.MetadataKey {
		return false // the record is the marshaler's to make
	}
	if c.AttributePrefix+"id" != ceIDHeader {
		// DefaultMarshaler would add UUIDHeader for an id under another
		// name: leave it the message.
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		done(ErrPublisherClosed)
		return true
	}
	rec, err := p.eventRecord(ctx, topic, ev, c)
	if err != nil {
		done(err)
		return true
	}
	p.produce(ctx, rec, ev.ID, done)
	return true
}

// eventRecord provisions topic and makes ev's record for it: the record
// DefaultMarshaler makes of ev.Message(c).
func (p *Publisher) eventRecord(ctx context.Context, topic string, ev *cloudevent.BinaryEvent, c cloudevent.Convention) (*kgo.Record, error) {
	partitions, err := p.partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	rec := marshalEvent(topic, ev, c)
	if ev.Partition >= 0 {
		part := int32(ev.Partition)
		if int(part) != ev.Partition {
			return nil, fmt.Errorf("kafka: marshal message %s for topic %s: %w", ev.ID, topic,
				&InvalidPartitionError{Value: strconv.Itoa(ev.Partition)})
		}
		if err := p.checkPartition(ctx, topic, part, &partitions); err != nil {
			return nil, err
		}
		rec.Partition = part
		rec.Context = WithPartition(rec.Context, part)
	}
	return rec, nil
}

// roomyRecord is a record with room for the headers and values of most
// events (an SDK output has eight headers and about 200 bytes of values),
// so that their record takes one allocation instead of three.
type roomyRecord struct {
	rec     kgo.Record
	headers [8]kgo.RecordHeader
	values  [256]byte
}

// marshalEvent makes the record of ev for topic, but for its partition:
// what DefaultMarshaler makes of ev.Message(c).
func marshalEvent(topic string, ev *cloudevent.BinaryEvent, c cloudevent.Convention) *kgo.Record {
	r := &roomyRecord{}
	rec := &r.rec
	// A record's context is what the partitioner looks up an explicit
	// partition in (franz-go gives one without it Produce's): an empty
	// one is looked up at once.
	rec.Topic, rec.Value, rec.Context = topic, ev.Data, context.Background()
	// Every value and the key in one buffer, as DefaultMarshaler does.
	key := c.KeyFromPartitionKey && ev.PartitionKey != ""
	size := ev.HeadersSize()
	if key {
		size += len(ev.PartitionKey)
	}
	buf := r.values[:0]
	if size > len(r.values) {
		buf = make([]byte, 0, size)
	}
	rec.Headers = r.headers[:0]
	if n := ev.HeadersCount(); n > len(r.headers) {
		rec.Headers = make([]kgo.RecordHeader, 0, n)
	}
	buf = ev.AppendHeaders(c, buf, func(k string, v []byte) {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: v})
	})
	if key {
		rec.Key = append(buf, ev.PartitionKey...)[len(buf):]
	}
	return rec
}

// record provisions topic and marshals msg for it.
func (p *Publisher) record(ctx context.Context, topic string, msg *message.Message) (*kgo.Record, error) {
	partitions, err := p.partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	return p.marshal(ctx, topic, msg, &partitions)
}

// partitions provisions topic and returns its known partition count (0
// when unknown). Only a topic not provisioned yet, or a partition beyond
// the known ones, needs the brokers (and a deadline): not the message
// after.
func (p *Publisher) partitions(ctx context.Context, topic string) (int32, error) {
	if n, known := p.provisioned(topic); known {
		return n, nil
	}
	pctx, cancel := context.WithTimeout(ctx, p.cfg.DeliveryTimeout)
	defer cancel()
	return p.provision(pctx, topic)
}

// marshal makes msg's record for topic. A message naming its partition is
// checked against *partitions, the known partition count of topic (see
// checkPartition).
func (p *Publisher) marshal(ctx context.Context, topic string, msg *message.Message, partitions *int32) (*kgo.Record, error) {
	rec, err := p.cfg.Marshaler.Marshal(topic, msg)
	if err != nil {
		return nil, fmt.Errorf("kafka: marshal message %s for topic %s: %w", msg.UUID, topic, err)
	}
	if part, ok := explicitPartition(rec.Context); ok {
		if err := p.checkPartition(ctx, topic, part, partitions); err != nil {
			return nil, err
		}
		rec.Context = WithPartition(msg.Context(), part)
	} else if rec.Context == nil {
		rec.Context = msg.Context()
	}
	return rec, nil
}

// provisioned returns what provision would, when it knows without asking
// the brokers.
func (p *Publisher) provisioned(topic string) (int32, bool) {
	if p.cfg.Provision.Disabled {
		return 0, true
	}
	return p.prov.cached(topic, p.cfg.Provision.Topic.Partitions)
}

// provision makes sure topic exists and returns its partition count (0 when
// provisioning is off).
func (p *Publisher) provision(ctx context.Context, topic string) (int32, error) {
	if p.cfg.Provision.Disabled {
		return 0, nil
	}
	return p.prov.ensure(ctx, topic, p.cfg.Provision.Topic, p.cfg.Provision.FewerPartitions)
}

// checkPartition fails a message sent to a partition the topic does not
// have. *n is the known partition count (0: unknown); it is refreshed once,
// for a topic that grew, within DeliveryTimeout.
func (p *Publisher) checkPartition(ctx context.Context, topic string, part int32, n *int32) error {
	if part < *n {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DeliveryTimeout)
	defer cancel()
	m, err := p.prov.partitions(ctx, topic, true)
	if err != nil {
		return fmt.Errorf("kafka: partition %d of topic %s: %w", part, topic, err)
	}
	*n = m
	if part >= m {
		return &InvalidPartitionError{Topic: topic, Value: strconv.Itoa(int(part)), Partitions: int(m)}
	}
	return nil
}

// Close waits for Publish calls in progress and for the messages queued by
// PublishAsync to complete, and closes the client. Calling it again does
// nothing.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.inflight.Wait() // bounded by DeliveryTimeout
	if p.ownsClient {
		p.cl.Close()
	}
	return nil
}

var _ message.Publisher = (*Publisher)(nil)
