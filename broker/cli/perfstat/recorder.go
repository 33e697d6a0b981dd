package perfstat

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Recorder collects the outcome of every operation of a load test from
// any number of goroutines, and can print progress while the test runs.
type Recorder struct {
	start time.Time

	// mu guards everything below.
	mu       sync.Mutex
	total    Histogram
	window   Histogram
	records  int64
	bytes    int64
	errors   int64
	firstErr error
	wRecords int64
	wBytes   int64
	wStart   time.Time
	end      time.Time
}

// NewRecorder starts the clock of a test.
func NewRecorder() *Recorder {
	now := time.Now()
	return &Recorder{start: now, wStart: now}
}

// Done records one successful operation of n records and size bytes that
// took latency.
func (r *Recorder) Done(n, size int64, latency time.Duration) {
	r.mu.Lock()
	r.total.Record(latency)
	r.window.Record(latency)
	r.records += n
	r.bytes += size
	r.wRecords += n
	r.wBytes += size
	r.mu.Unlock()
}

// DoneNoLatency records records that carry no latency measure (a consumer's).
func (r *Recorder) DoneNoLatency(n, size int64) {
	r.mu.Lock()
	r.records += n
	r.bytes += size
	r.wRecords += n
	r.wBytes += size
	r.mu.Unlock()
}

// Failed records a failed operation; the first error is kept.
func (r *Recorder) Failed(err error) {
	r.mu.Lock()
	r.errors++
	if r.firstErr == nil {
		r.firstErr = err
	}
	r.mu.Unlock()
}

// Records is the count of successful records so far.
func (r *Recorder) Records() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.records
}

// Errors is the count of failures so far and the first failure.
func (r *Recorder) Errors() (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errors, r.firstErr
}

// Stop fixes the end of the measured interval; Summary uses it.
func (r *Recorder) Stop() {
	r.mu.Lock()
	if r.end.IsZero() {
		r.end = time.Now()
	}
	r.mu.Unlock()
}

// Progress prints a line about the interval since the previous line every
// interval until ctx ends. Run it on its own goroutine; it returns when ctx
// ends.
func (r *Recorder) Progress(ctx context.Context, w io.Writer, interval time.Duration, verb string) {
	if interval <= 0 || w == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			secs := now.Sub(r.wStart).Seconds()
			line := fmt.Sprintf("%d records %s, %.1f records/s (%.2f MiB/s)",
				r.wRecords, verb, float64(r.wRecords)/secs, float64(r.wBytes)/secs/(1<<20))
			if r.window.Count() > 0 {
				line += fmt.Sprintf(", %.2f ms avg latency, %.2f ms max latency",
					ms(r.window.Mean()), ms(r.window.Max()))
			}
			if r.errors > 0 {
				line += fmt.Sprintf(", %d errors so far", r.errors)
			}
			r.window = Histogram{counts: r.window.counts}
			clear(r.window.counts)
			r.wRecords, r.wBytes, r.wStart = 0, 0, now
			r.mu.Unlock()
			fmt.Fprintln(w, line)
		}
	}
}

// Summary computes the figures of the whole test so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.end
	if end.IsZero() {
		end = time.Now()
	}
	secs := end.Sub(r.start).Seconds()
	s := Summary{
		Records: r.records,
		Bytes:   r.bytes,
		Errors:  r.errors,
		Seconds: secs,
	}
	if secs > 0 {
		s.RecordsPerSec = float64(r.records) / secs
		s.MiBPerSec = float64(r.bytes) / secs / (1 << 20)
	}
	if r.firstErr != nil {
		s.FirstError = r.firstErr.Error()
	}
	if r.total.Count() > 0 {
		s.Latency = &Latency{
			Count:  int64(r.total.Count()),
			AvgMs:  ms(r.total.Mean()),
			P50Ms:  ms(r.total.Quantile(0.50)),
			P99Ms:  ms(r.total.Quantile(0.99)),
			P999Ms: ms(r.total.Quantile(0.999)),
			MaxMs:  ms(r.total.Max()),
		}
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
