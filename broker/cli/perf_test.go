package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/cli"
	"github.com/millstream/millstream/broker/cli/perfstat"
)

func TestPerfProduceThenConsume(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	ctx := testContext(t)
	newClient := func(ctx context.Context) (*kgo.Client, error) {
		return cli.ConnOptions{Bootstrap: []string{b.Addr()}}.NewClient(ctx, kgo.DisableIdempotentWrite())
	}
	var progress bytes.Buffer
	s, err := cli.PerfProduce(ctx, newClient, &progress, cli.PerfProduceOptions{
		Topic: "perf", RecordSize: 100, NumRecords: 3000, Producers: 2, Partitions: 2,
	})
	if err != nil {
		t.Fatalf("PerfProduce: %v", err)
	}
	if s.Records != 3000 || s.Bytes != 300000 || s.Errors != 0 || s.Mode != "throughput" {
		t.Errorf("PerfProduce summary = %+v, want 3000 records of 100 bytes, no errors", s)
	}
	if s.Latency == nil || s.Latency.Count != 3000 || s.Latency.P50Ms <= 0 || s.Latency.P99Ms < s.Latency.P50Ms || s.Latency.MaxMs < s.Latency.P99Ms {
		t.Errorf("PerfProduce latency = %+v, want 3000 ordered, positive figures", s.Latency)
	}
	if !strings.Contains(progress.String(), `created topic "perf" with 2 partitions`) {
		t.Errorf("progress = %q, want the topic creation", progress.String())
	}

	s, err = cli.PerfProduce(ctx, newClient, nil, cli.PerfProduceOptions{Topic: "perf", RecordSize: 100, NumRecords: 50, Sync: true})
	if err != nil || s.Records != 50 || s.Mode != "sync" || s.Latency == nil || s.Latency.Count != 50 {
		t.Errorf("PerfProduce(sync) = %+v, %v; want 50 records with latencies", s, err)
	}

	o := cli.PerfConsumeOptions{Topic: "perf", NumRecords: 3050, IdleTimeout: 5 * time.Second}
	cl := connect(t, b.Addr(), o.ClientOpts()...)
	s, err = cli.PerfConsume(ctx, cl, nil, o)
	if err != nil {
		t.Fatalf("PerfConsume: %v", err)
	}
	if s.Records != 3050 || s.Bytes != 305000 {
		t.Errorf("PerfConsume read %d records, %d bytes; want 3050, 305000", s.Records, s.Bytes)
	}
}

func TestPerfProduceCommandJSON(t *testing.T) {
	b := brokertest.Start(t)
	out, stderr, err := run(t, "", "perf", "produce", "-b", b.Addr(), "--topic", "p", "--num-records", "500",
		"--record-size", "64", "--json", "--progress-interval", "0")
	if err != nil {
		t.Fatalf("perf produce: %v (stderr %q)", err, stderr)
	}
	var s perfstat.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("perf produce --json printed %q: %v", out, err)
	}
	if s.Records != 500 || s.RecordSize != 64 || s.Target != b.Addr() || s.Latency == nil {
		t.Errorf("summary = %+v, want 500 records of 64 bytes sent to %s with latency", s, b.Addr())
	}
	if _, _, err := run(t, "", "perf", "produce", "-b", b.Addr(), "--topic", "p"); err == nil ||
		!strings.Contains(err.Error(), "--num-records or --duration") {
		t.Errorf("perf produce without a limit = %v, want a refusal", err)
	}
}

// TestPerfProduceEndsWhenBrokerGoesAway: when the broker stops in the
// middle of a run, perf produce still ends (a record not acknowledged
// within --timeout counts as an error) and reports the failures, where the
// client alone would retry the records it holds forever.
func TestPerfProduceEndsWhenBrokerGoesAway(t *testing.T) {
	b := brokertest.Start(t)
	type result struct {
		out, stderr string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		out, stderr, err := run(t, "", "perf", "produce", "-b", b.Addr(), "--topic", "gone", "--duration", "3s",
			"--timeout", "2s", "--record-size", "512", "--json", "--progress-interval", "0")
		done <- result{out, stderr, err}
	}()
	// Let records flow first (the test holds wherever the stop lands, but a
	// stop before the first record is stored proves less).
	adm := kadm.NewClient(connect(t, b.Addr(), kgo.MetadataMinAge(10*time.Millisecond)))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ends, err := adm.ListEndOffsets(context.Background(), "gone")
		if err == nil && ends.Error() == nil {
			var stored int64
			ends.Each(func(o kadm.ListedOffset) { stored += o.Offset })
			if stored > 0 {
				break
			}
		}
	}
	b.Close()
	select {
	case r := <-done:
		if r.err == nil || !strings.Contains(r.err.Error(), "records failed") {
			// Stopped before the topic was made: a clear error is right too.
			if r.err != nil && strings.Contains(r.err.Error(), "perf produce:") {
				t.Skipf("the broker stopped before the run began: %v", r.err)
			}
			t.Fatalf("perf produce = %v (stderr %q), want an error counting the records that failed", r.err, r.stderr)
		}
		var s perfstat.Summary
		if err := json.Unmarshal([]byte(r.out), &s); err != nil {
			t.Fatalf("perf produce --json printed %q (stderr %q): %v", r.out, r.stderr, err)
		}
		if s.Errors == 0 || s.FirstError == "" || s.Records == 0 {
			t.Errorf("summary = %+v, want the records sent before the stop and those never acknowledged after it", s)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("perf produce did not end within 2 minutes of its 3s run after the broker stopped")
	}
}
