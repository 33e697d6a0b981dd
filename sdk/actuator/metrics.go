package actuator

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/millstream/millstream/sdk/stream"
)

// Metrics counts and times the messages of every binding in Prometheus
// metrics. It implements [stream.Metrics]: pass it to the application with
// stream.WithMetrics, and to [New] to serve it on GET /metrics.
//
// Every metric has a "binding" label: the binding's name, or for messages
// sent through the Bridge to a plain destination, the destination's name.
//
//	millstream_messages_in_total           messages received by input bindings
//	millstream_messages_out_total          messages sent by output bindings and the Bridge
//	millstream_handler_errors_total        failed handler attempts, each retry included
//	millstream_retries_total               retries of messages
//	millstream_dead_letters_total          messages given up on (dead-lettered or dropped)
//	millstream_handler_duration_seconds    time of each handler attempt (histogram)
//
// All six series of a binding appear, at zero, with its first recorded
// event. Recording costs about 100ns and no allocation per message
// (BenchmarkMetricsPerMessage). Metrics is safe for concurrent use.
type Metrics struct {
	// byBinding caches the series of each binding (string -> *series), so
	// that recording skips the label hashing of the vectors.
	byBinding sync.Map

	reg        *prometheus.Registry
	in, out    *prometheus.CounterVec
	errors     *prometheus.CounterVec
	retries    *prometheus.CounterVec
	deadLetter *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

var _ stream.Metrics = (*Metrics)(nil)

// DurationBuckets are the upper bounds, in seconds, of the handler duration
// histogram: 100µs to 10s.
var DurationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics makes the metrics in a registry of their own (never
// Prometheus' global one), which also holds the Go runtime and process
// collectors. Add your own collectors to [Metrics.Registry].
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	counter := func(name, help string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "millstream", Name: name, Help: help}, []string{"binding"})
		reg.MustRegister(c)
		return c
	}
	m := &Metrics{
		reg:        reg,
		in:         counter("messages_in_total", "Messages received by an input binding."),
		out:        counter("messages_out_total", "Messages sent by an output binding, or by the Bridge to a destination."),
		errors:     counter("handler_errors_total", "Failed handler attempts, each retry included."),
		retries:    counter("retries_total", "Retries of messages on an input binding."),
		deadLetter: counter("dead_letters_total", "Messages sent to the dead-letter destination, or dropped after their last attempt when dlq is off."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "millstream", Name: "handler_duration_seconds",
			Help: "Time of one handler attempt.", Buckets: DurationBuckets}, []string{"binding"}),
	}
	reg.MustRegister(m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry GET /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// series are the metrics of one binding.
type series struct {
	in, out, errors, retries, deadLetter prometheus.Counter
	duration                             prometheus.Observer
}

func (m *Metrics) of(binding string) *series {
	if s, ok := m.byBinding.Load(binding); ok {
		return s.(*series)
	}
	s := &series{
		in:         m.in.WithLabelValues(binding),
		out:        m.out.WithLabelValues(binding),
		errors:     m.errors.WithLabelValues(binding),
		retries:    m.retries.WithLabelValues(binding),
		deadLetter: m.deadLetter.WithLabelValues(binding),
		duration:   m.duration.WithLabelValues(binding),
	}
	got, _ := m.byBinding.LoadOrStore(binding, s)
	return got.(*series)
}

// MessageIn implements [stream.Metrics].
func (m *Metrics) MessageIn(binding string) { m.of(binding).in.Inc() }

// MessageOut implements [stream.Metrics].
func (m *Metrics) MessageOut(binding string) { m.of(binding).out.Inc() }

// HandlerError implements [stream.Metrics].
func (m *Metrics) HandlerError(binding string) { m.of(binding).errors.Inc() }

// Retry implements [stream.Metrics].
func (m *Metrics) Retry(binding string) { m.of(binding).retries.Inc() }

// DeadLetter implements [stream.Metrics].
func (m *Metrics) DeadLetter(binding string) { m.of(binding).deadLetter.Inc() }

// HandlerDuration implements [stream.Metrics].
func (m *Metrics) HandlerDuration(binding string, d time.Duration) {
	m.of(binding).duration.Observe(d.Seconds())
}
