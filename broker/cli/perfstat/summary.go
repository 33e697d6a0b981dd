package perfstat

import (
	"encoding/json"
	"fmt"
	"io"
)

// Summary is the result of one load test. Its JSON form is what --json
// prints and what scripts/bench-peers reads.
type Summary struct {
	// Tool names the driver ("millstream perf produce", "jsperf", ...).
	Tool string `json:"tool"`
	// Target is the address of the system under test.
	Target string `json:"target"`
	// Mode is "throughput" (many in flight) or "sync" (one at a time).
	Mode string `json:"mode"`
	// RecordSize is the payload size of each record in bytes.
	RecordSize int `json:"record_size"`

	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MiBPerSec     float64 `json:"mib_per_sec"`
	// Latency is from send to acknowledgement; nil for consumers.
	Latency *Latency `json:"latency_ms,omitempty"`
}

// Latency are the latency figures in milliseconds.
type Latency struct {
	Count  int64   `json:"count"`
	AvgMs  float64 `json:"avg"`
	P50Ms  float64 `json:"p50"`
	P99Ms  float64 `json:"p99"`
	P999Ms float64 `json:"p99_9"`
	MaxMs  float64 `json:"max"`
}

// WriteText writes the summary as one human-readable line, after the
// fashion of Kafka's perf tools.
func (s Summary) WriteText(w io.Writer, verb string) error {
	line := fmt.Sprintf("%d records %s in %.1f s, %.1f records/s (%.2f MiB/s)",
		s.Records, verb, s.Seconds, s.RecordsPerSec, s.MiBPerSec)
	if l := s.Latency; l != nil {
		line += fmt.Sprintf(", latency ms: avg %.3f, p50 %.3f, p99 %.3f, p99.9 %.3f, max %.3f",
			l.AvgMs, l.P50Ms, l.P99Ms, l.P999Ms, l.MaxMs)
	}
	if s.Errors > 0 {
		line += fmt.Sprintf("; %d errors, first: %s", s.Errors, s.FirstError)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// WriteJSON writes the summary as one JSON object and a newline.
func (s Summary) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("perfstat: encode summary: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
