package memory_test

import (
	"testing"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func TestConformance(t *testing.T) {
	features := streamtest.Features{
		Features: stream.Features{Partitions: true, Retention: true}, // not Durable: state dies with the Binder
	}
	streamtest.TestBinder(t, features, func(testing.TB) stream.Binder {
		return memory.New()
	})
}

func TestFeatures(t *testing.T) {
	if got, want := memory.New().Features(), (stream.Features{Partitions: true, Retention: true}); got != want {
		t.Fatalf("Features() = %+v, want %+v", got, want)
	}
}
