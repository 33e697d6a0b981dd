// Package perfstat measures load tests: a latency histogram with bounded
// memory and relative error below 1%, a concurrency-safe recorder that also
// prints a progress line at an interval, and the summary every perf driver
// reports (as text, or as JSON for scripts).
//
// The `millstream perf` commands and the peer benchmark drivers in the bench
// module use it, so their figures are computed the same way.
package perfstat
