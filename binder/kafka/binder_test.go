package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func newBinder(t testing.TB, cfg kafka.Config) *kafka.Binder {
	t.Helper()
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = time.Second
	}
	cfg.CommitInterval = 50 * time.Millisecond
	cfg.NackResendDelay = time.Millisecond
	b, err := kafka.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBinderConformance runs the SDK's binder conformance suite against a
// cluster (the bundled broker, or MILLSTREAM_KAFKA_TEST_BROKERS).
func TestBinderConformance(t *testing.T) {
	// One cluster per test: the suite's restart test makes two binders
	// in one test, and they must meet the same data.
	var mu sync.Mutex
	clusters := map[string][]string{}
	streamtest.TestBinder(t, streamtest.Features{Features: stream.Features{Durable: true, Partitions: true, Retention: true}},
		func(t testing.TB) stream.Binder {
			mu.Lock()
			brokers, ok := clusters[t.Name()]
			if !ok {
				brokers = testBrokers(t)
				clusters[t.Name()] = brokers
			}
			mu.Unlock()
			return newBinder(t, kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
		})
}
