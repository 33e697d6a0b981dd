package rabbit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// ErrClosed is returned by a closed binder, publisher or subscriber.
var ErrClosed = errors.New("rabbit: closed")

// Binder is the RabbitMQ binder. It holds two connections, one for
// publishing and one for consuming (so that the broker's flow control on
// publishers never stalls acks), each reconnecting on its own once made.
// The zero value is not usable; call [Open] or [New].
//
// Lock order: connMu before mu.
type Binder struct {
	cfg  Config
	log  *slog.Logger
	wlog watermill.LoggerAdapter
	host string // URL with the password redacted, for messages

	// connMu guards pubConn and subConn, which Connect sets once; nil
	// until then.
	connMu  sync.Mutex
	pubConn *wamqp.ConnectionWrapper
	subConn *wamqp.ConnectionWrapper

	// mu guards subs and closed.
	mu     sync.Mutex
	subs   map[*Subscriber]struct{}
	closed bool
}

var (
	_ stream.Binder         = (*Binder)(nil)
	_ stream.HealthChecker  = (*Binder)(nil)
	_ stream.HealthDetailer = (*Binder)(nil)
)

// Open checks cfg (defaults applied) and returns the binder without
// connecting: it connects on [Binder.Connect] or on the first Publisher,
// Subscriber or Health call. A bad configuration fails here; an unreachable
// broker fails there, with an error naming the URL (password redacted).
func Open(cfg Config) (*Binder, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Binder{cfg: cfg, log: log, wlog: watermill.NewSlogLogger(log), host: redactedURL(cfg.URL), subs: make(map[*Subscriber]struct{})}, nil
}

// New is [Open] followed by [Binder.Connect]: it fails when the broker
// cannot be reached.
func New(ctx context.Context, cfg Config) (*Binder, error) {
	b, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	if err := b.Connect(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Connect opens the binder's two connections if they are not open yet; it
// is idempotent and safe for concurrent use. A failed attempt can be
// repeated. The dial timeout is ctx's deadline, or 10 s. From then on each
// connection re-establishes itself when lost.
func (b *Binder) Connect(ctx context.Context) error {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.isClosed() {
		return ErrClosed
	}
	if b.pubConn != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rabbit: connect to %s: %w", b.host, err)
	}
	pub, err := b.connect(ctx, "publish")
	if err != nil {
		return err
	}
	sub, err := b.connect(ctx, "consume")
	if err != nil {
		pub.Close()
		return err
	}
	b.pubConn, b.subConn = pub, sub
	return nil
}

// connected returns the connections, or nil ones before Connect.
func (b *Binder) connected() (pub, sub *wamqp.ConnectionWrapper) {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	return b.pubConn, b.subConn
}

func (b *Binder) connect(ctx context.Context, role string) (*wamqp.ConnectionWrapper, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	c, err := wamqp.NewConnection(wamqp.ConnectionConfig{
		AmqpURI: b.cfg.URL,
		AmqpConfig: &amqp.Config{
			Heartbeat:  10 * time.Second,
			Locale:     "en_US",
			Dial:       amqp.DefaultDial(timeout),
			Properties: amqp.Table{"connection_name": "millstream " + role},
		},
		Reconnect: &wamqp.ReconnectConfig{
			BackoffInitialInterval:     100 * time.Millisecond,
			BackoffRandomizationFactor: 0.2,
			BackoffMultiplier:          2,
			BackoffMaxInterval:         5 * time.Second,
		},
	}, b.wlog)
	if err != nil {
		return nil, fmt.Errorf("rabbit: connect to %s: %w", b.host, err)
	}
	return c, nil
}

// Features implements [stream.Binder]: durable queues; no partitions in the
// Kafka sense (a queue with several consumers does not keep order) and no
// retention (a new group gets only what is sent after its queue exists).
func (b *Binder) Features() stream.Features {
	return stream.Features{Durable: true}
}

// Convention implements [stream.Binder]: cloudEvents:-prefixed headers, and
// datacontenttype as the AMQP content-type property.
func (b *Binder) Convention() cloudevent.Convention { return cloudevent.AMQP() }

// Publisher implements [stream.Binder]. It declares the destination's
// exchange now, so that groups can bind to it before anything is sent.
func (b *Binder) Publisher(ctx context.Context, p stream.Publication) (message.Publisher, error) {
	if p.Destination == "" {
		return nil, errors.New("rabbit: publisher: empty destination")
	}
	if err := b.Connect(ctx); err != nil {
		return nil, err
	}
	if err := b.withChannel(b.pubConn, func(ch *amqp.Channel) error { return declareExchange(ch, p.Destination) }); err != nil {
		return nil, err
	}
	return newPublisher(b, p.Destination)
}

// Subscriber implements [stream.Binder]. The topology ([SubscriptionTopology])
// is declared now, so that messages sent after Subscriber returns reach the
// group even before Subscribe is called.
func (b *Binder) Subscriber(ctx context.Context, s stream.Subscription) (message.Subscriber, error) {
	if s.Destination == "" || s.Group == "" {
		return nil, fmt.Errorf("rabbit: subscriber: destination %q and group %q must be set", s.Destination, s.Group)
	}
	if s.Properties.Concurrency == 0 {
		s.Properties = s.Properties.WithDefaults(s.Destination)
	}
	if err := b.Connect(ctx); err != nil {
		return nil, err
	}
	sub, err := newSubscriber(b, s) // network round trips: not under mu
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	closed := b.closed
	if !closed {
		b.subs[sub] = struct{}{}
	}
	b.mu.Unlock()
	if closed {
		sub.Close()
		return nil, ErrClosed
	}
	return sub, nil
}

func (b *Binder) forget(s *Subscriber) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Health implements [stream.HealthChecker]: it fails while either
// connection is down (and being re-established), and before the binder
// connected for the first time.
func (b *Binder) Health(context.Context) error {
	if b.isClosed() {
		return ErrClosed
	}
	pubConn, subConn := b.connected()
	if pubConn == nil {
		return fmt.Errorf("rabbit: not connected to %s yet", b.host)
	}
	var errs []error
	if !pubConn.IsConnected() {
		errs = append(errs, fmt.Errorf("rabbit: publishing connection to %s is down; reconnecting", b.host))
	}
	if !subConn.IsConnected() {
		errs = append(errs, fmt.Errorf("rabbit: consuming connection to %s is down; reconnecting", b.host))
	}
	return errors.Join(errs...)
}

// States of a connection in [Binder.HealthDetails].
const (
	StateConnected    = "connected"
	StateReconnecting = "reconnecting"
	StateNotConnected = "not connected" // before the binder's first use
	StateClosed       = "closed"
)

// HealthDetails implements [stream.HealthDetailer]: the broker's URL with
// the password redacted ("url"), and the state of the publishing and the
// consuming connection ("connections": {"publish": ..., "consume": ...}),
// each one of StateConnected, StateReconnecting (lost and being
// re-established), StateNotConnected or StateClosed.
func (b *Binder) HealthDetails(context.Context) map[string]any {
	closed := b.isClosed()
	pubConn, subConn := b.connected()
	state := func(c *wamqp.ConnectionWrapper) string {
		switch {
		case closed || c != nil && c.Closed():
			return StateClosed
		case c == nil:
			return StateNotConnected
		case c.IsConnected():
			return StateConnected
		default:
			return StateReconnecting
		}
	}
	return map[string]any{
		"url":         b.host,
		"connections": map[string]string{"publish": state(pubConn), "consume": state(subConn)},
	}
}

// Close implements [stream.Binder]: it closes subscribers still open, then
// both connections.
func (b *Binder) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*Subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	if pubConn, subConn := b.connected(); pubConn != nil {
		errs = append(errs, subConn.Close(), pubConn.Close())
	}
	return errors.Join(errs...)
}

func (b *Binder) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// withChannel runs f on a fresh channel of conn, waiting up to
// ReconnectWait for the connection.
func (b *Binder) withChannel(conn *wamqp.ConnectionWrapper, f func(*amqp.Channel) error) error {
	if err := b.awaitConnection(conn); err != nil {
		return err
	}
	ch, err := conn.Connection().Channel()
	if err != nil {
		return fmt.Errorf("rabbit: open channel to %s: %w", b.host, err)
	}
	defer ch.Close()
	return f(ch)
}

// awaitConnection waits up to ReconnectWait for conn to be connected.
func (b *Binder) awaitConnection(conn *wamqp.ConnectionWrapper) error {
	if conn.IsConnected() {
		return nil
	}
	deadline := time.Now().Add(b.cfg.ReconnectWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if conn.Closed() {
			return ErrClosed
		}
		if conn.IsConnected() {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
	}
	return fmt.Errorf("rabbit: not connected to %s after waiting %v (reconnect-wait)", b.host, b.cfg.ReconnectWait)
}

// redactedURL is the URL with its password, if any, replaced by "xxxxx".
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
