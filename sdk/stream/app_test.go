package stream_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func uppercase(_ context.Context, in string) (string, error) { return strings.ToUpper(in), nil }

// newApp makes an application on a fresh memory binder.
func newApp(t *testing.T, cfg stream.Config, hs ...stream.Handler) *stream.App {
	t.Helper()
	app := stream.New(cfg, stream.WithBinder("memory", memory.New()))
	if err := app.Register(hs...); err != nil {
		t.Fatal(err)
	}
	return app
}

func fast(p stream.BindingProperties) stream.BindingProperties {
	p.BackOffInitialInterval = time.Millisecond
	p.BackOffMaxInterval = 2 * time.Millisecond
	return p
}

func TestFunctionRoundTrip(t *testing.T) {
	h := streamtest.Run(t, newApp(t, stream.Config{Application: "test"}, stream.Function("uppercase", uppercase)))
	h.Send("uppercase-in-0", "hello")
	got := streamtest.Receive[string](t, h, "uppercase-out-0")
	if got.Payload != "HELLO" {
		t.Fatalf("payload = %q, want HELLO", got.Payload)
	}
	if got.Source != "test" || got.ContentType != "text/plain" || got.Type != "millstream.string" || got.ID == "" || got.Time.IsZero() {
		t.Fatalf("attributes = %+v", got)
	}
}

type order struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

type parsed struct {
	Order order `json:"order"`
	Note  string
}

func TestCompositionBindingNames(t *testing.T) {
	parse := stream.Function("parse", func(_ context.Context, o order) (parsed, error) {
		return parsed{Order: o, Note: "parsed"}, nil
	})
	enrich := stream.Function("enrich", func(_ context.Context, p stream.Message[parsed]) (stream.Message[string], error) {
		return stream.Message[string]{Payload: p.Payload.Note + ":" + p.Payload.Order.ID, Subject: "enriched"}, nil
	})
	audit := stream.Consumer("audit", func(context.Context, string) error { return nil })
	app := newApp(t, stream.Config{FunctionDefinition: "parse|enrich"}, parse, enrich, audit)
	h := streamtest.Run(t, app)
	var names []string
	for _, b := range app.Bindings() {
		names = append(names, b.Name)
	}
	if got := strings.Join(names, ","); got != "parseenrich-in-0,parseenrich-out-0" {
		t.Fatalf("bindings = %s, want parseenrich-in-0,parseenrich-out-0", got)
	}
	h.Send("parseenrich-in-0", order{ID: "o-1", Total: 3})
	got := streamtest.Receive[string](t, h, "parseenrich-out-0")
	if got.Payload != "parsed:o-1" || got.Subject != "enriched" {
		t.Fatalf("composed output = %+v", got)
	}
}

func TestDefinitionErrors(t *testing.T) {
	f := stream.Function("uppercase", uppercase)
	s := stream.Supplier("ticks", func(context.Context) (int, error) { return 1, nil })
	c := stream.Consumer("sink", func(context.Context, string) error { return nil })
	for _, tc := range []struct {
		name string
		cfg  stream.Config
		want string
	}{
		{"unknown function", stream.Config{FunctionDefinition: "uppercase;lowercase"}, `unknown function "lowercase"; registered functions: uppercase, ticks, sink`},
		{"binding naming no function", stream.Config{Bindings: map[string]stream.BindingProperties{"upper-in-0": {Group: "g"}}}, "millstream.bindings.upper-in-0: names no bound function"},
		{"unbound binding", stream.Config{FunctionDefinition: "sink", Bindings: map[string]stream.BindingProperties{"uppercase-in-0": {}}}, "millstream.bindings.uppercase-in-0: names no bound function"},
		{"unknown binder", stream.Config{Bindings: map[string]stream.BindingProperties{"uppercase-in-0": {Binder: "kafka"}}}, `millstream.bindings.uppercase-in-0.binder: unknown binder "kafka"; registered binders: memory`},
		{"supplier last", stream.Config{FunctionDefinition: "uppercase|ticks"}, `supplier "ticks" can only come first`},
		{"consumer first", stream.Config{FunctionDefinition: "sink|uppercase"}, `consumer "sink" can only come last`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newApp(t, tc.cfg, f, s, c)
			err := app.Start(t.Context())
			if err == nil {
				app.Stop(t.Context())
				t.Fatalf("Start() = nil, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start() = %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("several binders and no default", func(t *testing.T) {
		app := stream.New(stream.Config{}, stream.WithBinder("a", memory.New()), stream.WithBinder("b", memory.New()))
		app.Register(stream.Function("uppercase", uppercase))
		err := app.Start(t.Context())
		if err == nil || !strings.Contains(err.Error(), "millstream.default-binder: several binders are registered (a, b)") {
			t.Fatalf("Start() = %v", err)
		}
	})
	t.Run("duplicate handler", func(t *testing.T) {
		app := stream.New(stream.Config{})
		if err := app.Register(stream.Function("x", uppercase), stream.Consumer("x", func(context.Context, string) error { return nil })); err == nil {
			t.Fatal("Register of two handlers named x succeeded")
		}
	})
}

func TestFilter(t *testing.T) {
	evens := stream.Function("evens", func(_ context.Context, n int) (int, error) {
		if n%2 != 0 {
			return 0, stream.ErrNoOutput
		}
		return n, nil
	})
	positive := stream.Function("positive", func(_ context.Context, n int) (*int, error) {
		if n <= 0 {
			return nil, nil
		}
		return &n, nil
	})
	h := streamtest.Run(t, newApp(t, stream.Config{}, evens, positive))
	for _, n := range []int{1, 2, 3, 4} {
		h.Send("evens-in-0", n)
	}
	for _, n := range []int{-1, 0, 5} {
		h.Send("positive-in-0", n)
	}
	if got := streamtest.Receive[int](t, h, "evens-out-0").Payload; got != 2 {
		t.Fatalf("first even = %d, want 2", got)
	}
	if got := streamtest.Receive[int](t, h, "evens-out-0").Payload; got != 4 {
		t.Fatalf("second even = %d, want 4", got)
	}
	if got := streamtest.Receive[int](t, h, "positive-out-0").Payload; got != 5 {
		t.Fatalf("first positive = %d, want 5 (nil pointers send nothing)", got)
	}
}

func TestMessageAttributes(t *testing.T) {
	var seen stream.Message[order]
	f := stream.Function("tag", func(_ context.Context, m stream.Message[order]) (stream.Message[order], error) {
		seen = m
		return stream.Message[order]{
			Payload:    m.Payload,
			Subject:    "order/" + m.Payload.ID,
			Type:       "com.example.order.tagged",
			Key:        m.Payload.ID,
			Extensions: map[string]string{"tenant": "acme"},
			Headers:    map[string]string{"x-tagged": "yes"},
		}, nil
	})
	h := streamtest.Run(t, newApp(t, stream.Config{Application: "orders"}, f))
	h.Send("tag-in-0", stream.Message[order]{Payload: order{ID: "o-9", Total: 5}, Subject: "incoming", Headers: map[string]string{"x-in": "1"}})
	got := streamtest.Receive[order](t, h, "tag-out-0")
	if seen.Subject != "incoming" || seen.Headers["x-in"] != "1" || seen.Source != "orders" || seen.Type != "stream_test.order" {
		t.Errorf("handler saw %+v", seen)
	}
	if got.Payload != (order{ID: "o-9", Total: 5}) || got.Subject != "order/o-9" || got.Type != "com.example.order.tagged" ||
		got.Key != "o-9" || got.Extensions["tenant"] != "acme" || got.Headers["x-tagged"] != "yes" || got.ContentType != cloudevent.JSON {
		t.Errorf("output = %+v", got)
	}
	parent, child := seen.Extensions[cloudevent.TraceparentExtension], got.Extensions[cloudevent.TraceparentExtension]
	if !cloudevent.ValidTraceparent(parent) || !cloudevent.ValidTraceparent(child) || parent[3:35] != child[3:35] || parent == child {
		t.Errorf("traceparent in %q, out %q: want the same trace id and a new parent id", parent, child)
	}
	if got.Headers[stream.HeaderCorrelationID] != seen.ID {
		t.Errorf("correlation id = %q, want the input's id %q", got.Headers[stream.HeaderCorrelationID], seen.ID)
	}
}

func TestPartitioning(t *testing.T) {
	f := stream.Function("route", func(_ context.Context, o order) (order, error) { return o, nil }).
		PartitionBy(func(o order) string { return o.ID })
	byHeader := stream.Function("byheader", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		return stream.Message[string]{Payload: m.Payload, Headers: map[string]string{"customer": m.Payload}}, nil
	})
	h := streamtest.Run(t, newApp(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"route-out-0":    {PartitionCount: 8},
		"byheader-out-0": {PartitionCount: 8, PartitionKey: "header:customer"},
	}}, f, byHeader))
	h.Send("route-in-0", order{ID: "customer-42"})
	raw := h.Raw("route-out-0")
	if want := stream.Partition("customer-42", 8); raw.Metadata[cloudevent.MetadataPartition] != itoa(want) {
		t.Errorf("partition = %s, want %d", raw.Metadata[cloudevent.MetadataPartition], want)
	}
	if raw.Metadata["ce_partitionkey"] != "customer-42" || raw.Metadata[cloudevent.MetadataKey] != "customer-42" {
		t.Errorf("key metadata = %v", raw.Metadata)
	}
	h.Send("byheader-in-0", "c-7")
	raw = h.Raw("byheader-out-0")
	if raw.Metadata["ce_partitionkey"] != "c-7" || raw.Metadata[cloudevent.MetadataPartition] != itoa(stream.Partition("c-7", 8)) {
		t.Errorf("partition-key header:customer gave %v", raw.Metadata)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRetryThenSuccessSendsOnce(t *testing.T) {
	var calls atomic.Int64
	flaky := stream.Function("flaky", func(_ context.Context, s string) (string, error) {
		if calls.Add(1) < 3 {
			return "", errors.New("not yet")
		}
		return s + "!", nil
	})
	rec := &streamtest.Metrics{}
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"flaky-in-0": fast(stream.BindingProperties{Group: "g", MaxAttempts: 3, DLQ: true}),
	}}, stream.WithBinder("memory", memory.New()), stream.WithMetrics(rec))
	app.Register(flaky)
	h := streamtest.Run(t, app)
	h.Send("flaky-in-0", "hi")
	if got := streamtest.Receive[string](t, h, "flaky-out-0").Payload; got != "hi!" {
		t.Fatalf("output = %q", got)
	}
	if calls.Load() != 3 || h.Pending("flaky-in-0.g.dlq") != 0 {
		t.Fatalf("calls = %d, dead letters pending %d; want 3 and 0", calls.Load(), h.Pending("flaky-in-0.g.dlq"))
	}
	// out counts the harness's send through the Bridge too; the output is
	// counted just after it is sent, so poll.
	want := map[string]int{"in": 1, "out": 2, "errors": 2, "retries": 2, "durations": 3}
	eventually(t, "metrics match", func() bool { return maps.Equal(rec.Counts(), want) })
}

func TestPanicIsRetriedThenDeadLettered(t *testing.T) {
	var calls atomic.Int64
	p := stream.Consumer("panicky", func(context.Context, string) error {
		calls.Add(1)
		panic("kaboom")
	})
	h := streamtest.Run(t, newApp(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"panicky-in-0": fast(stream.BindingProperties{Group: "g", MaxAttempts: 2, DLQ: true}),
	}}, p))
	h.Send("panicky-in-0", "x")
	dl := streamtest.Receive[string](t, h, "panicky-in-0.g.dlq")
	if calls.Load() != 2 || !strings.Contains(dl.Headers[stream.HeaderExceptionMessage], "kaboom") || dl.Headers[stream.HeaderAttempts] != "2" {
		t.Fatalf("calls %d, dead letter headers %v", calls.Load(), dl.Headers)
	}
}

func TestNoDLQDropsAfterLastAttempt(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	c := stream.Consumer("fail", func(_ context.Context, s string) error {
		mu.Lock()
		calls = append(calls, s)
		mu.Unlock()
		if s == "bad" {
			return errors.New("no")
		}
		return nil
	})
	rec := &streamtest.Metrics{}
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"fail-in-0": fast(stream.BindingProperties{Group: "g", MaxAttempts: 2}),
	}}, stream.WithBinder("memory", memory.New()), stream.WithMetrics(rec))
	app.Register(c)
	h := streamtest.Run(t, app)
	h.Send("fail-in-0", "bad")
	h.Send("fail-in-0", "good")
	eventually(t, "both messages are handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(calls, ",") != "bad,bad,good" {
		t.Fatalf("calls = %v, want bad twice (max-attempts 2) then good", calls)
	}
	if rec.Counts()["dead"] != 1 {
		t.Fatalf("dead letters counted = %d, want 1", rec.Counts()["dead"])
	}
}

func TestSuppliers(t *testing.T) {
	var n atomic.Int64
	ticks := stream.Supplier("ticks", func(context.Context) (int64, error) {
		v := n.Add(1)
		if v%2 == 0 {
			return 0, stream.ErrNoOutput
		}
		return v, nil
	})
	ch := make(chan string)
	events := stream.ChannelSupplier("events", ch)
	h := streamtest.Run(t, newApp(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"ticks-out-0": {PollerFixedDelay: time.Millisecond},
	}}, ticks, events))
	for _, want := range []int64{1, 3, 5} {
		if got := streamtest.Receive[int64](t, h, "ticks-out-0").Payload; got != want {
			t.Fatalf("tick = %d, want %d", got, want)
		}
	}
	ch <- "pushed"
	if got := streamtest.Receive[string](t, h, "events-out-0").Payload; got != "pushed" {
		t.Fatalf("event = %q", got)
	}
}

func TestStopStartResumesGroup(t *testing.T) {
	got := make(chan string, 10)
	c := stream.Consumer("sink", func(_ context.Context, s string) error { got <- s; return nil })
	app := newApp(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"sink-in-0": {Destination: "d", Group: "g", AutoStartup: new(bool)},
	}}, c)
	h := streamtest.Run(t, app)
	if bi, _ := app.Binding("sink-in-0"); bi.State != stream.StateStopped {
		t.Fatalf("auto-startup false: state %s, want STOPPED", bi.State)
	}
	if err := app.SetState(t.Context(), "sink-in-0", stream.StateStarted); err != nil {
		t.Fatal(err)
	}
	h.Send("d", "one")
	if v := <-got; v != "one" {
		t.Fatalf("got %q", v)
	}
	if err := app.SetState(t.Context(), "sink-in-0", stream.StateStopped); err != nil {
		t.Fatal(err)
	}
	h.Send("d", "two")
	if err := app.SetState(t.Context(), "sink-in-0", stream.StateStarted); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "two" {
		t.Fatalf("after restart got %q, want two (sent while stopped)", v)
	}
	if err := app.SetState(t.Context(), "nope-in-0", stream.StateStopped); !errors.Is(err, stream.ErrUnknownBinding) {
		t.Fatalf("SetState(unknown) = %v, want ErrUnknownBinding", err)
	}
}

func TestStopDrainsInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var handled atomic.Int64
	slow := stream.Function("slow", func(ctx context.Context, s string) (string, error) {
		close(entered)
		<-release
		handled.Add(1)
		return s, ctx.Err()
	})
	b := memory.New()
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"slow-in-0": {Destination: "in", Group: "g"}, "slow-out-0": {Destination: "out"},
	}}, stream.WithBinder("memory", b))
	app.Register(slow)
	reader, _ := b.Subscriber(t.Context(), stream.Subscription{Destination: "out", Group: "r", StartOffset: stream.Earliest, Properties: stream.BindingProperties{}.WithDefaults("out")})
	out, _ := reader.Subscribe(t.Context(), "out")
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := app.Bridge().Send(t.Context(), "in", "drain me"); err != nil {
		t.Fatal(err)
	}
	<-entered
	stopped := make(chan error)
	go func() { stopped <- app.SetState(context.Background(), "slow-in-0", stream.StateStopped) }()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	m := <-out
	m.Ack()
	if string(m.Payload) != "drain me" || handled.Load() != 1 {
		t.Fatalf("drained output %q, handled %d", m.Payload, handled.Load())
	}
	reader.Close()
	app.Stop(t.Context())
}

// countingBinder wraps a binder and counts publishers opened and closed.
type countingBinder struct {
	stream.Binder
	mu             sync.Mutex
	opened, closed map[string]int
}

type countingPublisher struct {
	message.Publisher
	b    *countingBinder
	dest string
}

func (c *countingBinder) Publisher(ctx context.Context, p stream.Publication) (message.Publisher, error) {
	pub, err := c.Binder.Publisher(ctx, p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.opened[p.Destination]++
	c.mu.Unlock()
	return &countingPublisher{Publisher: pub, b: c, dest: p.Destination}, nil
}

func (p *countingPublisher) Close() error {
	p.b.mu.Lock()
	p.b.closed[p.dest]++
	p.b.mu.Unlock()
	return p.Publisher.Close()
}

func TestBridgeEvictsLeastRecentlyUsed(t *testing.T) {
	cb := &countingBinder{Binder: memory.New(), opened: map[string]int{}, closed: map[string]int{}}
	app := stream.New(stream.Config{DynamicDestinationCacheSize: 2}, stream.WithBinder("memory", cb))
	h := streamtest.Run(t, app)
	h.Listen("", "a")
	br := app.Bridge()
	for _, d := range []string{"a", "b", "a", "c"} {
		if err := br.Send(t.Context(), d, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(br.Destinations(), ","); got != "c,a" {
		t.Fatalf("cached destinations = %s, want c,a", got)
	}
	cb.mu.Lock()
	if cb.opened["a"] != 1 || cb.opened["b"] != 1 || cb.closed["b"] != 1 || cb.closed["a"] != 0 {
		t.Errorf("opened %v closed %v: want a and b opened once, b closed on eviction", cb.opened, cb.closed)
	}
	cb.mu.Unlock()
	if got := streamtest.Receive[string](t, h, "a").Payload; got != "x" {
		t.Fatalf("a got %q", got)
	}
	if err := app.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.closed["a"] != 1 || cb.closed["c"] != 1 {
		t.Errorf("after Stop closed %v: want every producer closed", cb.closed)
	}
	if err := br.Send(t.Context(), "a", "late"); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Send after Stop = %v, want ErrClosed", err)
	}
}

func TestStructuredMode(t *testing.T) {
	h := streamtest.Run(t, newApp(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"uppercase-out-0": {Structured: true},
	}}, stream.Function("uppercase", uppercase)))
	h.Send("uppercase-in-0", "abc")
	raw := h.Raw("uppercase-out-0")
	if raw.Metadata["content-type"] != cloudevent.StructuredContentType || !strings.Contains(string(raw.Payload), `"data":"ABC"`) {
		t.Fatalf("structured message: metadata %v payload %s", raw.Metadata, raw.Payload)
	}
}

func TestPartitionedInstances(t *testing.T) {
	shared := memory.New()
	type got struct {
		instance int
		key      string
	}
	seen := make(chan got, 100)
	for i := range 2 {
		app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
			"sink-in-0": {Destination: "d", Group: "g", Partitioned: true, InstanceCount: 2, InstanceIndex: i, PartitionCount: 4},
		}}, stream.WithBinder("memory", shared))
		app.Register(stream.Consumer("sink", func(_ context.Context, m stream.Message[string]) error {
			seen <- got{i, m.Key}
			return nil
		}))
		if err := app.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer app.Stop(context.Background())
	}
	sender := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"d": {PartitionCount: 4},
	}}, stream.WithBinder("memory", shared), stream.WithBridgeBindings("d"))
	if err := sender.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer sender.Stop(context.Background())
	const n = 40
	for i := range n {
		if err := sender.Bridge().Send(t.Context(), "d", stream.Message[string]{Payload: "x", Key: "k" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	perInstance := map[int]int{}
	for range n {
		select {
		case g := <-seen:
			perInstance[g.instance]++
			if p := stream.Partition(g.key, 4); p%2 != g.instance {
				t.Errorf("instance %d got key %s of partition %d", g.instance, g.key, p)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("received %v of %d", perInstance, n)
		}
	}
	if perInstance[0] == 0 || perInstance[1] == 0 {
		t.Fatalf("per instance %v: both instances should get their share", perInstance)
	}
}

func TestHandlerCanceledErrorIsNotShutdown(t *testing.T) {
	var calls atomic.Int64
	c := stream.Consumer("cancels", func(context.Context, string) error {
		calls.Add(1)
		return fmt.Errorf("call upstream: %w", context.Canceled)
	})
	h := streamtest.Run(t, newApp(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"cancels-in-0": fast(stream.BindingProperties{Group: "g", MaxAttempts: 2, DLQ: true}),
	}}, c))
	h.Send("cancels-in-0", "x")
	dl := streamtest.Receive[string](t, h, "cancels-in-0.g.dlq")
	if calls.Load() != 2 || dl.Headers[stream.HeaderAttempts] != "2" {
		t.Fatalf("calls %d, x-attempts %q: a handler's own context.Canceled must be retried and dead-lettered, not redelivered forever", calls.Load(), dl.Headers[stream.HeaderAttempts])
	}
}

// TestStopWithMessagesWaiting stops a binding while one message is being
// handled and more wait: the stop must not deadlock with the handlers that
// the subscription hands out while it drains.
func TestStopWithMessagesWaiting(t *testing.T) {
	for range 20 {
		entered := make(chan struct{}, 10)
		release := make(chan struct{})
		c := stream.Consumer("slow", func(ctx context.Context, s string) error {
			entered <- struct{}{}
			<-release
			return nil
		})
		app := stream.New(stream.Config{ShutdownTimeout: 2 * time.Second, Bindings: map[string]stream.BindingProperties{
			"slow-in-0": {Destination: "d", Group: "g"},
		}}, stream.WithBinder("memory", memory.New()))
		app.Register(c)
		if err := app.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			app.Bridge().Send(t.Context(), "d", strconv.Itoa(i))
		}
		<-entered
		stopped := make(chan error, 1)
		go func() { stopped <- app.SetState(context.Background(), "slow-in-0", stream.StateStopped) }()
		close(release)
		if err := <-stopped; err != nil {
			t.Fatalf("stop: %v", err)
		}
		app.Stop(context.Background())
	}
}

func TestWithMiddlewareRunsOncePerMessage(t *testing.T) {
	var seen, calls atomic.Int64
	count := func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			seen.Add(1)
			return h(msg)
		}
	}
	c := stream.Consumer("flaky", func(context.Context, string) error {
		if calls.Add(1) < 3 {
			return errors.New("again")
		}
		return nil
	})
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"flaky-in-0": fast(stream.BindingProperties{Group: "g"}),
	}}, stream.WithBinder("memory", memory.New()), stream.WithMiddleware(count, middleware.NewThrottle(1000, time.Second).Middleware))
	app.Register(c)
	h := streamtest.Run(t, app)
	h.Send("flaky-in-0", "x")
	eventually(t, "three attempts", func() bool { return calls.Load() == 3 })
	if seen.Load() != 1 {
		t.Fatalf("application middleware ran %d times for one message retried 3 times, want 1 (it sits outside retries)", seen.Load())
	}
}

// A failed attempt's handler context stays whole while the next attempt
// runs: a goroutine the first attempt left reading it (the trace, the
// values) races with nothing the retry does (run with -race).
func TestRetryKeepsEarlierAttemptsContext(t *testing.T) {
	var calls atomic.Int64
	stop := make(chan struct{})
	var reader sync.WaitGroup
	keep := stream.Function("keep", func(ctx context.Context, s string) (string, error) {
		if calls.Add(1) == 1 {
			reader.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						_ = stream.Traceparent(ctx)
						_ = ctx.Value(struct{}{})
					}
				}
			})
			return "", errors.New("first attempt fails")
		}
		return s, nil
	})
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"keep-in-0": fast(stream.BindingProperties{Group: "g", MaxAttempts: 2}),
	}}, stream.WithBinder("memory", memory.New()))
	if err := app.Register(keep); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	h.Send("keep-in-0", "hi")
	got := streamtest.Receive[string](t, h, "keep-out-0").Payload
	close(stop)
	reader.Wait()
	if got != "hi" || calls.Load() != 2 {
		t.Fatalf("output %q after %d calls, want hi after 2", got, calls.Load())
	}
}
