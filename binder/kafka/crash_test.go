package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/sdk/stream"
)

// TestPipelinedCrashLosesNothing kills an application mid-stream (its
// producer closes with outputs in flight, its consumers stop without a last
// commit) while it publishes outputs asynchronously and commits inputs
// every 5 ms, then starts it again in the same group: every input's output
// exists. A commit that passed an output not yet stored would lose it.
func TestPipelinedCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash and restart under load: skipped with -short")
	}
	const n = 6000
	brokers := []string{brokertest.Start(t).Addr()}
	adm := admin(t, brokers)
	in, out := "words-"+watermill.NewShortUUID(), "upper-"+watermill.NewShortUUID()
	for _, topic := range []string{in, out} {
		if _, err := adm.CreateTopic(context.Background(), 4, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	var handled atomic.Int64
	// crashNow: half the inputs were handled; crashing: the crash begins.
	// Calls from three quarters on wait for the crash to begin, so that it
	// comes mid-stream however late the test goroutine runs.
	crashNow, crashing := make(chan struct{}), make(chan struct{})
	start := func() (*stream.App, *kafka.Binder) {
		kb, err := kafka.New(context.Background(), kafka.Config{Connection: kafka.Connection{Brokers: brokers},
			AutoCreateTopics: true, CommitInterval: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		app := stream.New(stream.Config{Application: "crash", Bindings: map[string]stream.BindingProperties{
			"upper-in-0":  {Destination: in, Group: "g", Concurrency: 4},
			"upper-out-0": {Destination: out, PartitionCount: 4},
		}}, stream.WithBinder("kafka", kb))
		if err := app.Register(stream.Function("upper", func(_ context.Context, s string) (string, error) {
			switch k := handled.Add(1); {
			case k == n/2:
				close(crashNow) // the test crashes the app while it goes on
			case k >= 3*n/4:
				<-crashing
			}
			return strings.ToUpper(s), nil
		})); err != nil {
			t.Fatal(err)
		}
		if err := app.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return app, kb
	}
	app, kb := start()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		id := watermill.NewUUID()
		recs[i] = &kgo.Record{Topic: in, Key: []byte(id[:8]), Value: fmt.Appendf(nil, "word-%05d", i), Headers: []kgo.RecordHeader{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte(id)},
			{Key: "ce_source", Value: []byte("test")}, {Key: "ce_type", Value: []byte("millstream.string")},
			{Key: "content-type", Value: []byte("text/plain")},
		}}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	outputs := func() int64 {
		ends, err := adm.ListEndOffsets(context.Background(), out)
		if err != nil {
			return 0
		}
		var total int64
		ends.Each(func(o kadm.ListedOffset) { total += max(o.Offset, 0) })
		return total
	}
	// Crash once half the inputs were handled.
	select {
	case <-crashNow:
	case <-time.After(waitFor):
		t.Fatalf("%d inputs handled before the deadline, want %d", handled.Load(), n/2)
	}
	close(crashing)
	kafka.Crash(kb)
	atCrash := outputs()
	app.Stop(context.Background()) // errors expected: its clients are gone
	if atCrash >= n {
		t.Fatalf("all %d outputs existed at the crash: nothing was mid-stream", atCrash)
	}
	committed := committedInputs(t, adm)
	t.Logf("at the crash: %d of %d outputs stored, %d inputs committed", atCrash, n, committed)
	if committed > atCrash {
		t.Fatalf("%d inputs committed but only %d outputs stored: a commit passed an unstored output", committed, atCrash)
	}

	app2, _ := start()
	defer app2.Stop(context.Background())
	// Every input's output, duplicates allowed.
	rd, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	seen := make(map[string]bool, n)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for len(seen) < n {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d inputs have an output after the restart", len(seen), n)
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	for i := range n {
		if w := fmt.Sprintf("WORD-%05d", i); !seen[w] {
			t.Fatalf("no output %s", w)
		}
	}
}

// committedInputs sums the offsets group g committed.
func committedInputs(t *testing.T, adm *kadm.Client) int64 {
	t.Helper()
	offs, err := adm.FetchOffsets(context.Background(), "g")
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += max(o.At, 0) })
	return committed
}
