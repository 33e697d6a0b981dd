package memory

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// publisher sends to one destination. Publish may name any destination;
// others are made on the fly.
type publisher struct {
	b *Binder
	t *topic

	// mu guards closed.
	mu     sync.Mutex
	closed bool
}

func (p *publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrClosed
	}
	t := p.t
	if topic != t.name {
		var err error
		if t, err = p.b.topic(topic, 1); err != nil {
			return err
		}
	}
	return t.append(msgs)
}

var _ stream.AsyncPublisher = (*publisher)(nil)

// PublishAsync implements [stream.AsyncPublisher]. An in-memory append
// cannot be batched, so it stores msg at once and then calls done.
func (p *publisher) PublishAsync(_ context.Context, topic string, msg *message.Message, done func(error)) {
	done(p.Publish(topic, msg))
}

func (p *publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// subscriber is one group's subscription; each Subscribe adds a member.
type subscriber struct {
	b *Binder
	t *topic
	s stream.Subscription
	g *group

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	// pause is shared by this subscriber's members.
	pause *pauseState

	// mu guards closed; wg counts this subscriber's members.
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Subscribe joins the group as a member and returns its messages. The
// channel closes when ctx is done or the subscriber is closed, after the
// message in hand (if any) was acked or nacked.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if topic != s.s.Destination {
		return nil, &topicError{want: s.s.Destination, got: topic}
	}
	m := &member{pause: s.pause}
	if parts := s.s.Partitions; parts != nil {
		m.allowed = func(part int) bool { return slices.Contains(parts, part) }
	} else if p := s.s.Properties; p.Partitioned && p.InstanceCount > 1 {
		count, index := p.InstanceCount, p.InstanceIndex
		m.allowed = func(part int) bool { return part%count == index }
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	out := make(chan *message.Message)
	s.t.addMember(s.g, m)
	s.wg.Add(1)
	s.b.members.Add(1)
	go func() {
		defer s.b.members.Done()
		defer s.wg.Done()
		defer close(out)
		defer stop()
		defer cancel()
		defer s.t.removeMember(s.g, m)
		s.deliver(ctx, m, out)
	}()
	return out, nil
}

// deliver is a member's loop: pick a message, hand it out, wait for the
// verdict, settle it.
func (s *subscriber) deliver(ctx context.Context, m *member, out chan<- *message.Message) {
	start := 0
	for {
		p, off, st, ok, wait, closed := s.t.pick(s.g, m, start)
		if closed {
			return
		}
		if !ok {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return
			}
		}
		start = p + 1 // take turns between partitions
		msg := message.NewMessage(st.uuid, slices.Clone(st.payload))
		msg.Metadata = make(message.Metadata, len(st.metadata)+1)
		maps.Copy(msg.Metadata, st.metadata)
		msg.Metadata[cloudevent.MetadataPartition] = strconv.Itoa(p)
		// The message's context ends with its verdict (Watermill's rule)
		// or with the subscription.
		// It carries a commit hold: an output the SDK queues for this
		// message that fails later rewinds the partition to it.
		msgCtx, cancel := context.WithCancel(ctx)
		heldCtx, hold := stream.WithCommitHold(msgCtx)
		msg.SetContext(heldCtx)
		select {
		case out <- msg:
			s.t.handed(m)
		case <-ctx.Done():
			s.t.handed(m)
			cancel()
			s.t.settle(s.g, p, off, false)
			return
		}
		acked := s.verdict(ctx, msg)
		cancel()
		s.t.settle(s.g, p, off, acked)
		if acked {
			hold.Settled(func(err error) {
				if err != nil {
					s.t.rewind(s.g, p, off)
				}
			})
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// verdict waits for msg to be acked (true) or nacked (false). Once ctx is
// done it waits up to the binder's drain timeout more, so that a handler
// finishing on shutdown still commits; past it, or when the binder closes,
// the message counts as not acked and comes again.
func (s *subscriber) verdict(ctx context.Context, msg *message.Message) bool {
	select {
	case <-msg.Acked():
		return true
	case <-msg.Nacked():
		return false
	case <-s.b.done:
		return false
	case <-ctx.Done():
	}
	timer := time.NewTimer(s.b.drain)
	defer timer.Stop()
	select {
	case <-msg.Acked():
		return true
	case <-msg.Nacked():
		return false
	case <-s.b.done:
		return false
	case <-timer.C:
		return false
	}
}

var _ stream.Pauser = (*subscriber)(nil)

// Pause implements [stream.Pauser]: this subscriber's members stop taking
// messages, keeping their partitions. It returns once no member has a
// message on its way to its channel; messages handed out before are settled
// as usual.
func (s *subscriber) Pause(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return s.t.pause(ctx, s.g, s.pause)
}

// Resume implements [stream.Pauser].
func (s *subscriber) Resume(context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	s.t.resume(s.pause)
	return nil
}

// Close ends every member, each after its message in hand is acked or
// nacked (or the drain timeout passes), and deletes an anonymous group.
func (s *subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.t.leave(s.g)
	return nil
}

type topicError struct{ want, got string }

func (e *topicError) Error() string {
	return "memory: subscriber of " + strconv.Quote(e.want) + " asked to subscribe to " + strconv.Quote(e.got)
}
