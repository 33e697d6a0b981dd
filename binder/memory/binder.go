package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// Defaults of the [Option]s.
const (
	// DefaultRetention is the number of messages a partition keeps.
	DefaultRetention = 1 << 20
	// DefaultDrainTimeout is how long a closing subscription waits for the
	// message in hand to be settled.
	DefaultDrainTimeout = 30 * time.Second
)

// ErrClosed is returned by a closed binder, publisher or subscriber.
var ErrClosed = errors.New("memory: closed")

// Binder is the in-memory binder. The zero value is not usable; call [New].
type Binder struct {
	retention int
	drain     time.Duration

	// mu guards topics and closed. Lock order: Binder.mu before topic.mu.
	mu     sync.Mutex
	topics map[string]*topic
	closed bool

	// done is closed by Close: members stop waiting for acks.
	done chan struct{}
	// members counts running member goroutines; Close waits for them.
	members sync.WaitGroup
}

// Option configures a [Binder].
type Option func(*Binder)

// WithRetention sets how many messages each partition keeps (default
// [DefaultRetention]). Older messages are dropped; groups that had not read
// them skip them.
func WithRetention(n int) Option {
	return func(b *Binder) {
		if n > 0 {
			b.retention = n
		}
	}
}

// WithDrainTimeout sets how long a closing subscription waits for the
// message in hand to be acked or nacked (default [DefaultDrainTimeout]).
func WithDrainTimeout(d time.Duration) Option {
	return func(b *Binder) {
		if d > 0 {
			b.drain = d
		}
	}
}

// New returns an empty in-memory binder.
func New(opts ...Option) *Binder {
	b := &Binder{retention: DefaultRetention, drain: DefaultDrainTimeout, topics: make(map[string]*topic), done: make(chan struct{})}
	for _, o := range opts {
		o(b)
	}
	return b
}

var _ stream.Binder = (*Binder)(nil)

// Features implements [stream.Binder]: partitions and retention, not durable
// beyond the Binder's life.
func (b *Binder) Features() stream.Features {
	return stream.Features{Partitions: true, Retention: true}
}

// Convention implements [stream.Binder].
func (b *Binder) Convention() cloudevent.Convention { return cloudevent.Memory() }

// Publisher implements [stream.Binder].
func (b *Binder) Publisher(_ context.Context, p stream.Publication) (message.Publisher, error) {
	if p.Destination == "" {
		return nil, errors.New("memory: publisher: empty destination")
	}
	t, err := b.topic(p.Destination, p.Properties.PartitionCount)
	if err != nil {
		return nil, err
	}
	return &publisher{b: b, t: t}, nil
}

// Subscriber implements [stream.Binder]. The group is created now, so
// messages sent after Subscriber returns reach it even before Subscribe.
func (b *Binder) Subscriber(_ context.Context, s stream.Subscription) (message.Subscriber, error) {
	if s.Destination == "" || s.Group == "" {
		return nil, fmt.Errorf("memory: subscriber: destination %q and group %q must be set", s.Destination, s.Group)
	}
	t, err := b.topic(s.Destination, max(s.Properties.PartitionCount, s.Properties.Concurrency))
	if err != nil {
		return nil, err
	}
	sub := &subscriber{b: b, t: t, s: s, pause: &pauseState{}}
	sub.ctx, sub.cancel = context.WithCancel(context.Background())
	sub.g = t.join(s)
	return sub, nil
}

// Close implements [stream.Binder]: it drops every destination and waits for
// the delivery goroutines of subscribers still open.
func (b *Binder) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	topics := b.topics
	b.topics = nil
	b.mu.Unlock()
	for _, t := range topics {
		t.close()
	}
	b.members.Wait()
	return nil
}

// Destinations lists the destinations that exist, with their partition
// counts (for tests and diagnostics).
func (b *Binder) Destinations() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.topics))
	for n, t := range b.topics {
		out[n] = t.partitionCount()
	}
	return out
}

// topic returns the destination called name, made if needed, with at least
// partitions partitions.
func (b *Binder) topic(name string, partitions int) (*topic, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	t, ok := b.topics[name]
	if !ok {
		t = newTopic(name, b.retention)
		b.topics[name] = t
	}
	t.grow(max(partitions, 1))
	return t, nil
}
