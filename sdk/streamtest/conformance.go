package streamtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// Features is what a binder declares to the conformance suite, like
// Watermill's pubsub/tests Features.
type Features struct {
	stream.Features
	// Timeout bounds every wait for a message. Default 10s.
	Timeout time.Duration
	// Quiet is how long a test watches for a message that must not come
	// (a paused binding). Default 200ms.
	Quiet time.Duration
}

// NewBinder returns a binder for one test. For a Durable binder, two binders
// made in the same test reach the same backing store (a restart). The suite
// closes what it gets (directly, or through the App that owns it).
type NewBinder func(t testing.TB) stream.Binder

// TestBinder runs the conformance suite against a binder.
func TestBinder(t *testing.T, f Features, newBinder NewBinder) {
	if f.Timeout == 0 {
		f.Timeout = 10 * time.Second
	}
	if f.Quiet == 0 {
		f.Quiet = 200 * time.Millisecond
	}
	s := &suite{f: f, newBinder: newBinder}
	t.Run("RoundTripBinary", s.roundTrip(cloudevent.Binary))
	t.Run("RoundTripStructured", s.roundTrip(cloudevent.Structured))
	t.Run("ExternalMessage", s.externalMessage)
	t.Run("GroupsEachGetEverything", s.groups)
	t.Run("MembersShare", s.membersShare)
	t.Run("PartitionOrder", s.partitionOrder)
	t.Run("AnonymousFromNow", s.anonymous)
	t.Run("RedeliveryAfterNack", s.redelivery)
	t.Run("ResumeAfterResubscribe", s.resubscribe)
	t.Run("RetriesThenDeadLetter", s.retriesThenDeadLetter)
	t.Run("PermanentErrorSkipsRetries", s.permanent)
	t.Run("UndecodableToDeadLetter", s.undecodable)
	t.Run("PauseResume", s.pauseResume)
	t.Run("Concurrency", s.concurrency)
	t.Run("FunctionPipeline", s.functionPipeline)
	t.Run("PipelinedOutputsInOrder", s.pipelinedOrder)
	t.Run("PipelinedOutputFailureRedelivers", s.pipelinedFailure)
	t.Run("HandlerOrderAndRedelivery", s.handlerOrder)
	t.Run("HandlerCloseWaitsForCall", s.handlerClose)
	if f.Retention {
		t.Run("EarliestReadsRetained", s.earliest)
	}
	if f.Durable {
		t.Run("NoLossAcrossRestart", s.restart)
	}
}

type suite struct {
	f         Features
	newBinder NewBinder
}

func destination(t testing.TB) string {
	return "conformance." + watermill.NewShortUUID()
}

// binder returns a binder closed when the test ends.
func (s *suite) binder(t testing.TB) stream.Binder {
	t.Helper()
	b := s.newBinder(t)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close binder: %v", err)
		}
	})
	return b
}

func (s *suite) publisher(t testing.TB, b stream.Binder, dest string, partitions int) message.Publisher {
	t.Helper()
	props := stream.BindingProperties{PartitionCount: partitions}.WithDefaults(dest)
	p, err := b.Publisher(t.Context(), stream.Publication{Destination: dest, Properties: props})
	if err != nil {
		t.Fatalf("Publisher(%s): %v", dest, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// subscribe opens a subscriber of group on dest with n members.
func (s *suite) subscribe(t testing.TB, b stream.Binder, dest, group string, n int, start stream.StartOffset) (message.Subscriber, []<-chan *message.Message) {
	t.Helper()
	sub := stream.Subscription{Destination: dest, Group: group, StartOffset: start,
		Properties: stream.BindingProperties{Group: group, Concurrency: n}.WithDefaults(dest)}
	if group == "" {
		sub.Group, sub.Anonymous, sub.StartOffset = "anonymous."+watermill.NewShortUUID(), true, stream.Latest
	}
	ws, err := b.Subscriber(t.Context(), sub)
	if err != nil {
		t.Fatalf("Subscriber(%s, %s): %v", dest, group, err)
	}
	var chans []<-chan *message.Message
	for range n {
		ch, err := ws.Subscribe(context.WithoutCancel(t.Context()), dest)
		if err != nil {
			t.Fatalf("Subscribe(%s): %v", dest, err)
		}
		chans = append(chans, ch)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, chans
}

// event makes a CloudEvent with every attribute set and random data.
func testEvent(i int, key string) event.Event {
	e := event.New()
	e.SetID(fmt.Sprintf("id-%d-%s", i, watermill.NewShortUUID()))
	e.SetSource("urn:conformance")
	e.SetType("conformance.test")
	e.SetSubject("subject-" + strconv.Itoa(i))
	e.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
	e.SetDataContentType(cloudevent.OctetStream)
	e.SetExtension(cloudevent.TraceparentExtension, cloudevent.NewTraceparent())
	e.SetExtension("seq", strconv.Itoa(i))
	if key != "" {
		e.SetExtension(cloudevent.PartitionKeyExtension, key)
	}
	data := make([]byte, 64+rand.IntN(512))
	for j := range data {
		data[j] = byte(rand.Uint32())
	}
	e.DataEncoded = data
	e.DataBase64 = true
	return e
}

func (s *suite) send(t testing.TB, b stream.Binder, p message.Publisher, dest string, mode cloudevent.Mode, e event.Event, partitions int) *message.Message {
	t.Helper()
	m, err := cloudevent.ToMessage(e, mode, b.Convention())
	if err != nil {
		t.Fatalf("ToMessage: %v", err)
	}
	if k, ok := e.Extensions()[cloudevent.PartitionKeyExtension]; ok && partitions > 1 {
		m.Metadata[cloudevent.MetadataPartition] = strconv.Itoa(stream.Partition(k.(string), partitions))
	}
	m.Metadata["x-app-header"] = "value-" + e.ID()
	if err := p.Publish(dest, m); err != nil {
		t.Fatalf("Publish(%s): %v", dest, err)
	}
	return m
}

// receive waits for one message on ch.
func (s *suite) receive(t testing.TB, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatalf("subscription closed while waiting for a message")
		}
		return m
	case <-time.After(s.f.Timeout):
		t.Fatalf("no message within %v", s.f.Timeout)
	}
	return nil
}

func decode(t testing.TB, b stream.Binder, m *message.Message) event.Event {
	t.Helper()
	e, err := cloudevent.FromMessage(m, b.Convention())
	if err != nil {
		t.Fatalf("FromMessage: %v", err)
	}
	return e
}

func (s *suite) roundTrip(mode cloudevent.Mode) func(t *testing.T) {
	return func(t *testing.T) {
		b := s.binder(t)
		dest := destination(t)
		_, chans := s.subscribe(t, b, dest, "g", 1, stream.Earliest)
		p := s.publisher(t, b, dest, 1)
		want := testEvent(1, "key-1")
		s.send(t, b, p, dest, mode, want, 1)
		m := s.receive(t, chans[0])
		m.Ack()
		got := decode(t, b, m)
		if got.ID() != want.ID() || got.Source() != want.Source() || got.Type() != want.Type() ||
			got.Subject() != want.Subject() || !got.Time().Equal(want.Time()) ||
			got.DataContentType() != want.DataContentType() || got.SpecVersion() != "1.0" {
			t.Errorf("attributes = %v, want %v", got.Context, want.Context)
		}
		for _, ext := range []string{cloudevent.TraceparentExtension, "seq", cloudevent.PartitionKeyExtension} {
			if g, w := fmt.Sprint(got.Extensions()[ext]), fmt.Sprint(want.Extensions()[ext]); g != w {
				t.Errorf("extension %s = %q, want %q", ext, g, w)
			}
		}
		if !bytes.Equal(got.Data(), want.Data()) {
			t.Errorf("data = %d bytes %x..., want %d bytes %x...", len(got.Data()), head(got.Data()), len(want.Data()), head(want.Data()))
		}
		if h := cloudevent.Headers(m, b.Convention())["x-app-header"]; h != "value-"+want.ID() {
			t.Errorf("header x-app-header = %q, want %q", h, "value-"+want.ID())
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }

func (s *suite) externalMessage(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	_, chans := s.subscribe(t, b, dest, "g", 1, stream.Earliest)
	p := s.publisher(t, b, dest, 1)
	raw := message.NewMessage(watermill.NewUUID(), []byte("plain text from kcat"))
	if err := p.Publish(dest, raw); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	m := s.receive(t, chans[0])
	m.Ack()
	e := decode(t, b, m)
	if string(e.Data()) != "plain text from kcat" || e.Source() != cloudevent.ExternalSource || e.ID() == "" {
		t.Errorf("external message decoded as %v with data %q", e.Context, e.Data())
	}
}

// collect reads n messages from ch, acking each, and returns their seq
// extensions.
func (s *suite) collect(t testing.TB, b stream.Binder, ch <-chan *message.Message, n int) []int {
	t.Helper()
	var out []int
	for range n {
		m := s.receive(t, ch)
		m.Ack()
		seq, _ := strconv.Atoi(fmt.Sprint(decode(t, b, m).Extensions()["seq"]))
		out = append(out, seq)
	}
	return out
}

func (s *suite) groups(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	_, a := s.subscribe(t, b, dest, "a", 1, stream.Earliest)
	_, c := s.subscribe(t, b, dest, "c", 1, stream.Earliest)
	p := s.publisher(t, b, dest, 1)
	const n = 20
	for i := range n {
		s.send(t, b, p, dest, cloudevent.Binary, testEvent(i, ""), 1)
	}
	for name, ch := range map[string]<-chan *message.Message{"a": a[0], "c": c[0]} {
		got := s.collect(t, b, ch, n)
		seen := map[int]bool{}
		for _, seq := range got {
			seen[seq] = true
		}
		if len(seen) != n {
			t.Errorf("group %s got %d distinct messages of %d: %v", name, len(seen), n, got)
		}
	}
}

func (s *suite) membersShare(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	const partitions, n = 4, 40
	p := s.publisher(t, b, dest, partitions)
	_, chans := s.subscribe(t, b, dest, "shared", 2, stream.Earliest)
	var mu sync.Mutex
	counts := map[int]int{}
	perMember := make([]int, len(chans))
	var wg sync.WaitGroup
	var total atomic.Int64
	done := make(chan struct{})
	for i, ch := range chans {
		wg.Go(func() {
			for {
				select {
				case m, ok := <-ch:
					if !ok {
						return
					}
					seq, _ := strconv.Atoi(fmt.Sprint(decode(t, b, m).Extensions()["seq"]))
					m.Ack()
					mu.Lock()
					counts[seq]++
					perMember[i]++
					mu.Unlock()
					if total.Add(1) == n {
						close(done)
					}
				case <-done:
					return
				}
			}
		})
	}
	for i := range n {
		s.send(t, b, p, dest, cloudevent.Binary, testEvent(i, "k"+strconv.Itoa(i)), partitions)
	}
	select {
	case <-done:
	case <-time.After(s.f.Timeout):
		t.Fatalf("received %d of %d messages", total.Load(), n)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for seq, c := range counts {
		if c != 1 {
			t.Errorf("message %d delivered %d times in one group", seq, c)
		}
	}
	for i, c := range perMember {
		if c == 0 {
			t.Errorf("member %d of 2 got nothing (per member: %v)", i, perMember)
		}
	}
}

// keyedPublisher returns a publisher of dest, which it creates with 3
// partitions when the binder has partitions, and that partition count.
func (s *suite) keyedPublisher(t testing.TB, b stream.Binder, dest string) (message.Publisher, int) {
	t.Helper()
	partitions := 1
	if s.f.Partitions {
		partitions = 3
	}
	return s.publisher(t, b, dest, partitions), partitions
}

// sendKeyed sends events 0 to n-1 through p, event i with key
// "key-<i mod keys>", spread over partitions as the SDK spreads keys.
func (s *suite) sendKeyed(t testing.TB, b stream.Binder, p message.Publisher, dest string, partitions, n, keys int) {
	t.Helper()
	for i := range n {
		s.send(t, b, p, dest, cloudevent.Binary, testEvent(i, "key-"+strconv.Itoa(i%keys)), partitions)
	}
}

func (s *suite) partitionOrder(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	p, partitions := s.keyedPublisher(t, b, dest)
	_, chans := s.subscribe(t, b, dest, "ordered", 1, stream.Earliest)
	const keys, perKey = 5, 20
	s.sendKeyed(t, b, p, dest, partitions, keys*perKey, keys)
	got := s.collect(t, b, chans[0], keys*perKey)
	last := map[int]int{}
	for _, seq := range got {
		k := seq % keys
		if prev, ok := last[k]; ok && seq < prev {
			t.Fatalf("key %d: message %d after %d; order per key is lost: %v", k, seq, prev, got)
		}
		last[k] = seq
	}
}

func (s *suite) anonymous(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	p := s.publisher(t, b, dest, 1)
	s.send(t, b, p, dest, cloudevent.Binary, testEvent(0, ""), 1)
	_, chans := s.subscribe(t, b, dest, "", 1, stream.Latest)
	s.send(t, b, p, dest, cloudevent.Binary, testEvent(1, ""), 1)
	if got := s.collect(t, b, chans[0], 1); got[0] != 1 {
		t.Fatalf("anonymous subscription got message %d first, want 1 (sent after it was made)", got[0])
	}
}

func (s *suite) redelivery(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	_, chans := s.subscribe(t, b, dest, "g", 1, stream.Earliest)
	p := s.publisher(t, b, dest, 1)
	want := testEvent(7, "")
	s.send(t, b, p, dest, cloudevent.Binary, want, 1)
	first := s.receive(t, chans[0])
	first.Nack()
	again := s.receive(t, chans[0])
	again.Ack()
	got := decode(t, b, again)
	if got.ID() != want.ID() || !bytes.Equal(got.Data(), want.Data()) {
		t.Fatalf("after Nack got event %s, want %s again", got.ID(), want.ID())
	}
}

func (s *suite) resubscribe(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	sub, chans := s.subscribe(t, b, dest, "durable", 1, stream.Earliest)
	p := s.publisher(t, b, dest, 1)
	for i := range 3 {
		s.send(t, b, p, dest, cloudevent.Binary, testEvent(i, ""), 1)
	}
	if got := s.collect(t, b, chans[0], 3); fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("first run got %v, want [0 1 2]", got)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := 3; i < 6; i++ {
		s.send(t, b, p, dest, cloudevent.Binary, testEvent(i, ""), 1)
	}
	_, chans = s.subscribe(t, b, dest, "durable", 1, stream.Earliest)
	if got := s.collect(t, b, chans[0], 3); fmt.Sprint(got) != "[3 4 5]" {
		t.Fatalf("after resubscribing got %v, want [3 4 5]", got)
	}
}

func (s *suite) earliest(t *testing.T) {
	b := s.binder(t)
	dest := destination(t)
	p := s.publisher(t, b, dest, 1)
	for i := range 3 {
		s.send(t, b, p, dest, cloudevent.Binary, testEvent(i, ""), 1)
	}
	_, chans := s.subscribe(t, b, dest, "late", 1, stream.Earliest)
	if got := s.collect(t, b, chans[0], 3); fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("new group at earliest got %v, want [0 1 2]", got)
	}
}

func (s *suite) restart(t *testing.T) {
	dest := destination(t)
	b1 := s.newBinder(t)
	sub, chans := s.subscribe(t, b1, dest, "durable", 1, stream.Earliest)
	p := s.publisher(t, b1, dest, 1)
	for i := range 3 {
		s.send(t, b1, p, dest, cloudevent.Binary, testEvent(i, ""), 1)
	}
	s.collect(t, b1, chans[0], 3)
	sub.Close()
	p.Close()
	if err := b1.Close(); err != nil {
		t.Fatalf("close first binder: %v", err)
	}
	b2 := s.binder(t)
	p2 := s.publisher(t, b2, dest, 1)
	for i := 3; i < 6; i++ {
		s.send(t, b2, p2, dest, cloudevent.Binary, testEvent(i, ""), 1)
	}
	_, chans = s.subscribe(t, b2, dest, "durable", 1, stream.Earliest)
	if got := s.collect(t, b2, chans[0], 3); fmt.Sprint(got) != "[3 4 5]" {
		t.Fatalf("after restart got %v, want [3 4 5]", got)
	}
}

// app starts an application on a fresh binder for the test.
func (s *suite) app(t *testing.T, cfg stream.Config, hs ...stream.Handler) *Harness {
	t.Helper()
	app := stream.New(cfg, stream.WithBinder("b", s.newBinder(t)))
	if err := app.Register(hs...); err != nil {
		t.Fatal(err)
	}
	return Run(t, app, WithTimeout(s.f.Timeout))
}

func fastRetries(p stream.BindingProperties) stream.BindingProperties {
	p.BackOffInitialInterval = time.Millisecond
	p.BackOffMaxInterval = 5 * time.Millisecond
	return p
}

func (s *suite) retriesThenDeadLetter(t *testing.T) {
	dest := destination(t)
	var calls atomic.Int64
	fail := stream.Consumer("fail", func(ctx context.Context, in string) error {
		calls.Add(1)
		return errors.New("boom")
	})
	h := s.app(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"fail-in-0": fastRetries(stream.BindingProperties{Destination: dest, Group: "g", MaxAttempts: 3, DLQ: true}),
	}}, fail)
	h.Send("fail-in-0", "doomed")
	// The dead-letter destination's name is the binder's choice.
	dl := Receive[string](t, h, h.App().Properties("fail-in-0").DLQDestination)
	if dl.Payload != "doomed" {
		t.Errorf("dead letter payload = %q, want doomed", dl.Payload)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("handler called %d times, want 3 (max-attempts)", got)
	}
	wantHeaders := map[string]string{
		stream.HeaderOriginalDestination: dest,
		stream.HeaderOriginalGroup:       "g",
		stream.HeaderExceptionMessage:    "boom",
		stream.HeaderAttempts:            "3",
	}
	for k, v := range wantHeaders {
		if dl.Headers[k] != v {
			t.Errorf("dead letter header %s = %q, want %q (headers %v)", k, dl.Headers[k], v, dl.Headers)
		}
	}
}

func (s *suite) permanent(t *testing.T) {
	dest := destination(t)
	var calls atomic.Int64
	fail := stream.Consumer("fail", func(ctx context.Context, in string) error {
		calls.Add(1)
		return stream.Permanent(errors.New("bad order"))
	})
	h := s.app(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"fail-in-0": fastRetries(stream.BindingProperties{Destination: dest, Group: "g", MaxAttempts: 5, DLQ: true}),
	}}, fail)
	h.Send("fail-in-0", "x")
	dl := Receive[string](t, h, h.App().Properties("fail-in-0").DLQDestination)
	if calls.Load() != 1 || dl.Headers[stream.HeaderAttempts] != "1" {
		t.Errorf("permanent error: %d calls, x-attempts %q; want 1 and 1", calls.Load(), dl.Headers[stream.HeaderAttempts])
	}
}

type order struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

func (s *suite) undecodable(t *testing.T) {
	dest := destination(t)
	var calls atomic.Int64
	c := stream.Consumer("orders", func(ctx context.Context, o order) error {
		calls.Add(1)
		return nil
	})
	h := s.app(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"orders-in-0": fastRetries(stream.BindingProperties{Destination: dest, Group: "g", DLQ: true}),
	}}, c)
	h.Send("orders-in-0", stream.Message[string]{Payload: "{not json", ContentType: cloudevent.JSON})
	dl := h.Raw(h.App().Properties("orders-in-0").DLQDestination)
	if string(dl.Payload) != "{not json" {
		t.Errorf("dead letter payload = %q, want the original bytes", dl.Payload)
	}
	if calls.Load() != 0 || dl.Metadata[stream.HeaderAttempts] != "1" {
		t.Errorf("undecodable message: handler called %d times, x-attempts %q; want 0 and 1", calls.Load(), dl.Metadata[stream.HeaderAttempts])
	}
	if !bytes.Contains([]byte(dl.Metadata[stream.HeaderExceptionMessage]), []byte("decode")) {
		t.Errorf("reason %q does not say the payload could not be decoded", dl.Metadata[stream.HeaderExceptionMessage])
	}
}

func (s *suite) pauseResume(t *testing.T) {
	dest := destination(t)
	got := make(chan string, 10)
	c := stream.Consumer("sink", func(ctx context.Context, in string) error {
		got <- in
		return nil
	})
	h := s.app(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"sink-in-0": {Destination: dest, Group: "g"},
	}}, c)
	app := h.App()
	h.Send("sink-in-0", "one")
	expect(t, got, "one", s.f.Timeout)
	if err := app.SetState(t.Context(), "sink-in-0", stream.StatePaused); err != nil {
		t.Fatal(err)
	}
	if bi, _ := app.Binding("sink-in-0"); bi.State != stream.StatePaused {
		t.Fatalf("state = %s, want PAUSED", bi.State)
	}
	h.Send("sink-in-0", "two")
	select {
	case v := <-got:
		t.Fatalf("paused binding handled %q", v)
	case <-time.After(s.f.Quiet):
	}
	if err := app.SetState(t.Context(), "sink-in-0", stream.StateResumed); err != nil {
		t.Fatal(err)
	}
	expect(t, got, "two", s.f.Timeout)
	if bi, _ := app.Binding("sink-in-0"); bi.State != stream.StateStarted {
		t.Fatalf("state after resume = %s, want STARTED", bi.State)
	}
}

func expect[T comparable](t testing.TB, ch <-chan T, want T, timeout time.Duration) {
	t.Helper()
	select {
	case v := <-ch:
		if v != want {
			t.Fatalf("got %v, want %v", v, want)
		}
	case <-time.After(timeout):
		t.Fatalf("nothing within %v, want %v", timeout, want)
	}
}

func (s *suite) concurrency(t *testing.T) {
	dest := destination(t)
	const parallel = 3
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	done := make(chan struct{}, 100)
	c := stream.Consumer("slow", func(ctx context.Context, in string) error {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n >= parallel {
			select {
			case <-release:
			default:
				close(release)
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		inFlight.Add(-1)
		done <- struct{}{}
		return nil
	})
	h := s.app(t, stream.Config{Bindings: map[string]stream.BindingProperties{
		"slow-in-0": {Destination: dest, Group: "g", Concurrency: parallel, PartitionCount: parallel},
	}}, c)
	for i := range parallel * 4 {
		h.Send("slow-in-0", stream.Message[string]{Payload: "m", Key: "key-" + strconv.Itoa(i)})
	}
	for range parallel * 4 {
		select {
		case <-done:
		case <-time.After(s.f.Timeout):
			t.Fatalf("handlers did not run %d at a time (peak %d)", parallel, peak.Load())
		}
	}
	if peak.Load() < parallel {
		t.Fatalf("peak concurrency %d, want %d", peak.Load(), parallel)
	}
}

func (s *suite) functionPipeline(t *testing.T) {
	in, out := destination(t), destination(t)
	f := stream.Function("double", func(ctx context.Context, o stream.Message[order]) (stream.Message[order], error) {
		o.Payload.Total *= 2
		o.Subject = "doubled"
		return o, nil
	})
	h := s.app(t, stream.Config{Application: "conformance", Bindings: map[string]stream.BindingProperties{
		"double-in-0":  {Destination: in, Group: "g"},
		"double-out-0": {Destination: out},
	}}, f)
	h.Send("double-in-0", stream.Message[order]{Payload: order{ID: "o1", Total: 21}, Key: "o1"})
	got := Receive[order](t, h, "double-out-0")
	if got.Payload != (order{ID: "o1", Total: 42}) || got.Subject != "doubled" || got.Source != "conformance" {
		t.Fatalf("got %+v", got)
	}
	if got.Key != "o1" {
		t.Errorf("key = %q, want o1 (the input's key is kept when the handler passes the message on)", got.Key)
	}
	if !cloudevent.ValidTraceparent(got.Extensions[cloudevent.TraceparentExtension]) {
		t.Errorf("traceparent %q is not a valid W3C traceparent", got.Extensions[cloudevent.TraceparentExtension])
	}
}
