package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/sdk/stream"
)

// ErrSubscriberClosed is returned by Subscribe after Close.
var ErrSubscriberClosed = errors.New("kafka: subscriber closed")

// Start offsets of [SubscriberConfig.StartOffset].
const (
	Earliest = "earliest"
	Latest   = "latest"
)

// Defaults of [SubscriberConfig].
const (
	DefaultNackResendDelay    = 100 * time.Millisecond
	DefaultCloseTimeout       = 10 * time.Second
	DefaultRevokeTimeout      = time.Second
	DefaultCommitInterval     = time.Second
	DefaultMaxBufferedRecords = 1000
	DefaultAssignmentTimeout  = 5 * time.Second
	DefaultHeartbeatInterval  = 250 * time.Millisecond
	DefaultFetchMaxWait       = 100 * time.Millisecond
)

// SubscriberConfig configures a [Subscriber].
type SubscriberConfig struct {
	Connection
	// Group is the Kafka consumer group. Every Subscribe call joins it as
	// one more member, and the group's partitions are shared among the
	// members. Empty: no group; each Subscribe reads every partition and
	// nothing is committed.
	Group string
	// Partitions, when not empty, restricts each Subscribe to these
	// partitions, assigned directly rather than through the group
	// protocol. With a Group, offsets are still committed to (and resumed
	// from) that group. Default: all partitions.
	Partitions []int32
	// StartOffset is where reading starts when the group has no committed
	// offset (or, without a group, always): "earliest" or "latest".
	// Default "earliest" with a Group, "latest" without, as in Spring
	// Cloud Stream.
	StartOffset string
	// Unmarshaler builds messages from records. Default [DefaultMarshaler].
	Unmarshaler Unmarshaler
	// NackResendDelay is the wait before a nacked message is delivered
	// again. Default 100ms.
	NackResendDelay time.Duration
	// CloseTimeout bounds how long Close (and the end of a Subscribe
	// context) waits for the messages already delivered to be acked or
	// nacked, before it cancels their contexts and gives up on them. Acks
	// that arrive in that time are committed. Default 10s.
	CloseTimeout time.Duration
	// RevokeTimeout is the same wait when a rebalance takes partitions
	// away. It holds up the whole group's rebalance, so it is short; a
	// message not acked in time is delivered again to the partition's new
	// owner. Default 1s.
	RevokeTimeout time.Duration
	// CommitInterval is how often acked offsets are committed. They are
	// also committed when partitions are revoked and on Close.
	// Default 1s.
	CommitInterval time.Duration
	// MaxBufferedRecords is how many fetched records a partition holds
	// before the member stops fetching more: it waits for the partition to
	// drain before it polls again, and pauses fetching the partition when
	// it does not drain (see FetchMaxWait). Default 1000.
	MaxBufferedRecords int
	// FetchMaxWait is how long the broker may hold a fetch that finds no
	// new records. It also bounds how long the member waits for a
	// partition whose buffer is full before it pauses fetching that
	// partition (one whose handler takes nothing for 50-100ms, or that at
	// its pace would not drain in time, is paused sooner): a paused
	// partition, once resumed, waits for any fetch in flight, which may be
	// such a held fetch of its idle neighbours.
	// Default 100ms, shorter than the Java client's fetch.max.wait.ms
	// (500ms; franz-go's own is 5s) for that reason: with 500ms, a member
	// of 16 partitions draining a backlog lost a fetch-max-wait to such a
	// wait in half the runs (BenchmarkUppercase at 16 partitions: 93,000
	// against 124,000-139,000 messages/s with 100ms). An idle member then
	// asks the broker ten times a second instead of twice.
	FetchMaxWait time.Duration
	// Provision creates the topics subscribed to. Default: created with the
	// broker's defaults when missing.
	Provision ProvisionConfig
	// SessionTimeout is the group session timeout; zero keeps franz-go's
	// default (45s).
	SessionTimeout time.Duration
	// HeartbeatInterval is how often a member tells the group it is alive,
	// which is also how soon it notices a rebalance: a new member waits
	// about this long for the others to make room. Default 250ms (the Java
	// client's is 3s).
	HeartbeatInterval time.Duration
	// AssignmentTimeout bounds how long Subscribe waits for a new group
	// member to get its first partitions, so that messages sent after
	// Subscribe returns are shared with it. The bound is per subscriber: it
	// runs from its first Subscribe, and later Subscribe calls wait at most
	// what is left of it, so the start of an application with several
	// members is bounded too. A Subscribe that returns unassigned leaves a
	// member that goes on joining and delivers once its partitions arrive:
	// after an unclean stop the group waits for the dead member's session
	// timeout (Kafka's rule) before it rebalances, and that must not block
	// an application's start. Default 5s; negative: do not wait.
	AssignmentTimeout time.Duration
}

func (c *SubscriberConfig) setDefaults() {
	if c.StartOffset == "" {
		c.StartOffset = Latest
		if c.Group != "" {
			c.StartOffset = Earliest
		}
	}
	if c.Unmarshaler == nil {
		c.Unmarshaler = DefaultMarshaler{}
	}
	if c.NackResendDelay == 0 {
		c.NackResendDelay = DefaultNackResendDelay
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.RevokeTimeout == 0 {
		c.RevokeTimeout = DefaultRevokeTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.FetchMaxWait == 0 {
		c.FetchMaxWait = DefaultFetchMaxWait
	}
	if c.AssignmentTimeout == 0 {
		c.AssignmentTimeout = DefaultAssignmentTimeout
	}
	if c.MaxBufferedRecords == 0 {
		c.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	if c.Provision.FewerPartitions == "" {
		c.Provision.FewerPartitions = FewerPartitionsError
	}
}

// Validate reports every setting that cannot work.
func (c *SubscriberConfig) Validate() error {
	errs := []error{c.Connection.Validate(), c.Provision.Validate()}
	switch c.StartOffset {
	case "", Earliest, Latest:
	default:
		errs = append(errs, fmt.Errorf("start-offset %q: want earliest or latest", c.StartOffset))
	}
	for _, p := range c.Partitions {
		if p < 0 {
			errs = append(errs, fmt.Errorf("partitions: %d is not a partition number", p))
		}
	}
	if c.NackResendDelay < 0 || c.CloseTimeout < 0 || c.RevokeTimeout < 0 || c.CommitInterval < 0 {
		errs = append(errs, errors.New("nack-resend-delay, close-timeout, revoke-timeout and commit-interval must not be negative"))
	}
	if err := checkFetchMaxWait(c.FetchMaxWait); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBufferedRecords < 0 {
		errs = append(errs, fmt.Errorf("max-buffered-records %d: must be positive", c.MaxBufferedRecords))
	}
	return errors.Join(errs...)
}

// Subscriber is a Watermill [message.Subscriber] that consumes from Kafka.
//
// # Delivery
//
// Each Subscribe call is one consumer (one member of the Group, if there is
// one) with its own connection. Without the group protocol (no Group, or
// Partitions set), the Subscribe calls of one Subscriber share the
// partitions: the first takes every partition no other consumer of the
// subscriber reads, later ones get what is left (often nothing), and a
// consumer that ends frees its partitions for the next Subscribe. Its partitions are processed in parallel;
// within a partition a message is delivered only after the one before it
// was acked, so order per partition holds. Nack delivers the same message
// again after NackResendDelay, before anything after it. Offsets are
// committed only for acked messages (at-least-once): a message may come
// again after a rebalance or a restart, never be skipped.
//
// # Commit holds
//
// Each message's context carries a [stream.CommitHold]. When the SDK
// publishes a message's output asynchronously ([stream.AsyncPublisher]) it
// adds the output to the hold: the message is acked at once, the next one
// of its partition is delivered, and the acked offset becomes committable
// only once the outputs of it and of every message before it are stored.
// If an output fails, the partition is rewound to its message: it and
// every later message not yet committed are delivered again, in order.
// Close and revocations wait for pending outputs (up to CloseTimeout,
// RevokeTimeout) before their last commit.
//
// # Context
//
// Canceling the Subscribe context ends that consumer like Close does, and
// closes its channel. A delivered message's context carries the values of
// the Subscribe context; it is canceled when the message is acked or nacked,
// or when the consumer gives up waiting for it (CloseTimeout).
//
// # Concurrency
//
// All methods are safe for concurrent use. Close stops fetching, waits up to
// CloseTimeout for delivered messages to be acked, commits, leaves the group,
// waits for every goroutine of the subscriber, and closes the channels.
// Pause and Resume stop and restart delivery without leaving the group: no
// rebalance happens.
type Subscriber struct {
	cfg  SubscriberConfig
	log  *slog.Logger
	gate *stream.PauseGate
	// crashed (set by tests only) makes members stop as a killed process
	// does: no wait for delivered messages, no last commit.
	crashed atomic.Bool

	// mu guards closed, members, admin, prov, assignBy and claimed.
	mu      sync.Mutex
	closed  bool
	members map[*member]struct{}
	// admin is a client for provisioning and offset look-ups, made on
	// first use.
	admin *kgo.Client
	prov  *provisioner
	// sharedAdmin: admin belongs to the binder; Close leaves it open.
	sharedAdmin bool
	// assignBy is when Subscribe calls stop waiting for an assignment
	// (see AssignmentTimeout); zero until the first Subscribe.
	assignBy time.Time
	// claimed holds, per topic, the partitions that consumers outside the
	// group protocol (no group, or Partitions set) read: Subscribe calls
	// of one subscriber share them rather than read them twice.
	claimed map[string]map[int32]bool
}

// NewSubscriber checks cfg and returns a subscriber. It connects on the
// first Subscribe.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: subscriber config: %w", err)
	}
	cfg.setDefaults()
	return &Subscriber{cfg: cfg, log: discardLogger(cfg.Logger), gate: stream.NewPauseGate(), members: make(map[*member]struct{}),
		claimed: make(map[string]map[int32]bool)}, nil
}

// adminClient returns the shared admin client and provisioner, making them
// on first use. s.mu must not be held.
func (s *Subscriber) adminClient() (*kadm.Client, *provisioner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, ErrSubscriberClosed
	}
	if s.admin == nil {
		opts, err := s.cfg.kgoOpts()
		if err != nil {
			return nil, nil, err
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("kafka: new admin client: %w", err)
		}
		s.admin = cl
		s.prov = newProvisioner(cl, s.log)
	}
	return kadm.NewClient(s.admin), s.prov, nil
}

// SubscribeInitialize provisions topic (see [SubscriberConfig.Provision]).
// Subscribe does it too; Watermill calls this before publishing.
func (s *Subscriber) SubscribeInitialize(topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.provision(ctx, topic)
	return err
}

func (s *Subscriber) provision(ctx context.Context, topic string) (int32, error) {
	_, prov, err := s.adminClient()
	if err != nil {
		return 0, err
	}
	if s.cfg.Provision.Disabled {
		return prov.partitions(ctx, topic, false)
	}
	return prov.ensure(ctx, topic, s.cfg.Provision.Topic, s.cfg.Provision.FewerPartitions)
}

// Subscribe starts a consumer of topic and returns its messages. A group
// member returns once the group assigned it partitions, or when the
// subscriber's AssignmentTimeout (counted from its first Subscribe) is up;
// then it goes on joining and delivers once the partitions arrive. See [Subscriber] for delivery, ordering and context
// behaviour.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	m, err := s.subscribe(ctx, topic, nil, nil)
	if err != nil {
		return nil, err
	}
	return m.out, nil
}

// SubscribeHandler is Subscribe, except that each message is handed to h
// on its partition's goroutine instead of through a channel: one call at a
// time per partition, partitions in parallel. h returning nil acks the
// message, an error nacks it; a panic or runtime.Goexit in h nacks it too.
// Close (or the end of ctx) waits for calls in progress up to
// CloseTimeout, then cancels their message contexts and goes on without
// them. It implements [stream.HandlerSubscriber]: the SDK runs a Kafka
// binding's handler chain this way, without a Watermill router.
func (s *Subscriber) SubscribeHandler(ctx context.Context, topic string, h func(*message.Message) error) error {
	if h == nil {
		return errors.New("kafka: subscribe handler: nil handler")
	}
	_, err := s.subscribe(ctx, topic, h, nil)
	return err
}

// SubscribeDeliveries is SubscribeHandler with h given each message as a
// [stream.Delivery]: with the DefaultMarshaler, a message read as a
// binary-mode CloudEvent (Delivery.Binary) is read straight from its
// record's headers, and its Watermill message is made only if h asks for
// it. It implements [stream.DeliverySubscriber]: the SDK handles a
// message at its first attempt this way, without a Watermill message.
func (s *Subscriber) SubscribeDeliveries(ctx context.Context, topic string, h func(stream.Delivery) error) error {
	if h == nil {
		return errors.New("kafka: subscribe deliveries: nil handler")
	}
	_, err := s.subscribe(ctx, topic, nil, h)
	return err
}

var _ stream.DeliverySubscriber = (*Subscriber)(nil)

func (s *Subscriber) subscribe(ctx context.Context, topic string, h func(*message.Message) error, hd func(stream.Delivery) error) (*member, error) {
	if _, err := s.provision(ctx, topic); err != nil {
		return nil, fmt.Errorf("kafka: subscribe to %s: %w", topic, err)
	}
	adm, _, err := s.adminClient()
	if err != nil {
		return nil, err
	}
	m, err := newMember(ctx, s, adm, topic, h, hd)
	if err != nil {
		return nil, fmt.Errorf("kafka: subscribe to %s: %w", topic, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		// Let the member shut itself down: it may have started partition
		// goroutines already.
		m.stop()
		go m.run()
		<-m.done
		return nil, ErrSubscriberClosed
	}
	s.members[m] = struct{}{}
	if s.assignBy.IsZero() {
		s.assignBy = time.Now().Add(s.cfg.AssignmentTimeout)
	}
	wait := time.Until(s.assignBy)
	s.mu.Unlock()
	go m.run()
	m.waitAssigned(ctx, wait)
	return m, nil
}

// Pause stops delivering messages and fetching records, without leaving the
// group: members keep their partitions and no rebalance happens. It affects
// every consumer of the subscriber, current and future. Once Pause returns
// nil no consumer hands out another message until Resume; a message
// delivered before can still be acked or nacked, and a nacked one is held
// back with the rest. With SubscribeHandler, a partition that had checked
// the gate just before Pause may still begin one call after Pause returns
// (the SDK's own pause gate, in its handler chain, holds such a call).
// Pause waits only for consumers caught in the middle of handing out a
// message to step back; if ctx ends first it undoes itself and returns
// ctx's error. It implements [stream.Pauser], so the SDK pauses a
// Kafka binding by fetch pausing. Pause after Close returns
// [ErrSubscriberClosed].
func (s *Subscriber) Pause(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("kafka: pause: %w", ErrSubscriberClosed)
	}
	drained := s.gate.Shut()
	for m := range s.members {
		m.cl.PauseFetchTopics(m.topic)
	}
	s.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		if err := s.Resume(context.Background()); err != nil {
			return fmt.Errorf("kafka: pause: %w (and undoing it: %w)", ctx.Err(), err)
		}
		return fmt.Errorf("kafka: pause: %w", ctx.Err())
	}
}

// Resume undoes Pause: delivery goes on where it stopped, nothing lost or
// skipped. It does not block; ctx is taken for [stream.Pauser]. Resume after
// Close returns [ErrSubscriberClosed].
func (s *Subscriber) Resume(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka: resume: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("kafka: resume: %w", ErrSubscriberClosed)
	}
	for m := range s.members {
		m.cl.ResumeFetchTopics(m.topic)
	}
	s.gate.Lift()
	return nil
}

// Paused reports whether the subscriber is paused.
func (s *Subscriber) Paused() bool { return s.gate.IsShut() }

// Lag returns, per topic and partition of the running consumers, how many
// records were written after the last acked one (as of the last fetch).
func (s *Subscriber) Lag() map[string]map[int32]int64 {
	s.mu.Lock()
	ms := make([]*member, 0, len(s.members))
	for m := range s.members {
		ms = append(ms, m)
	}
	s.mu.Unlock()
	out := make(map[string]map[int32]int64)
	for _, m := range ms {
		for p, lag := range m.lag() {
			if out[m.topic] == nil {
				out[m.topic] = make(map[int32]int64)
			}
			out[m.topic][p] += lag
		}
	}
	return out
}

// Ping checks that the cluster answers.
func (s *Subscriber) Ping(ctx context.Context) error {
	s.mu.Lock()
	cl := s.admin
	s.mu.Unlock()
	if cl == nil {
		return nil
	}
	return cl.Ping(ctx)
}

// removeMember forgets a consumer that ended, and frees its partitions.
func (s *Subscriber) removeMember(m *member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members, m)
	for _, p := range m.claims {
		delete(s.claimed[m.topic], p)
	}
}

// unclaim frees partitions of a consumer that did not start.
func (s *Subscriber) unclaim(topic string, parts []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parts {
		delete(s.claimed[topic], p)
	}
}

// claim takes the partitions of want that no other consumer of topic
// reads, and returns them.
func (s *Subscriber) claim(topic string, want []int32) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimed[topic] == nil {
		s.claimed[topic] = make(map[int32]bool)
	}
	var got []int32
	for _, p := range want {
		if !s.claimed[topic][p] {
			s.claimed[topic][p] = true
			got = append(got, p)
		}
	}
	return got
}

// Close ends every consumer (see [Subscriber]) and waits for them. Calling
// it again does nothing.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ms := make([]*member, 0, len(s.members))
	for m := range s.members {
		ms = append(ms, m)
	}
	s.mu.Unlock()
	for _, m := range ms {
		m.stop()
	}
	for _, m := range ms {
		<-m.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil && !s.sharedAdmin {
		s.admin.Close()
	}
	return nil
}

var (
	_ message.Subscriber           = (*Subscriber)(nil)
	_ message.SubscribeInitializer = (*Subscriber)(nil)
	_ stream.HandlerSubscriber     = (*Subscriber)(nil)
)

// checkFetchMaxWait refuses a fetch-max-wait outside what Kafka accepts
// (franz-go refuses less than 10ms; the request carries milliseconds in an
// int32). Zero means the default.
func checkFetchMaxWait(w time.Duration) error {
	if w != 0 && (w < 10*time.Millisecond || w > math.MaxInt32*time.Millisecond) {
		return fmt.Errorf("fetch-max-wait %s: want 10ms to %s (Kafka's limits)", w, math.MaxInt32*time.Millisecond)
	}
	return nil
}
