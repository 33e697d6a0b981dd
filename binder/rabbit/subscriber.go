package rabbit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/stream"
)

var _ stream.Pauser = (*Subscriber)(nil)

// Subscriber consumes one subscription's queue. Each Subscribe call is one
// more member: a consumer on its own channel with basic.qos prefetch
// (Config.Prefetch), so members share the queue's messages.
//
// A member hands out one message and waits for its Ack or Nack before the
// next. With prefetch above 1 each message carries a [stream.CommitHold]:
// an acked message whose outputs the SDK is still sending keeps its
// delivery unacknowledged until they are confirmed, while the member hands
// out the next delivery of its prefetch. Deliveries are settled in the order they were handed out: a
// basic.ack once a message and every one before it are done; when an
// output failed or the SDK nacked a message, a basic.nack with requeue of
// it and of every later one in hand, after which the member consumes again
// on a new channel (closing the old one requeues what it had prefetched),
// so the requeued messages come again in their order.
//
// Close stops handing out messages and waits up to close-timeout for those
// in hand, and their outputs, to be settled; an Ack after Close therefore
// still counts. An anonymous subscription's queue is deleted on Close.
//
// After a lost connection each member declares the topology again (the
// exclusive queue of an anonymous subscription died with the connection)
// and resumes; messages that were unacked are redelivered by the broker.
type Subscriber struct {
	b    *Binder
	sub  stream.Subscription
	topo Topology

	// mu guards closed.
	mu     sync.Mutex
	closed bool

	gate    *stream.PauseGate
	stop    chan struct{} // closed by Close: hand out nothing more
	abandon chan struct{} // closed when close-timeout passed
	members sync.WaitGroup
}

// Why a delivery is requeued.
var (
	errNacked     = errors.New("rabbit: message nacked")
	errNotHandled = errors.New("rabbit: message not handed out")
)

func newSubscriber(b *Binder, s stream.Subscription) (*Subscriber, error) {
	topo := SubscriptionTopology(s)
	if err := b.withChannel(b.subConn, topo.Declare); err != nil {
		return nil, fmt.Errorf("rabbit: subscribe %s (group %s): %w", s.Destination, s.Group, err)
	}
	return &Subscriber{b: b, sub: s, topo: topo, gate: stream.NewPauseGate(), stop: make(chan struct{}), abandon: make(chan struct{})}, nil
}

// Topology is what the subscriber declared.
func (s *Subscriber) Topology() Topology { return s.topo }

// Subscribe implements message.Subscriber: it adds a member. topic must be
// the subscription's destination. The channel closes when ctx ends or the
// subscriber closes.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic != s.sub.Destination {
		return nil, fmt.Errorf("rabbit: subscribe %q: this subscriber reads %q", topic, s.sub.Destination)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	var first *consumer
	if !s.Paused() {
		var err error
		if first, err = s.consume(); err != nil {
			return nil, err
		}
	}
	out := make(chan *message.Message)
	s.members.Add(1)
	go s.member(ctx, first, out)
	return out, nil
}

// consumer is one AMQP consumer of a member: its channel, and the
// goroutine (settle) that acks or nacks its deliveries in handing order.
type consumer struct {
	ch         *amqp.Channel
	deliveries <-chan amqp.Delivery
	held       chan heldDelivery // handed out and acked or nacked, in order
	failed     chan struct{}     // closed by settle when it requeued one
	settled    chan struct{}     // closed when settle returns
}

// heldDelivery is a delivery whose outcome (nil: its outputs are stored)
// arrives on outcome, once.
type heldDelivery struct {
	tag     uint64
	outcome chan error
}

// consume opens a channel, declares the topology on it and starts a
// consumer.
func (s *Subscriber) consume() (*consumer, error) {
	if err := s.b.awaitConnection(s.b.subConn); err != nil {
		return nil, err
	}
	ch, err := s.b.subConn.Connection().Channel()
	if err != nil {
		return nil, fmt.Errorf("rabbit: consume %s: open channel: %w", s.topo.Queue, err)
	}
	if err := ch.Qos(s.b.cfg.Prefetch, 0, false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("rabbit: consume %s: qos: %w", s.topo.Queue, err)
	}
	if err := s.topo.Declare(ch); err != nil {
		ch.Close()
		return nil, err
	}
	ds, err := ch.Consume(s.topo.Queue, "", false, false, false, false, nil)
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("rabbit: consume %s: %w", s.topo.Queue, err)
	}
	c := &consumer{ch: ch, deliveries: ds, held: make(chan heldDelivery, asyncWindow),
		failed: make(chan struct{}), settled: make(chan struct{})}
	go c.settle(s.abandon)
	return c, nil
}

// settle acks the held deliveries in order as their outcomes arrive; from
// the first failed one on it nacks them with requeue. It returns when held
// closes, or when abandon does (closing the channel then requeues the
// rest).
func (c *consumer) settle(abandon <-chan struct{}) {
	defer close(c.settled)
	failed := false
	for h := range c.held {
		var err error
		select {
		case err = <-h.outcome:
		case <-abandon:
			return
		}
		if err == nil && !failed {
			c.ch.Ack(h.tag, false) // an error: the channel is gone and the broker requeues
			continue
		}
		if !failed {
			failed = true
			close(c.failed)
		}
		c.ch.Nack(h.tag, false, true)
	}
}

// close waits for the held deliveries to be settled (or abandoned) and
// closes the channel, which requeues what was prefetched.
func (c *consumer) close() {
	close(c.held)
	<-c.settled
	c.ch.Close()
}

// member runs one member: it relays from a consumer, ends the consumer
// while the subscriber is paused, after a failed message and after a lost
// connection, and starts a new one when it may consume again. c is the
// first consumer (nil when the member starts paused).
func (s *Subscriber) member(ctx context.Context, c *consumer, out chan<- *message.Message) {
	defer s.members.Done()
	defer close(out)
	for {
		for c == nil {
			select {
			case <-s.gate.Wait():
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			}
			var err error
			if c, err = s.consume(); err != nil {
				s.b.log.Error("rabbit: cannot consume; trying again", "queue", s.topo.Queue, "error", err)
				select {
				case <-time.After(time.Second):
				case <-s.stop:
					return
				case <-ctx.Done():
					return
				}
			}
		}
		stopped := s.relay(ctx, c, out)
		c.close()
		if stopped {
			return
		}
		c = nil
	}
}

// relay passes deliveries of c to the caller, one at a time, and queues
// each for settling once the caller acked or nacked it. It returns true
// when the member is to stop, false when it is to consume again (paused, a
// message failed, or the channel closed).
func (s *Subscriber) relay(ctx context.Context, c *consumer, out chan<- *message.Message) (stopped bool) {
	marshaler := Marshaler{Transient: s.b.cfg.Transient}
	for {
		shut, ok := s.gate.Enter()
		if !ok {
			return false
		}
		var d amqp.Delivery
		select {
		case <-s.stop:
			s.gate.Leave()
			return true
		case <-ctx.Done():
			s.gate.Leave()
			return true
		case <-shut:
			s.gate.Leave()
			return false
		case <-c.failed:
			s.gate.Leave()
			return false
		case d, ok = <-c.deliveries:
			if !ok {
				s.gate.Leave()
				return false
			}
		}
		h := heldDelivery{tag: d.DeliveryTag, outcome: make(chan error, 1)}
		m, err := marshaler.Unmarshal(d)
		if err != nil {
			s.gate.Leave()
			s.b.log.Error("rabbit: unreadable message; rejected (dead-lettered)", "queue", s.topo.Queue, "error", err)
			c.ch.Nack(d.DeliveryTag, false, false)
			continue
		}
		// With prefetch 1 the broker sends the next delivery only after
		// this one's ack, so a hold could not overlap anything: the SDK
		// then sends outputs synchronously, over the publisher's pool of
		// channels.
		var hold *stream.CommitHold
		if s.b.cfg.Prefetch > 1 {
			var hctx context.Context
			hctx, hold = stream.WithCommitHold(ctx)
			m.SetContext(hctx)
		} else {
			m.SetContext(ctx)
		}
		select {
		case out <- m:
		case <-s.stop:
			s.gate.Leave()
			h.outcome <- errNotHandled
			s.hold(c, h)
			return true
		case <-ctx.Done():
			s.gate.Leave()
			h.outcome <- errNotHandled
			s.hold(c, h)
			return true
		case <-shut:
			s.gate.Leave()
			h.outcome <- errNotHandled
			s.hold(c, h)
			return false
		case <-c.failed:
			// An earlier message failed: m comes again after it.
			s.gate.Leave()
			h.outcome <- errNotHandled
			s.hold(c, h)
			return false
		}
		s.gate.Leave()
		select {
		case <-m.Acked():
			if hold == nil {
				h.outcome <- nil
			} else {
				hold.Settled(func(err error) { h.outcome <- err })
			}
		case <-m.Nacked():
			h.outcome <- errNacked
		case <-s.abandon:
			return true
		}
		if !s.hold(c, h) {
			return true
		}
	}
}

// hold queues h for settling; false when close-timeout passed first.
func (s *Subscriber) hold(c *consumer, h heldDelivery) bool {
	select {
	case c.held <- h:
		return true
	case <-s.abandon:
		return false
	}
}

// Close implements message.Subscriber.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	timer := time.AfterFunc(s.b.cfg.CloseTimeout, func() { close(s.abandon) })
	s.members.Wait()
	timer.Stop()
	var err error
	if !s.topo.Durable && s.b.subConn.IsConnected() {
		derr := s.b.withChannel(s.b.subConn, func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(s.topo.Queue, false, false, false)
			return err
		})
		if derr != nil && !errors.Is(derr, amqp.ErrClosed) {
			err = fmt.Errorf("rabbit: delete anonymous queue %s: %w", s.topo.Queue, derr)
		}
	}
	s.b.forget(s)
	if err != nil {
		return fmt.Errorf("rabbit: close subscriber of %s: %w", s.topo.Queue, err)
	}
	return nil
}
