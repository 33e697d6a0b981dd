package rabbit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/stream"
)

var _ stream.AsyncPublisher = (*Publisher)(nil)

// asyncWindow is how many messages PublishAsync queues before it waits for
// the oldest to complete.
const asyncWindow = 1024

// Errors a PublishAsync completes with.
var (
	// errNotConfirmed: the broker nacked the message, or the channel closed
	// before its confirm came.
	errNotConfirmed = errors.New("not confirmed by the broker")
	// errEarlierFailed: a message queued before this one failed; this one
	// is failed too, so that nothing sent after a failed message is taken
	// as stored ahead of the failed one's next attempt.
	errEarlierFailed = errors.New("a message queued before it was not confirmed")
)

// asyncSender is the state of PublishAsync: one confirm-mode channel on
// the binder's publishing connection, on which every queued message is
// published in queuing order (AMQP keeps a channel's order, so messages of
// one routing key are stored in that order), and a goroutine that waits for
// the confirms in the same order and completes each message.
type asyncSender struct {
	// mu guards ch, closed and the sends to queue (so that the queue's
	// order is the publishing order).
	mu     sync.Mutex
	ch     *amqp.Channel
	closed bool
	queue  chan queued   // nil until the first PublishAsync
	ended  chan struct{} // closed when complete returns
	seq    atomic.Uint64 // sequence number of the last message queued
}

type queued struct {
	seq       uint64
	confirmed func() bool // waits for the broker's confirm; nil when err is set
	err       error
	id, topic string
	done      func(error)
}

// PublishAsync implements [stream.AsyncPublisher]: it publishes msg on the
// publisher's confirm channel and returns; done is called once the broker
// confirmed it, or with an error when it nacked it, the channel closed
// first, or a message queued earlier failed. Waiting for a lost connection
// (up to reconnect-wait) happens here, not in the background; a message
// whose confirm was lost is not sent again but failed, so that its input is
// delivered again.
func (p *Publisher) PublishAsync(ctx context.Context, topic string, msg *message.Message, done func(error)) {
	a := &p.async
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		done(fmt.Errorf("rabbit: publish %s to %s: %w", msg.UUID, topic, ErrClosed))
		return
	}
	if a.queue == nil {
		a.queue = make(chan queued, asyncWindow)
		a.ended = make(chan struct{})
		go complete(a.queue, &a.seq, a.ended)
	}
	q := queued{seq: a.seq.Add(1), id: msg.UUID, topic: topic, done: done}
	if topic == "" {
		q.err = errors.New("empty destination")
	} else {
		var dc *amqp.DeferredConfirmation
		if dc, q.err = p.sendAsync(ctx, topic, msg); q.err == nil {
			q.confirmed = dc.Wait
		}
	}
	a.queue <- q
	a.mu.Unlock()
}

// sendAsync publishes msg on the async channel, opening one when there is
// none or it closed. The caller holds a.mu.
func (p *Publisher) sendAsync(ctx context.Context, topic string, msg *message.Message) (*amqp.DeferredConfirmation, error) {
	a := &p.async
	pub, err := Marshaler{Transient: p.b.cfg.Transient}.Marshal(msg)
	if err != nil {
		return nil, err
	}
	key := RoutingKey(topic, msg)
	for attempt := 0; ; attempt++ {
		if a.ch == nil || a.ch.IsClosed() {
			a.ch = nil
			if err := p.b.awaitConnection(p.b.pubConn); err != nil {
				return nil, err
			}
			ch, err := p.b.pubConn.Connection().Channel()
			if err == nil {
				if err = ch.Confirm(false); err != nil {
					ch.Close()
				}
			}
			if err != nil {
				if attempt == 0 && connectionLost(err) {
					continue
				}
				return nil, fmt.Errorf("open confirm channel: %w", err)
			}
			a.ch = ch
		}
		dc, err := a.ch.PublishWithDeferredConfirmWithContext(ctx, topic, key, false, false, pub)
		if err == nil {
			return dc, nil
		}
		if attempt > 0 || !connectionLost(err) {
			return nil, err
		}
		a.ch.Close()
		a.ch = nil
	}
}

// complete completes the queued messages in order until queue closes.
// After a failure every message queued up to then fails too.
func complete(queue <-chan queued, seq *atomic.Uint64, ended chan<- struct{}) {
	defer close(ended)
	var failUpTo uint64
	for q := range queue {
		err := q.err
		if err == nil && !q.confirmed() {
			err = errNotConfirmed
		}
		if err == nil && q.seq <= failUpTo {
			err = errEarlierFailed
		}
		if err != nil {
			failUpTo = max(failUpTo, seq.Load())
			err = fmt.Errorf("rabbit: publish %s to %s: %w", q.id, q.topic, err)
		}
		q.done(err)
	}
}

// closeAsync refuses further PublishAsync calls and waits for the queued
// messages to complete.
func (p *Publisher) closeAsync() {
	a := &p.async
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	queue, ended := a.queue, a.ended
	a.mu.Unlock()
	if queue == nil {
		return
	}
	close(queue)
	<-ended
	a.mu.Lock()
	if a.ch != nil {
		a.ch.Close()
		a.ch = nil
	}
	a.mu.Unlock()
}
