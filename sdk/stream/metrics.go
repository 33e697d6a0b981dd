package stream

import "time"

// Metrics receives counts and timings of each binding. Implementations must
// be safe for concurrent use and fast: they are called on every message. The
// actuator implements it with Prometheus; the default does nothing.
type Metrics interface {
	// MessageIn counts a message received by an input binding.
	MessageIn(binding string)
	// MessageOut counts a message sent by an output binding (or the Bridge,
	// under the destination's name).
	MessageOut(binding string)
	// HandlerError counts a failed handler attempt (each retry included).
	HandlerError(binding string)
	// Retry counts a retry of a message on an input binding.
	Retry(binding string)
	// DeadLetter counts a message sent to the dead-letter destination, or
	// dropped after its last attempt when dlq is off.
	DeadLetter(binding string)
	// HandlerDuration observes how long one handler attempt took.
	HandlerDuration(binding string, d time.Duration)
}

// NopMetrics is the Metrics that records nothing.
type NopMetrics struct{}

func (NopMetrics) MessageIn(string)                      {}
func (NopMetrics) MessageOut(string)                     {}
func (NopMetrics) HandlerError(string)                   {}
func (NopMetrics) Retry(string)                          {}
func (NopMetrics) DeadLetter(string)                     {}
func (NopMetrics) HandlerDuration(string, time.Duration) {}
