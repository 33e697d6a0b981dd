package rabbit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/stream"
)

var _ stream.Pauser = (*Subscriber)(nil)

// Subscriber consumes one subscription's queue. Each Subscribe call is one
// more member: a consumer on its own channel with basic.qos prefetch
// (Config.Prefetch), so members share the queue's messages.
//
// A member hands out one message and waits for its Ack (basic.ack) or Nack
// (basic.nack with requeue) before the next. Close stops handing out
// messages and waits up to close-timeout for those in hand to be settled;
// an Ack after Close therefore still counts. An anonymous subscription's
// queue is deleted on Close.
//
// After a lost connection each member declares the topology again (the
// exclusive queue of an anonymous subscription died with the connection)
// and resumes; messages that were unacked are redelivered by the broker.
type Subscriber struct {
	b     *Binder
	sub   stream.Subscription
	topo  Topology
	inner *wamqp.Subscriber

	// mu guards closed.
	mu     sync.Mutex
	closed bool

	gate    *stream.PauseGate
	stop    chan struct{} // closed by Close: hand out nothing more
	abandon chan struct{} // closed when close-timeout passed
	members sync.WaitGroup
}

func newSubscriber(b *Binder, s stream.Subscription) (*Subscriber, error) {
	topo := SubscriptionTopology(s)
	cfg := wamqp.Config{
		Connection: wamqp.ConnectionConfig{AmqpURI: b.cfg.URL},
		Marshaler:  Marshaler{Transient: b.cfg.Transient},
		Exchange: wamqp.ExchangeConfig{
			GenerateName: func(string) string { return topo.Exchange },
			Type:         ExchangeType,
			Durable:      true,
		},
		Queue: wamqp.QueueConfig{
			GenerateName: func(string) string { return topo.Queue },
			Durable:      topo.Durable,
			AutoDelete:   !topo.Durable,
			Exclusive:    !topo.Durable,
		},
		QueueBind:       wamqp.QueueBindConfig{GenerateRoutingKey: func(string) string { return "#" }},
		Consume:         wamqp.ConsumeConfig{Qos: wamqp.QosConfig{PrefetchCount: b.cfg.Prefetch}},
		TopologyBuilder: topologyBuilder{t: topo},
	}
	if err := b.awaitConnection(b.subConn); err != nil {
		return nil, err
	}
	inner, err := wamqp.NewSubscriberWithConnection(cfg, b.wlog, b.subConn)
	if err != nil {
		return nil, fmt.Errorf("rabbit: subscriber for %s: %w", topo.Queue, err)
	}
	if err := inner.SubscribeInitialize(s.Destination); err != nil {
		inner.Close()
		return nil, fmt.Errorf("rabbit: subscribe %s (group %s): %w", s.Destination, s.Group, err)
	}
	return &Subscriber{b: b, sub: s, topo: topo, inner: inner, gate: stream.NewPauseGate(), stop: make(chan struct{}), abandon: make(chan struct{})}, nil
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
	var first <-chan *message.Message
	var cancel context.CancelFunc
	if !s.Paused() {
		var err error
		if first, cancel, err = s.consume(ctx); err != nil {
			return nil, err
		}
	}
	out := make(chan *message.Message)
	s.members.Add(1)
	go s.member(ctx, first, cancel, out)
	return out, nil
}

// consume starts a watermill-amqp consumer; cancel ends it.
func (s *Subscriber) consume(ctx context.Context) (<-chan *message.Message, context.CancelFunc, error) {
	if err := s.b.awaitConnection(s.b.subConn); err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	in, err := s.inner.Subscribe(cctx, s.sub.Destination)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("rabbit: subscribe %s (queue %s): %w", s.sub.Destination, s.topo.Queue, err)
	}
	return in, cancel, nil
}

// member runs one member: it relays from a consumer, ends the consumer
// while the subscriber is paused and starts a new one on resume. in is the
// first consumer (nil when the member starts paused).
func (s *Subscriber) member(ctx context.Context, in <-chan *message.Message, cancel context.CancelFunc, out chan<- *message.Message) {
	defer s.members.Done()
	defer close(out)
	for {
		if in == nil {
			select {
			case <-s.gate.Wait():
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			}
			var err error
			if in, cancel, err = s.consume(ctx); err != nil {
				s.b.log.Error("rabbit: cannot consume again after a resume; the member stops",
					"queue", s.topo.Queue, "error", err)
				return
			}
		}
		paused := s.relay(in, out)
		cancel()
		if !paused {
			return
		}
		// The consumer may still be handing out a message it had taken:
		// give each back until it has stopped. Its channel's close
		// requeues the rest of its prefetch.
		for m := range in {
			m.Nack()
		}
		in = nil
	}
}

// relay passes messages from watermill-amqp to the caller, and waits for
// each to be settled, so that Close can wait for what is in hand. It
// returns true when the subscriber was paused, false when it stopped.
func (s *Subscriber) relay(in <-chan *message.Message, out chan<- *message.Message) (paused bool) {
	for {
		shut, ok := s.gate.Enter()
		if !ok {
			return true
		}
		select {
		case <-s.stop:
			s.gate.Leave()
			return false
		case <-shut:
			s.gate.Leave()
			return true
		case m, ok := <-in:
			if !ok {
				s.gate.Leave()
				return false
			}
			select {
			case out <- m:
			case <-s.stop:
				m.Nack()
				s.gate.Leave()
				return false
			case <-shut:
				m.Nack()
				s.gate.Leave()
				return true
			}
			s.gate.Leave()
			select {
			case <-m.Acked():
			case <-m.Nacked():
			case <-s.abandon:
				return false
			}
		}
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
	err := s.inner.Close()
	if !s.topo.Durable && s.b.subConn.IsConnected() {
		derr := s.b.withChannel(s.b.subConn, func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(s.topo.Queue, false, false, false)
			return err
		})
		if derr != nil && !errors.Is(derr, amqp.ErrClosed) {
			err = errors.Join(err, fmt.Errorf("rabbit: delete anonymous queue %s: %w", s.topo.Queue, derr))
		}
	}
	s.b.forget(s)
	if err != nil {
		return fmt.Errorf("rabbit: close subscriber of %s: %w", s.topo.Queue, err)
	}
	return nil
}
