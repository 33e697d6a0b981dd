package rabbit_test

import (
	"testing"

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

func TestFeatures(t *testing.T) {
	if got := newBinder(t).Features(); got != features {
		t.Fatalf("Features() = %+v, want %+v", got, features)
	}
}
