package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/fx"

	"github.com/millstream/millstream/broker/brokertest"
)

var discard = slog.New(slog.DiscardHandler)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startApp(t *testing.T, opt fx.Option) {
	t.Helper()
	app := fx.New(opt, fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

// writeLines appends JSON log lines: n per (level, service) pair, and
// returns the expected counts.
func writeLines(t *testing.T, path string, n int) map[Key]int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[Key]int64{}
	for i := range n {
		for _, svc := range []string{"api", "billing", "search", "auth", "web"} {
			for _, lvl := range []string{"info", "warn", "error"} {
				fmt.Fprintf(f, `{"level":%q,"service":%q,"msg":"request %d"}`+"\n", lvl, svc, i)
				want[Key{lvl, svc}]++
			}
		}
	}
	fmt.Fprintln(f, "a line that is not JSON")
	want[Key{"unknown", "unknown"}]++
	return want
}

func TestShipAndAggregateOnMemory(t *testing.T) {
	t.Setenv("MILLSTREAM_DEFAULT_BINDER", "memory")
	path := filepath.Join(t.TempDir(), "app.jsonl")
	counts := newCounts()
	startApp(t, application(counts, path, discard))
	want := writeLines(t, path, 20)
	waitFor(t, "all lines counted", 10*time.Second, func() bool { return maps.Equal(counts.Snapshot(), want) })

	rec := httptest.NewRecorder()
	countsMux(counts).ServeHTTP(rec, httptest.NewRequest("GET", "/counts", nil))
	var rows []countRow
	if err := json.Unmarshal(rec.Body.Bytes(), &rows); err != nil || len(rows) != len(want) {
		t.Fatalf("GET /counts = %s (%v), want %d rows", rec.Body, err, len(want))
	}
	for _, r := range rows {
		if r.Count != want[r.Key] {
			t.Errorf("GET /counts row %+v, want count %d", r, want[r.Key])
		}
	}
}

// TestTwoAggregatorsShareTheWork runs a shipper-and-aggregator and a second
// aggregator in one group against a real broker: together they count every
// line exactly once, and both take part.
func TestTwoAggregatorsShareTheWork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	b := brokertest.Start(t)
	t.Setenv("MILLSTREAM_BINDERS_KAFKA_BROKERS", b.Addr())
	path := filepath.Join(t.TempDir(), "app.jsonl")
	one, two := newCounts(), newCounts()
	startApp(t, application(one, path, discard)) // creates logs with 4 partitions
	startApp(t, application(two, "", discard))

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	waitFor(t, "both aggregators in group aggregators", 20*time.Second, func() bool {
		gs, err := adm.DescribeGroups(context.Background(), "aggregators")
		if err != nil {
			return false
		}
		g := gs["aggregators"]
		return g.State == "Stable" && len(g.Members) == 2
	})

	want := writeLines(t, path, 40)
	var total int64
	for _, v := range want {
		total += v
	}
	sum := func() map[Key]int64 {
		s := one.Snapshot()
		for k, v := range two.Snapshot() {
			s[k] += v
		}
		return s
	}
	waitFor(t, "all lines counted", 20*time.Second, func() bool { return one.Total()+two.Total() >= total })
	if got := sum(); !maps.Equal(got, want) {
		t.Fatalf("counts of both instances = %v, want %v", got, want)
	}
	if one.Total() == 0 || two.Total() == 0 {
		t.Errorf("instance totals %d and %d: both should have a share", one.Total(), two.Total())
	}
	t.Logf("instance one counted %d lines, instance two %d", one.Total(), two.Total())
}
