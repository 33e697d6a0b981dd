package streamtest

import (
	"maps"
	"sync"
	"time"

	"github.com/millstream/millstream/sdk/stream"
)

// Metrics is a [stream.Metrics] that counts what the SDK reports, over all
// bindings, by kind: "in", "out", "errors", "retries", "dead" and
// "durations". Give it to an application with stream.WithMetrics to check
// that a message was retried or dead-lettered. The zero Metrics is ready.
type Metrics struct {
	mu sync.Mutex
	n  map[string]int
}

var _ stream.Metrics = (*Metrics)(nil)

func (m *Metrics) add(kind string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = map[string]int{}
	}
	m.n[kind]++
}

// Counts returns the counts so far, by kind (a kind not reported yet is
// absent).
func (m *Metrics) Counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := maps.Clone(m.n)
	if out == nil {
		out = map[string]int{}
	}
	return out
}

// MessageIn implements [stream.Metrics].
func (m *Metrics) MessageIn(string) { m.add("in") }

// MessageOut implements [stream.Metrics].
func (m *Metrics) MessageOut(string) { m.add("out") }

// HandlerError implements [stream.Metrics].
func (m *Metrics) HandlerError(string) { m.add("errors") }

// Retry implements [stream.Metrics].
func (m *Metrics) Retry(string) { m.add("retries") }

// DeadLetter implements [stream.Metrics].
func (m *Metrics) DeadLetter(string) { m.add("dead") }

// HandlerDuration implements [stream.Metrics].
func (m *Metrics) HandlerDuration(string, time.Duration) { m.add("durations") }
