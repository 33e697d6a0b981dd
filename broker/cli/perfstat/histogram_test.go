package perfstat_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/cli/perfstat"
)

func TestQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h perfstat.Histogram
	var all []time.Duration
	for range 100000 {
		// Log-uniform from 1µs to 10s, like real latencies.
		d := time.Duration(math.Exp(rng.Float64()*math.Log(1e7)) * 1e3)
		h.Record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := all[int(math.Ceil(q*float64(len(all))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.01 {
			t.Errorf("Quantile(%v) = %v, exact %v: off by %.2f%%", q, got, exact, rel*100)
		}
	}
	if h.Max() != all[len(all)-1] || h.Min() != all[0] {
		t.Errorf("Min, Max = %v, %v; want %v, %v", h.Min(), h.Max(), all[0], all[len(all)-1])
	}
	if h.Count() != uint64(len(all)) {
		t.Errorf("Count = %d, want %d", h.Count(), len(all))
	}
}

func TestSmallValuesAreExact(t *testing.T) {
	var h perfstat.Histogram
	for i := range 100 {
		h.Record(time.Duration(i + 1))
	}
	if got := h.Quantile(0.5); got != 50 {
		t.Errorf("Quantile(0.5) of 1..100ns = %v, want 50ns", got)
	}
	if got := h.Mean(); got != 50 { // 50.5 truncated
		t.Errorf("Mean = %v, want 50ns", got)
	}
}

func TestMergeEqualsRecordingEverything(t *testing.T) {
	var a, b, all perfstat.Histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != all.Count() || a.Max() != all.Max() || a.Min() != all.Min() {
		t.Errorf("merged count/min/max = %d/%v/%v, want %d/%v/%v", a.Count(), a.Min(), a.Max(), all.Count(), all.Min(), all.Max())
	}
}

func TestEmptyHistogram(t *testing.T) {
	var h perfstat.Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Error("an empty histogram reports non-zero figures")
	}
	h.Record(-time.Second)
	if h.Max() != 0 {
		t.Errorf("a negative duration recorded as %v, want 0", h.Max())
	}
}

func TestPayloadsAreRandomAndSized(t *testing.T) {
	p := perfstat.NewPayloads(1024, 7)
	a, b := p.Next(), p.Next()
	if len(a) != 1024 || len(b) != 1024 {
		t.Fatalf("payload sizes %d, %d; want 1024", len(a), len(b))
	}
	if string(a) == string(b) {
		t.Error("two consecutive payloads are equal")
	}
	var zeros int
	for _, c := range a {
		if c == 0 {
			zeros++
		}
	}
	if zeros > 30 { // about 4 expected from random bytes
		t.Errorf("%d zero bytes in 1024: payload does not look random", zeros)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h perfstat.Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	ds := make([]time.Duration, 4096)
	for i := range ds {
		ds[i] = time.Duration(rng.Int64N(int64(time.Second)))
	}
	b.ResetTimer()
	for i := range b.N {
		h.Record(ds[i%len(ds)])
	}
}
