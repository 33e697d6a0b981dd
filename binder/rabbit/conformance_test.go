package rabbit_test

import (
	"testing"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// RabbitMQ is durable (queues outlive the binder), has no partitions in the
// Kafka sense (members of a group take turns on one queue, so order holds
// only with one member) and no retention (a new group gets only what is
// sent after its queue exists).
var features = stream.Features{Durable: true}

func TestConformance(t *testing.T) {
	streamtest.TestBinder(t, streamtest.Features{Features: features}, func(t testing.TB) stream.Binder {
		return newBinder(t)
	})
}

// TestConformancePrefetch runs the suite again with prefetch 32, where a
// member hands out deliveries while earlier ones still wait for their
// outputs' confirms (their commit holds), and settles them in order.
func TestConformancePrefetch(t *testing.T) {
	streamtest.TestBinder(t, streamtest.Features{Features: features}, func(t testing.TB) stream.Binder {
		return newBinderWith(t, rabbit.Config{Prefetch: 32})
	})
}

func TestFeatures(t *testing.T) {
	if got := newBinder(t).Features(); got != features {
		t.Fatalf("Features() = %+v, want %+v", got, features)
	}
}
