package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

const benchPayloadSize = 256

// slowRecords bounds the backlog of BenchmarkUppercase's one-message-at-a-
// time loops (the SDK publishing synchronously, the serial bare loop).
const slowRecords = 20_000

// Input shapes: what the benchmark's records carry besides a random
// lower-case payload.
const (
	// minimalInput: a CloudEvent in the Kafka binding with the required
	// attributes, a content type and a key, as a producer that is not a
	// Millstream application writes one.
	minimalInput = "minimal"
	// millstreamInput: a CloudEvent as a Millstream application writes one
	// (samples/uppercase's own output): the required attributes, time,
	// content type, traceparent and correlation id, no key.
	millstreamInput = "millstream"
)

// fillWords writes n CloudEvents of the given input shape to topic.
func fillWords(b *testing.B, brokers []string, topic string, n int, shape string) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var perr error
	for range n {
		v := make([]byte, benchPayloadSize)
		for j := range v {
			v[j] = 'a' + byte(rand.IntN(26))
		}
		id := watermill.NewUUID()
		rec := &kgo.Record{Topic: topic, Value: v, Headers: []kgo.RecordHeader{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte(id)},
			{Key: "ce_source", Value: []byte("bench")}, {Key: "ce_type", Value: []byte("millstream.string")},
			{Key: "content-type", Value: []byte("text/plain")},
		}}
		if shape == millstreamInput {
			rec.Headers = append(rec.Headers,
				kgo.RecordHeader{Key: "ce_time", Value: time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)},
				kgo.RecordHeader{Key: "ce_traceparent", Value: []byte(cloudevent.NewTraceparent())},
				kgo.RecordHeader{Key: stream.HeaderCorrelationID, Value: []byte(watermill.NewUUID())})
		} else {
			rec.Key = []byte(id[:8])
		}
		wg.Add(1)
		cl.Produce(context.Background(), rec, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				perr = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if perr != nil {
		b.Fatal(perr)
	}
}

// firstCall records when a loop transformed its first record.
type firstCall struct {
	once sync.Once
	at   time.Time
}

func (f *firstCall) mark() { f.once.Do(func() { f.at = time.Now() }) }

// watchOutput polls the end offsets of topic until they add up to n and
// returns the time from the loop's first transform to then.
func watchOutput(b *testing.B, adm *kadm.Client, topic string, n int64, first *firstCall) time.Duration {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err == nil {
			var total int64
			ends.Each(func(o kadm.ListedOffset) { total += max(o.Offset, 0) })
			if total >= n {
				now := time.Now()
				var start time.Time
				first.once.Do(func() {}) // the loop marked it before producing
				start = first.at
				return now.Sub(start)
			}
		}
		time.Sleep(time.Millisecond) // a poll interval, not a wait for an outcome
	}
	b.Fatalf("output topic %s did not reach %d records", topic, n)
	return 0
}

// BenchmarkUppercase compares, in one run and on one broker, an uppercase
// function on the SDK path (kafka binder, CloudEvents; pipelined, and
// synchronous with one publish per message before its ack) with a bare
// franz-go consume-transform-produce loop doing the same work by hand (poll;
// per record, bareUppercase: check the input is a CloudEvent, upper-case it,
// write a new event with its own id, source, type, time, content type,
// trace and the input's correlation id; produce the batch, wait for it,
// commit). Each loop handles b.N messages of its own topic, written before
// it runs (the SDK binding is started and paused first, so that its member
// joins an empty topic and no rebalance happens while it works); the rate is
// taken from the loop's first transform to the last output record, so joins
// are not counted. The one-message-at-a-time variants (sdk-sync, serial)
// handle at most slowRecords. It runs with 1 partition (samples/uppercase's
// topics, which the broker creates with its default of one), 4 and 16, and
// on records of two shapes (minimal: the required attributes, a content type
// and a key, as a producer that is not a Millstream application writes them;
// millstream: as a Millstream application writes them, with time,
// traceparent and correlation id and without key). The SDK binding is
// configured as samples/uppercase's is: one group member (concurrency 1),
// which handles its partitions in parallel. Reported: sdk-msgs/s,
// bare-msgs/s and sdk/bare-% (goal: 70 or more).
//
// On the bundled broker it runs twice: with the default fsync policy (every
// acks=all produce waits for an fsync, which is what one-message-at-a-time
// publishing pays most for), and with fsync=interval=100ms.
func BenchmarkUppercase(b *testing.B) {
	clusters := map[string][]string{"fsync=always": testBrokers(b)}
	if os.Getenv(brokersEnv) == "" {
		clusters["fsync=interval"] = []string{brokertest.Start(b, brokertest.WithConfig(func(c *server.Config) {
			c.Fsync = server.FsyncPolicy{Mode: server.FsyncInterval, Interval: 100 * time.Millisecond}
		})).Addr()}
	}
	for _, name := range []string{"fsync=always", "fsync=interval"} {
		brokers, ok := clusters[name]
		if !ok {
			continue
		}
		for _, partitions := range []int32{1, 4, 16} {
			for _, shape := range []string{minimalInput, millstreamInput} {
				b.Run(fmt.Sprintf("%s/partitions=%d/input=%s", name, partitions, shape), func(b *testing.B) {
					benchUppercase(b, brokers, partitions, shape)
				})
			}
		}
	}
}

func benchUppercase(b *testing.B, brokers []string, partitions int32, shape string) {
	adm := admin(b, brokers)
	b.SetBytes(benchPayloadSize)
	b.StopTimer()

	// SDK path: pipelined (the output publisher is a stream.AsyncPublisher,
	// inputs committed once their outputs are stored), then synchronous
	// (the same binder with PublishAsync hidden: one produce round trip per
	// message before its ack), as before pipelining.
	// The one-message-at-a-time loops run over at most slowRecords records:
	// at their rate, b.N would take minutes.
	slowN := min(b.N, slowRecords)
	sdk, sdkCPU := runSDK(b, brokers, adm, partitions, shape, b.N, true)
	sdkSync, _ := runSDK(b, brokers, adm, partitions, shape, slowN, false)

	// Bare franz-go twice, one member each (so no rebalance; the backlog is
	// written first): batched as a franz-go user writes it, and serial, one
	// synchronous produce per record per partition, the SDK's discipline.
	bare, bareCPU := runBare(b, brokers, adm, partitions, shape, b.N, false)
	serial, _ := runBare(b, brokers, adm, partitions, shape, slowN, true)

	sdkRate := float64(b.N) / sdk.Seconds()
	bareRate := float64(b.N) / bare.Seconds()
	serialRate := float64(slowN) / serial.Seconds()
	b.ReportMetric(sdkRate, "sdk-msgs/s")
	b.ReportMetric(bareRate, "bare-msgs/s")
	b.ReportMetric(serialRate, "serial-msgs/s")
	b.ReportMetric(100*sdkRate/bareRate, "sdk/bare-%")
	b.ReportMetric(100*sdkRate/serialRate, "sdk/serial-%")
	syncRate := float64(slowN) / sdkSync.Seconds()
	b.ReportMetric(syncRate, "sdk-sync-msgs/s")
	b.ReportMetric(100*syncRate/bareRate, "sdk-sync/bare-%")
	// CPU of the whole process (the in-process broker included) per
	// message, while each loop ran.
	b.ReportMetric(float64(sdkCPU.Microseconds())/float64(b.N), "sdk-cpu-µs/msg")
	b.ReportMetric(float64(bareCPU.Microseconds())/float64(b.N), "bare-cpu-µs/msg")
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// syncBinder hides the publishers' PublishAsync, so that the SDK publishes
// synchronously.
type syncBinder struct{ stream.Binder }

func (s syncBinder) Publisher(ctx context.Context, p stream.Publication) (message.Publisher, error) {
	pub, err := s.Binder.Publisher(ctx, p)
	if err != nil {
		return nil, err
	}
	return struct{ message.Publisher }{pub}, nil
}

// runSDK runs samples/uppercase's function on the SDK path over a new
// backlog of n records and returns the time from its first transform to
// the last output record.
func runSDK(b *testing.B, brokers []string, adm *kadm.Client, partitions int32, shape string, n int, async bool) (time.Duration, time.Duration) {
	b.Helper()
	inSDK, outSDK := "words-"+watermill.NewShortUUID(), "upper-"+watermill.NewShortUUID()
	for _, topic := range []string{inSDK, outSDK} {
		if _, err := adm.CreateTopic(context.Background(), partitions, -1, nil, topic); err != nil {
			b.Fatal(err)
		}
	}
	kb, err := kafka.New(context.Background(), kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
	if err != nil {
		b.Fatal(err)
	}
	var binder stream.Binder = kb
	if !async {
		binder = syncBinder{kb}
	}
	app := stream.New(stream.Config{Application: "bench", Bindings: map[string]stream.BindingProperties{
		"uppercase-in-0":  {Destination: inSDK, Group: "sdk"},
		"uppercase-out-0": {Destination: outSDK, PartitionCount: int(partitions)},
	}}, stream.WithBinder("kafka", binder))
	var sdkFirst firstCall
	if err := app.Register(stream.Function("uppercase", func(_ context.Context, in string) (string, error) {
		sdkFirst.mark()
		return strings.ToUpper(in), nil
	})); err != nil {
		b.Fatal(err)
	}
	// Join every member on the empty topic, hold the binding, write the
	// backlog, let go: no rebalance happens while the backlog is processed.
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if err := app.SetState(ctx, "uppercase-in-0", stream.StatePaused); err != nil {
		b.Fatal(err)
	}
	fillWords(b, brokers, inSDK, n, shape)
	b.StartTimer()
	cpu := cpuTime()
	if err := app.SetState(ctx, "uppercase-in-0", stream.StateResumed); err != nil {
		b.Fatal(err)
	}
	d := watchOutput(b, adm, outSDK, int64(n), &sdkFirst)
	cpu = cpuTime() - cpu
	b.StopTimer()
	if async {
		// The flow control's pauses (a partition whose buffer stayed full).
		b.ReportMetric(float64(kafka.BinderFetchPauses(kb)), "sdk-fetch-pauses")
	}
	if err := app.Stop(context.Background()); err != nil {
		b.Error(err)
	}
	return d, cpu
}

// runBare runs a bare franz-go consume-transform-produce loop over a new
// backlog of n records and returns the time from its first transform to
// the last output record.
func runBare(b *testing.B, brokers []string, adm *kadm.Client, partitions int32, shape string, n int, serial bool) (time.Duration, time.Duration) {
	b.Helper()
	in, out := "words-"+watermill.NewShortUUID(), "upper-"+watermill.NewShortUUID()
	for _, topic := range []string{in, out} {
		if _, err := adm.CreateTopic(context.Background(), partitions, -1, nil, topic); err != nil {
			b.Fatal(err)
		}
	}
	fillWords(b, brokers, in, n, shape)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup("bare-"+in), kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var first firstCall
	ctx, cancel := context.WithCancel(context.Background())
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			b.Error(err)
		}
	}
	transform := func(r *kgo.Record) *kgo.Record {
		first.mark()
		out, err := bareUppercase(r, out)
		fail(err)
		return out
	}
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			var wg sync.WaitGroup
			if serial {
				fs.EachPartition(func(p kgo.FetchTopicPartition) {
					wg.Go(func() {
						for _, r := range p.Records {
							fail(cl.ProduceSync(ctx, transform(r)).FirstErr())
						}
					})
				})
			} else {
				fs.EachRecord(func(r *kgo.Record) {
					wg.Add(1)
					cl.Produce(ctx, transform(r), func(_ *kgo.Record, err error) { fail(err); wg.Done() })
				})
			}
			wg.Wait()
			fail(cl.CommitRecords(ctx, fs.Records()...))
		}
	}()
	b.StartTimer()
	cpu := cpuTime()
	d := watchOutput(b, adm, out, int64(n), &first)
	cpu = cpuTime() - cpu
	b.StopTimer()
	cancel()
	<-loopDone
	return d, cpu
}

// bareUppercase is the work the SDK does for one message of
// samples/uppercase, written by hand on franz-go records, as a careful
// franz-go user would: the input must be a CloudEvent in the Kafka binding
// (spec version 1.0, with an id, a source and a type); the output is a new
// event with its own id, the application as source, its type, time and
// content type, continuing the input's trace (a new one when it has none)
// and carrying its correlation id (its id when it has none).
func bareUppercase(r *kgo.Record, topic string) (*kgo.Record, error) {
	var specversion, id, source, typ, traceparent, correlation []byte
	for _, h := range r.Headers {
		switch h.Key {
		case stream.HeaderCorrelationID:
			correlation = h.Value
		case "ce_specversion":
			specversion = h.Value
		case "ce_id":
			id = h.Value
		case "ce_source":
			source = h.Value
		case "ce_type":
			typ = h.Value
		case "ce_traceparent":
			traceparent = h.Value
		}
	}
	if string(specversion) != "1.0" || len(id) == 0 || len(source) == 0 || len(typ) == 0 {
		return nil, fmt.Errorf("record %d of partition %d is not a CloudEvent", r.Offset, r.Partition)
	}
	tp := make([]byte, 55)
	if len(traceparent) == 55 {
		copy(tp, traceparent) // keep the trace id and flags
	} else {
		copy(tp, "00-")
		putHex(tp[3:35])
		tp[35] = '-'
		copy(tp[52:], "-01")
	}
	putHex(tp[36:52])
	if len(correlation) == 0 {
		correlation = id // as Watermill's correlation middleware does
	}
	return &kgo.Record{Topic: topic, Value: bytes.ToUpper(r.Value), Headers: []kgo.RecordHeader{
		{Key: "ce_specversion", Value: []byte("1.0")},
		{Key: "ce_id", Value: []byte(uuid.NewString())},
		{Key: "ce_source", Value: []byte("bench")},
		{Key: "ce_type", Value: []byte("millstream.string")},
		{Key: "ce_time", Value: time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)},
		{Key: "ce_traceparent", Value: tp},
		{Key: "content-type", Value: []byte("text/plain")},
		{Key: stream.HeaderCorrelationID, Value: correlation},
	}}, nil
}

// putHex fills dst with random lower-case hex digits, sixteen from each
// random number.
func putHex(dst []byte) {
	const digits = "0123456789abcdef"
	var r uint64
	for i := range dst {
		if i%16 == 0 {
			r = rand.Uint64()
		}
		dst[i] = digits[r&15]
		r >>= 4
	}
}

// The bare loop's transform writes what the SDK writes: a valid CloudEvent
// with the text upper-cased and a valid traceparent, continuing the input's
// trace when it has one; it refuses a record that is not a CloudEvent.
func TestBareUppercase(t *testing.T) {
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for _, tp := range []string{"", parent} {
		in := &kgo.Record{Value: []byte("hello"), Headers: []kgo.RecordHeader{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("1")},
			{Key: "ce_source", Value: []byte("test")}, {Key: "ce_type", Value: []byte("t")},
		}}
		if tp != "" {
			in.Headers = append(in.Headers, kgo.RecordHeader{Key: "ce_traceparent", Value: []byte(tp)})
		}
		out, err := bareUppercase(in, "upper")
		if err != nil {
			t.Fatal(err)
		}
		msg, err := kafka.DefaultMarshaler{}.Unmarshal(out)
		if err != nil {
			t.Fatal(err)
		}
		e, err := cloudevent.FromMessage(msg, cloudevent.Kafka())
		if err != nil {
			t.Fatalf("output %v is not a CloudEvent: %v", msg.Metadata, err)
		}
		got := msg.Metadata["ce_traceparent"]
		if string(e.Data()) != "HELLO" || !cloudevent.ValidTraceparent(got) || (tp != "" && got[:36] != tp[:36]) || got == tp {
			t.Errorf("input traceparent %q: output %q, traceparent %q", tp, e.Data(), got)
		}
		if c := msg.Metadata[stream.HeaderCorrelationID]; c != "1" {
			t.Errorf("correlation id %q, want the input's id", c)
		}
	}
	if _, err := bareUppercase(&kgo.Record{Value: []byte("x")}, "upper"); err == nil {
		t.Error("a record without CloudEvent headers was transformed")
	}
}
