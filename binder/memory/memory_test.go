package memory_test

import (
	"testing"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func TestConformance(t *testing.T) {
	b := memory.New()
	streamtest.TestBinder(t, streamtest.Features{Features: b.Features()}, func(testing.TB) stream.Binder {
		return memory.New()
	})
}
