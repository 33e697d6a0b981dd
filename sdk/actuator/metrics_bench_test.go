package actuator_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/millstream/millstream/sdk/actuator"
)

// BenchmarkMetricsPerMessage is what the SDK records for one message
// through a function binding: in, out and the handler duration.
func BenchmarkMetricsPerMessage(b *testing.B) {
	m := actuator.NewMetrics()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.MessageIn("uppercase-in-0")
			m.HandlerDuration("uppercase-in-0", 150*time.Microsecond)
			m.MessageOut("uppercase-out-0")
		}
	})
}

// BenchmarkMetricsManyBindings spreads the same work over 64 bindings.
func BenchmarkMetricsManyBindings(b *testing.B) {
	m := actuator.NewMetrics()
	names := make([]string, 64)
	for i := range names {
		names[i] = "fn" + strconv.Itoa(i) + "-in-0"
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n := names[i%len(names)]
		m.MessageIn(n)
		m.HandlerDuration(n, time.Millisecond)
		i++
	}
}
