package kafka_test

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

// calls collects the UUIDs a handler was called with, in order.
type calls struct {
	mu   sync.Mutex
	ids  []string
	more chan string
}

func newCalls() *calls { return &calls{more: make(chan string, 100)} }

func (c *calls) add(id string) {
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
	c.more <- id
}

// next waits for the next call.
func (c *calls) next(t *testing.T) string {
	t.Helper()
	select {
	case id := <-c.more:
		return id
	case <-time.After(waitFor):
		t.Fatal("no handler call")
		return ""
	}
}

// none checks that no call comes within d.
func (c *calls) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case id := <-c.more:
		t.Fatalf("unexpected handler call with %s", id)
	case <-time.After(d):
	}
}

// While a call on one partition is in progress, the other partition's
// messages are handled, in order; the held partition goes on after it.
func TestSubscribeHandlerPartitionsInParallel(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	publishTwoByTwo(t, brokers, topic)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	got := newCalls()
	release := make(chan struct{})
	var held string
	var once sync.Once
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		first := false
		once.Do(func() { held, first = m.UUID, true })
		got.add(m.UUID)
		if first {
			<-release
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The held call and the other partition's two, the other's in order;
	// the held call may be recorded after the other's first (its goroutine
	// can be preempted between once.Do and add).
	calls := []string{got.next(t), got.next(t), got.next(t)}
	other := "1"
	if held[0] == '1' {
		other = "0"
	}
	var others []string
	sawHeld := false
	for _, id := range calls {
		if id == held {
			sawHeld = true
		} else {
			others = append(others, id)
		}
	}
	if !sawHeld || len(others) != 2 || others[0] != other+"-0" || others[1] != other+"-1" {
		t.Fatalf("while %s is in its call got %v, want it and %s-0, %s-1 in order", held, calls, other, other)
	}
	got.none(t, 100*time.Millisecond)
	close(release)
	if id, want := got.next(t), held[:1]+"-1"; id != want {
		t.Errorf("after the call of %s ended got %s, want %s", held, id, want)
	}
}

// An error from the handler nacks: the same message comes again before the
// next one.
func TestSubscribeHandlerErrorRedeliversBeforeNext(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	if err := pub.Publish(topic, message.NewMessage("a", nil), message.NewMessage("b", nil)); err != nil {
		t.Fatal(err)
	}
	got := newCalls()
	fails := 2
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		got.add(m.UUID)
		if m.UUID == "a" && fails > 0 {
			fails--
			return context.DeadlineExceeded
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"a", "a", "a", "b"} {
		if id := got.next(t); id != want {
			t.Fatalf("call %d with %s, want %s", i, id, want)
		}
	}
}

// Pause holds the next call; Resume lets it go.
func TestSubscribeHandlerPauseResume(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, nil)
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	got := newCalls()
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		got.add(m.UUID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(topic, message.NewMessage("1", nil)); err != nil {
		t.Fatal(err)
	}
	if id := got.next(t); id != "1" {
		t.Fatalf("got %s, want 1", id)
	}
	if err := sub.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(topic, message.NewMessage("2", nil)); err != nil {
		t.Fatal(err)
	}
	got.none(t, 300*time.Millisecond)
	if err := sub.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if id := got.next(t); id != "2" {
		t.Errorf("after Resume got %s, want 2", id)
	}
}

// Close waits CloseTimeout for a call that does not end, then cancels the
// call's message context and returns; the message was not committed, so
// the group gets it again.
func TestSubscribeHandlerCloseGivesUpOnStuckCall(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	group := "g-" + topic
	pub := publisher(t, brokers, nil)
	cfg := func(c *kafka.SubscriberConfig) { c.Group = group; c.CloseTimeout = 200 * time.Millisecond }
	sub := subscriber(t, brokers, cfg)
	if err := pub.Publish(topic, message.NewMessage("stuck", nil)); err != nil {
		t.Fatal(err)
	}
	inCall, canceled, testEnded := make(chan struct{}), make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(testEnded) })
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		close(inCall)
		<-m.Context().Done()
		close(canceled)
		<-testEnded // past Close: the call outlives its subscriber
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-inCall:
	case <-time.After(waitFor):
		t.Fatal("no handler call")
	}
	closed := make(chan error, 1)
	go func() { closed <- sub.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitFor):
		t.Fatal("Close did not give up on a call that never ends")
	}
	select {
	case <-canceled:
	case <-time.After(waitFor):
		t.Fatal("the stuck call's message context was not canceled")
	}

	again := newCalls()
	if err := subscriber(t, brokers, cfg).SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		again.add(m.UUID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if id := again.next(t); id != "stuck" {
		t.Fatalf("the next member got %s, want stuck (never acked)", id)
	}
}

func TestSubscribeHandlerNilHandler(t *testing.T) {
	sub := subscriber(t, testBrokers(t), nil)
	if err := sub.SubscribeHandler(context.Background(), newTopic(t), nil); err == nil {
		t.Fatal("SubscribeHandler with a nil handler: no error")
	}
}

// A call that ends in runtime.Goexit is a nack: its message context is
// canceled, and the message comes again.
func TestSubscribeHandlerGoexitCancelsAndRedelivers(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	if err := publisher(t, brokers, nil).Publish(topic, message.NewMessage("a", nil)); err != nil {
		t.Fatal(err)
	}
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	ctxs := make(chan context.Context, 10)
	var calls atomic.Int32
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		ctxs <- m.Context()
		if calls.Add(1) == 1 {
			runtime.Goexit()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var first context.Context
	for i := range 2 {
		select {
		case c := <-ctxs:
			if i == 0 {
				first = c
			}
		case <-time.After(waitFor):
			t.Fatalf("call %d did not come", i+1)
		}
	}
	select {
	case <-first.Done():
	case <-time.After(waitFor):
		t.Fatal("the context of the call that called runtime.Goexit was not canceled")
	}
}

// Stopping a binding waits for a call in progress up to the application's
// shutdown-timeout, as the router did, even when the subscriber's own
// close-timeout is shorter: the call keeps its context and its output is
// published, not cut off by a closed publisher.
func TestStopWaitsForCallPastCloseTimeout(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	kb, err := kafka.New(context.Background(), kafka.Config{Connection: kafka.Connection{Brokers: brokers},
		AutoCreateTopics: true, CloseTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	app := stream.New(stream.Config{Application: "late", ShutdownTimeout: 10 * time.Second,
		Bindings: map[string]stream.BindingProperties{
			"up-in-0":  {Destination: topic, Group: "g", MaxAttempts: 1},
			"up-out-0": {Destination: topic + "-out"},
		}}, stream.WithBinder("kafka", kb))
	inCall := make(chan struct{})
	var ctxErr error
	if err := app.Register(stream.Function("up", func(ctx context.Context, in string) (string, error) {
		close(inCall)
		time.Sleep(500 * time.Millisecond) // past close-timeout
		ctxErr = ctx.Err()
		return strings.ToUpper(in), nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := publisher(t, brokers, nil).Publish(topic, message.NewMessage("m", []byte("late"))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inCall:
	case <-time.After(waitFor):
		t.Fatal("no call")
	}
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ctxErr != nil {
		t.Errorf("the call's context ended before shutdown-timeout: %v", ctxErr)
	}
	if recs := readAll(t, brokers, topic+"-out", 1); string(recs[0].Value) != "LATE" {
		t.Errorf("output %q, want LATE", recs[0].Value)
	}
}

// The context of each message handed to a handler holds its record's
// topic, partition and offset (PositionFrom).
func TestSubscribeHandlerPositions(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	pub := publisher(t, brokers, func(c *kafka.PublisherConfig) { c.Provision.Topic.Partitions = 2 })
	want := map[string]kafka.Position{}
	next := map[int32]int64{}
	for i, p := range []int32{1, 0, 1, 1, 0} {
		id := strconv.Itoa(i)
		msg := message.NewMessage(id, nil)
		msg.Metadata.Set(cloudevent.MetadataPartition, strconv.Itoa(int(p)))
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatal(err)
		}
		want[id] = kafka.Position{Topic: topic, Partition: p, Offset: next[p]}
		next[p]++
	}
	sub := subscriber(t, brokers, func(c *kafka.SubscriberConfig) { c.StartOffset = kafka.Earliest })
	var mu sync.Mutex
	got := map[string]kafka.Position{}
	err := sub.SubscribeHandler(context.Background(), topic, func(m *message.Message) error {
		pos, ok := kafka.PositionFrom(m.Context())
		if !ok {
			t.Errorf("message %s: no position in its context", m.UUID)
		}
		mu.Lock()
		defer mu.Unlock()
		got[m.UUID] = pos
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	for id, w := range want {
		if got[id] != w {
			t.Errorf("message %s: position %+v, want %+v", id, got[id], w)
		}
	}
}

// A handler's string input shares the received message's payload: a
// string the handler keeps holds the bytes it was given, after later
// messages and retries of its own message (its first attempt fails), for
// payloads of every size (those up to 1 KiB share an allocation with the
// headers, larger ones have their own), whether the handler takes the
// payload (a delivery, read without a Watermill message; a retried one
// then gets its message) or a stream.Message (a message).
func TestKeptStringInputs(t *testing.T) {
	brokers := testBrokers(t)
	for _, way := range []string{"string", "Message[string]"} {
		t.Run(way, func(t *testing.T) {
			topic := newTopic(t)
			app := stream.New(stream.Config{Application: "keep", Bindings: map[string]stream.BindingProperties{
				"keep-in-0": {Destination: topic, Group: "g", MaxAttempts: 3, BackOffInitialInterval: time.Millisecond},
			}}, stream.WithBinder("kafka", newBinder(t, kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})))
			const n = 300
			var mu sync.Mutex
			kept := map[string][]string{} // by message, one per call
			keep := func(in string) error {
				mu.Lock()
				defer mu.Unlock()
				id, _, _ := strings.Cut(in, ":")
				kept[id] = append(kept[id], in)
				if len(kept[id]) == 1 && len(in)%4 == 0 {
					return errors.New("first attempt fails") // a retry of the same message
				}
				return nil
			}
			var h stream.Handler
			if way == "string" {
				h = stream.Consumer("keep", func(_ context.Context, in string) error { return keep(in) })
			} else {
				h = stream.Consumer("keep", func(_ context.Context, in stream.Message[string]) error { return keep(in.Payload) })
			}
			if err := app.Register(h); err != nil {
				t.Fatal(err)
			}
			if err := app.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := app.Stop(context.Background()); err != nil {
					t.Error(err)
				}
			})
			sent := map[string]string{}
			pub := publisher(t, brokers, nil)
			for i := range n {
				id := "e" + strconv.Itoa(i)
				data := []byte(id + ":")
				for range rand.IntN(3000) {
					data = append(data, 'a'+byte(rand.IntN(26)))
				}
				sent[id] = string(data)
				msg := message.NewMessage(id, data)
				msg.Metadata = message.Metadata{"ce_specversion": "1.0", "ce_id": id, "ce_source": "test", "ce_type": "t", "content-type": "text/plain"}
				if err := pub.Publish(topic, msg); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, "every message handled", func() bool {
				mu.Lock()
				defer mu.Unlock()
				done := 0
				for id, got := range kept {
					if len(got) > 1 || len(sent[id])%4 != 0 {
						done++
					}
				}
				return done == n
			})
			mu.Lock()
			defer mu.Unlock()
			for id, got := range kept {
				for _, s := range got {
					if s != sent[id] {
						t.Fatalf("message %s: the handler kept %d bytes %.20q..., sent %d bytes %.20q...", id, len(s), s, len(sent[id]), sent[id])
					}
				}
			}
		})
	}
}

// A binding on the Kafka binder takes its messages as deliveries (the first
// attempt without a Watermill message) unless the application has
// middleware of its own; both ways handle messages alike: the same calls
// (a failed or panicking first attempt is retried, an error marked
// permanent is not), outputs with the input's correlation id and trace,
// dead letters with the same attempt counts, and the same metrics; a
// record that is not a CloudEvent is handled too.
func TestDeliveriesAsMessages(t *testing.T) {
	brokers := testBrokers(t)
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	type result struct {
		calls   map[string]int
		metrics map[string]int
		outputs map[string]string // payload: correlation id and trace id
		dead    map[string]string // payload: attempts
	}
	run := func(t *testing.T, viaMessages bool) result {
		made := kafka.MessagesMade()
		defer func() {
			// The deliveries that needed their message: those that were
			// no CloudEvent or failed their first attempt.
			if n, want := kafka.MessagesMade()-made, map[bool]int64{false: 5, true: 0}[viaMessages]; n != want {
				t.Errorf("via messages %v: %d messages made for deliveries, want %d", viaMessages, n, want)
			}
		}()
		topic := newTopic(t)
		metrics := &streamtest.Metrics{}
		opts := []stream.Option{stream.WithBinder("kafka", newBinder(t, kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})),
			stream.WithMetrics(metrics)}
		if viaMessages {
			opts = append(opts, stream.WithMiddleware(func(h message.HandlerFunc) message.HandlerFunc { return h }))
		}
		app := stream.New(stream.Config{Application: "both", Bindings: map[string]stream.BindingProperties{
			"work-in-0":  {Destination: topic, Group: "g", DLQ: true, MaxAttempts: 3, BackOffInitialInterval: time.Millisecond},
			"work-out-0": {Destination: topic + "-out"},
		}}, opts...)
		var mu sync.Mutex
		calls := map[string]int{}
		if err := app.Register(stream.Function("work", func(_ context.Context, in string) (string, error) {
			mu.Lock()
			calls[in]++
			n := calls[in]
			mu.Unlock()
			switch {
			case strings.HasPrefix(in, "retry") && n == 1:
				return "", errors.New("once")
			case strings.HasPrefix(in, "panic") && n == 1:
				panic("once")
			case strings.HasPrefix(in, "fail"):
				return "", errors.New("always")
			case strings.HasPrefix(in, "permanent"):
				return "", stream.Permanent(errors.New("never again"))
			}
			return strings.ToUpper(in), nil
		})); err != nil {
			t.Fatal(err)
		}
		if err := app.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { app.Stop(context.Background()) })
		pub := publisher(t, brokers, nil)
		inputs := []string{"ok", "retry", "panic", "fail", "permanent", "ok-traced", "plain"}
		for _, in := range inputs {
			msg := message.NewMessage("id-"+in, []byte(in))
			if in != "plain" { // a CloudEvent, but for the last
				msg.Metadata = message.Metadata{"ce_specversion": "1.0", "ce_id": "id-" + in, "ce_source": "test",
					"ce_type": "t", "content-type": "text/plain", stream.HeaderCorrelationID: "corr-" + in}
			}
			if in == "ok-traced" {
				msg.Metadata["ce_traceparent"] = parent
			}
			if err := pub.Publish(topic, msg); err != nil {
				t.Fatal(err)
			}
		}
		r := result{outputs: map[string]string{}, dead: map[string]string{}}
		for _, rec := range readAll(t, brokers, topic+"-out", 5) {
			h := map[string]string{}
			for _, x := range rec.Headers {
				h[x.Key] = string(x.Value)
			}
			tp := h["ce_traceparent"]
			if !cloudevent.ValidTraceparent(tp) {
				t.Fatalf("output %q: traceparent %q", rec.Value, tp)
			}
			r.outputs[string(rec.Value)] = h[stream.HeaderCorrelationID] + " " + tp[:35]
		}
		for _, rec := range readAll(t, brokers, "error."+topic+".g", 2) {
			for _, x := range rec.Headers {
				if x.Key == stream.HeaderAttempts {
					r.dead[string(rec.Value)] = string(x.Value)
				}
			}
		}
		// Every input has been handled once the outputs and dead letters
		// are in (the acks precede nothing else that is counted).
		app.Stop(context.Background())
		mu.Lock()
		r.calls = maps.Clone(calls)
		mu.Unlock()
		r.metrics = metrics.Counts()
		delete(r.metrics, "durations")
		return r
	}
	deliveries := run(t, false)
	messages := run(t, true)
	want := result{
		calls:   map[string]int{"ok": 1, "retry": 2, "panic": 2, "fail": 3, "permanent": 1, "ok-traced": 1, "plain": 1},
		metrics: map[string]int{"in": 7, "out": 5, "errors": 5, "retries": 4, "dead": 2}, // a panic is no handler error
		outputs: map[string]string{"OK": "corr-ok 00-", "RETRY": "corr-retry 00-", "PANIC": "corr-panic 00-",
			"OK-TRACED": "corr-ok-traced " + parent[:35], "PLAIN": ""},
		dead: map[string]string{"fail": "3", "permanent": "1"},
	}
	for name, got := range map[string]result{"deliveries": deliveries, "messages": messages} {
		out := maps.Clone(got.outputs)
		for k, v := range out {
			if k != "OK-TRACED" && k != "PLAIN" && strings.HasPrefix(v, "corr-") {
				out[k] = v[:strings.Index(v, " ")+4] // a new trace: its id is random
			}
		}
		if !maps.Equal(got.calls, want.calls) || !maps.Equal(got.metrics, want.metrics) || !maps.Equal(got.dead, want.dead) {
			t.Errorf("%s: calls %v, metrics %v, dead letters %v; want %v, %v, %v", name, got.calls, got.metrics, got.dead,
				want.calls, want.metrics, want.dead)
		}
		plain := out["PLAIN"]
		delete(out, "PLAIN")
		wantOut := maps.Clone(want.outputs)
		delete(wantOut, "PLAIN")
		if !maps.Equal(out, wantOut) || !strings.Contains(plain, " 00-") {
			t.Errorf("%s: outputs %v, want %v", name, got.outputs, want.outputs)
		}
	}
}
