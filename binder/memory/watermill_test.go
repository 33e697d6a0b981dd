package memory_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
)

// anySubscriber lets Watermill's suite, which subscribes to topics it makes
// up, use the binder: each Subscribe opens a subscriber of its own for the
// topic in one group.
type anySubscriber struct {
	b     *memory.Binder
	group string

	mu     sync.Mutex
	subs   []message.Subscriber
	closed bool
}

func (s *anySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("closed")
	}
	group, anonymous := s.group, false
	if group == "" {
		group, anonymous = "anonymous."+watermill.NewShortUUID(), true
	}
	sub, err := s.b.Subscriber(ctx, stream.Subscription{Destination: topic, Group: group, Anonymous: anonymous,
		StartOffset: stream.Earliest, Properties: stream.BindingProperties{}.WithDefaults(topic)})
	if err != nil {
		return nil, err
	}
	s.subs = append(s.subs, sub)
	return sub.Subscribe(ctx, topic)
}

func (s *anySubscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	subs := s.subs
	s.mu.Unlock()
	for _, sub := range subs {
		sub.Close()
	}
	return nil
}

type anyPublisher struct{ b *memory.Binder }

func (p anyPublisher) Publish(topic string, msgs ...*message.Message) error {
	pub, err := p.b.Publisher(context.Background(), stream.Publication{Destination: topic, Properties: stream.BindingProperties{}.WithDefaults(topic)})
	if err != nil {
		return err
	}
	return pub.Publish(topic, msgs...)
}

func (anyPublisher) Close() error { return nil }

// TestWatermillPubSub runs Watermill's own Pub/Sub suite on the binder's
// publishers and subscribers. The pairs of one test share a binder, as they
// would share a broker, so groups persist between subscribers.
func TestWatermillPubSub(t *testing.T) {
	if testing.Short() {
		t.Skip("Watermill's suite takes a while")
	}
	// One binder per test of the suite, as one broker would be.
	var mu sync.Mutex
	binders := map[string]*memory.Binder{}
	newPair := func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
		parts := strings.SplitN(t.Name(), "/", 4)
		key := strings.Join(parts[:min(len(parts), 3)], "/")
		mu.Lock()
		b, ok := binders[key]
		if !ok {
			b = memory.New(memory.WithDrainTimeout(100 * time.Millisecond))
			binders[key] = b
			t.Cleanup(func() { b.Close() })
		}
		mu.Unlock()
		return anyPublisher{b}, &anySubscriber{b: b, group: group}
	}
	tests.TestPubSub(t, tests.Features{
		ConsumerGroups:                   true,
		GuaranteedOrder:                  true,
		Persistent:                       true, // within one binder, shared by the test
		RequireSingleInstance:            true,
		NewSubscriberReceivesOldMessages: true,
	}, func(t *testing.T) (message.Publisher, message.Subscriber) {
		// Each subscriber without a named group is a group of its own, as
		// a new consumer group on Kafka.
		return newPair(t, "g-"+watermill.NewShortUUID())
	}, newPair)
}
