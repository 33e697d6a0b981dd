package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/storage"
)

// BenchmarkSyncLatency measures one producer that appends a batch of one
// 1 KiB record and waits for Sync before the next, as a one-at-a-time
// produce with acks=all does, and reports the latency percentiles of each
// append+sync. "File" is the floor: the same bytes written to a plain file
// and fsynced, with no Log around them. "Past64MiB" first fills the log
// beyond the bytes it keeps cached (cache.go), so every sync may also drop
// pages.
//
//	go test ./broker/storage -run '^$' -bench SyncLatency -benchtime 5000x
func BenchmarkSyncLatency(b *testing.B) {
	b.Run("File", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "plain"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		batches := benchBatches(b, 64, 1, 1024)
		lat := make([]time.Duration, 0, b.N)
		i := 0
		for b.Loop() {
			start := time.Now()
			if _, err := f.Write(batches[i%len(batches)]); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			i++
		}
		reportLatency(b, lat)
	})
	for _, bc := range []struct {
		name        string
		writeBehind bool
		fill        int // bytes appended and synced before the measurement
	}{
		{"Log", false, 0},
		{"Log/WriteBehind", true, 0},
		{"Log/WriteBehind/Past64MiB", true, 72 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := storage.Open(b.TempDir(), storage.Options{WriteBehind: bc.writeBehind})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			batches := benchBatches(b, 64, 1, 1024)
			ctx := context.Background()
			for n := 0; n < bc.fill; n += len(batches[0]) {
				if _, err := l.Append(batches[n%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := l.Sync(ctx, l.EndOffset()); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				start := time.Now()
				res, err := l.Append(batches[i%len(batches)])
				if err != nil {
					b.Fatal(err)
				}
				if err := l.Sync(ctx, res.LastOffset+1); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				i++
			}
			reportLatency(b, lat)
		})
	}
}

// reportLatency adds the p50, p99 and p99.9 of lat, in microseconds, to the
// benchmark's figures.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)]) / float64(time.Microsecond)
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(0.999), "p99.9-µs")
}
