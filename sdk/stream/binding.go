package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// unit is one bound (possibly composed) function with its input and output
// bindings, which start, stop, pause and resume together.
type unit struct {
	app  *App
	name string
	st   *stage

	inName, outName          string // "" when absent
	inProps, outProps        BindingProperties
	inBinder, outBinder      Binder
	inBinderN, outBinderName string
	out                      *sender
	// inAttrs: the handler takes a Message, so received messages keep
	// their extensions and headers.
	inAttrs bool
	// gate holds messages of a paused binding whose subscriber cannot
	// pause itself, and a paused supplier's loop.
	gate *gate
	// paused is written under mu and read without it, like running.
	paused atomic.Bool

	// stopSig holds the channel closed when stopping begins. It is read
	// without mu: handlers read it while stop holds mu and waits for them.
	stopSig atomic.Pointer[chan struct{}]

	// running is written under mu and read without it, so that state
	// queries do not wait for a stop to finish draining.
	running atomic.Bool

	// mu serialises start and stop, and guards the fields below.
	mu     sync.Mutex
	router *message.Router
	// workers run the router's handler chain (see workers).
	workers *workers
	// direct is the input subscriber when it runs the handler chain itself
	// (a HandlerSubscriber); then there is no router.
	direct HandlerSubscriber
	// calls counts the direct subscriber's calls of the chain in progress.
	calls *sync.WaitGroup
	// pauser is the input subscriber when it pauses natively, else nil.
	pauser Pauser
	// pausedNatively: the binding is paused through pauser, not the gate.
	pausedNatively bool
	runDone        chan error    // receives router.Run's result
	stopCh         chan struct{} // closed when stopping begins
	hardCtx        context.Context
	hardStop       context.CancelFunc
	pub            message.Publisher
	dlq            message.Publisher
	supDone        chan struct{}
}

func (a *App) newUnit(st *stage) (*unit, error) {
	u := &unit{app: a, name: st.name, st: st, gate: newGate()}
	u.inAttrs = st.inType != nil && reflect.PointerTo(st.inType).Implements(reflect.TypeFor[receiver]())
	var errs []error
	if st.kind != kindSupplier {
		u.inName = InputBinding(st.name, 0)
		u.inProps = a.properties(u.inName)
		b, n, err := a.binderFor(u.inName, u.inProps)
		errs = append(errs, err)
		u.inBinder, u.inBinderN = b, n
	}
	if st.kind != kindConsumer {
		u.outName = OutputBinding(st.name, 0)
		u.outProps = a.properties(u.outName)
		b, n, err := a.binderFor(u.outName, u.outProps)
		errs = append(errs, err)
		u.outBinder, u.outBinderName = b, n
		if b != nil {
			u.out = &sender{app: a, binding: u.outName, props: u.outProps, conv: b.Convention(), key: st.key}
		}
	}
	return u, errors.Join(errs...)
}

func (u *unit) bindingNames() []string {
	var out []string
	if u.inName != "" {
		out = append(out, u.inName)
	}
	if u.outName != "" {
		out = append(out, u.outName)
	}
	return out
}

func (u *unit) autoStartup() bool {
	if u.inName != "" {
		return *u.inProps.AutoStartup
	}
	return *u.outProps.AutoStartup
}

func (u *unit) info() []BindingInfo {
	state := StateStopped
	if u.running.Load() {
		state = StateStarted
		if u.paused.Load() {
			state = StatePaused
		}
	}
	var out []BindingInfo
	if u.inName != "" {
		out = append(out, BindingInfo{Name: u.inName, Function: u.name, Kind: u.st.kind.String(), Input: true,
			Destination: u.inProps.Destination, Group: u.inProps.Group, Binder: u.inBinderN, State: state})
	}
	if u.outName != "" {
		out = append(out, BindingInfo{Name: u.outName, Function: u.name, Kind: u.st.kind.String(),
			Destination: u.outProps.Destination, Binder: u.outBinderName, State: state})
	}
	return out
}

// stopping returns the channel closed when the unit begins to stop (nil
// before the first start).
func (u *unit) stopping() <-chan struct{} {
	if p := u.stopSig.Load(); p != nil {
		return *p
	}
	return nil
}

// start opens the output, then the input (or the supplier's loop). It does
// nothing if the unit runs.
func (u *unit) start(ctx context.Context) (err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.running.Load() {
		return nil
	}
	u.gate.resume()
	u.paused.Store(false)
	u.pauser = nil
	u.pausedNatively = false
	stopCh := make(chan struct{})
	u.stopCh = stopCh
	u.stopSig.Store(&stopCh)
	u.hardCtx, u.hardStop = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			u.closeLocked(ctx)
		}
	}()
	if u.outName != "" {
		u.pub, err = u.outBinder.Publisher(ctx, Publication{Destination: u.outProps.Destination, Properties: u.outProps})
		if err != nil {
			return fmt.Errorf("open %s (destination %s): %w", u.outName, u.outProps.Destination, err)
		}
	}
	if u.st.kind == kindSupplier {
		u.supDone = make(chan struct{})
		go u.supply(u.hardCtx, u.stopCh, u.supDone)
		u.running.Store(true)
		return nil
	}
	p := u.inProps
	if p.DLQ {
		dp := BindingProperties{}.WithDefaults(p.DLQDestination)
		u.dlq, err = u.inBinder.Publisher(ctx, Publication{Destination: p.DLQDestination, Properties: dp})
		if err != nil {
			return fmt.Errorf("open dead-letter destination %s of %s: %w", p.DLQDestination, u.inName, err)
		}
	}
	sub := Subscription{Destination: p.Destination, Group: p.Group, StartOffset: p.StartOffset, Properties: p}
	if sub.Group == "" {
		sub.Group = "anonymous." + watermill.NewShortUUID()
		sub.Anonymous = true
		if sub.StartOffset == "" {
			sub.StartOffset = Latest
		}
	} else if sub.StartOffset == "" {
		sub.StartOffset = Earliest
	}
	if p.Partitioned && p.InstanceCount > 1 {
		for part := range max(p.PartitionCount, p.InstanceCount) {
			if part%p.InstanceCount == p.InstanceIndex {
				sub.Partitions = append(sub.Partitions, part)
			}
		}
	}
	s, err := u.inBinder.Subscriber(ctx, sub)
	if err != nil {
		return fmt.Errorf("open %s (destination %s, group %s): %w", u.inName, p.Destination, sub.Group, err)
	}
	if pr, ok := s.(Pauser); ok {
		u.pauser = pr
	}
	if hs, ok := s.(HandlerSubscriber); ok {
		return u.startDirect(ctx, hs, p)
	}
	s = &onceCloser{Subscriber: s}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: u.app.cfg.ShutdownTimeout}, u.app.wmLog)
	if err != nil {
		s.Close()
		return fmt.Errorf("router of %s: %w", u.inName, err)
	}
	for i := range p.Concurrency {
		r.AddConsumerHandler(fmt.Sprintf("%s-%d", u.inName, i), p.Destination, s, func(msg *message.Message) error {
			_, err := u.handle(msg)
			return err
		})
	}
	u.workers = newWorkers()
	r.AddMiddleware(u.workers.middleware)
	r.AddMiddleware(u.middlewares()...)
	u.router = r
	u.runDone = make(chan error, 1)
	go func(done chan<- error) { done <- r.Run(context.Background()) }(u.runDone)
	select {
	case <-r.Running():
	case err := <-u.runDone:
		u.runDone <- err
		if err == nil {
			err = errors.New("router stopped at once")
		}
		return fmt.Errorf("run %s: %w", u.inName, err)
	case <-ctx.Done():
		return ctx.Err()
	}
	u.running.Store(true)
	return nil
}

// stop drains and closes the unit. ctx and shutdown-timeout bound the wait
// for in-flight messages; past them, handlers see their context cancelled.
func (u *unit) stop(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.running.Load() {
		return nil
	}
	u.running.Store(false)
	return u.closeLocked(ctx)
}

func (u *unit) closeLocked(ctx context.Context) error {
	if u.hardStop != nil {
		defer context.AfterFunc(ctx, u.hardStop)()
	}
	if u.stopCh != nil {
		select {
		case <-u.stopCh:
		default:
			close(u.stopCh)
		}
	}
	var errs []error
	if u.supDone != nil {
		u.hardStop()
		<-u.supDone
		u.supDone = nil
	}
	if u.direct != nil {
		if err := u.closeDirect(); err != nil {
			errs = append(errs, err)
		}
	}
	if u.router != nil {
		timer := time.AfterFunc(u.app.cfg.ShutdownTimeout, u.hardStop)
		if err := u.router.Close(); err != nil {
			errs = append(errs, err)
		}
		timer.Stop()
		if err := <-u.runDone; err != nil {
			errs = append(errs, err)
		}
		u.router = nil
		u.workers.close()
	}
	// The publishers flush what the handlers queued (pipelined outputs)
	// before the handlers' context ends, which would cancel it; past
	// shutdown-timeout (or ctx) it ends anyway.
	if u.hardStop != nil {
		flush := time.AfterFunc(u.app.cfg.ShutdownTimeout, u.hardStop)
		defer flush.Stop()
	}
	if u.pub != nil {
		errs = append(errs, u.pub.Close())
		u.pub = nil
	}
	if u.dlq != nil {
		errs = append(errs, u.dlq.Close())
		u.dlq = nil
	}
	if u.hardStop != nil {
		u.hardStop()
	}
	return errors.Join(errs...)
}

// handle runs the function on one received message and sends its output.
func (u *unit) handle(msg *message.Message) ([]*message.Message, error) {
	in, traceparent, err := receive(msg, u.inBinder.Convention(), u.inProps.ContentType, u.inAttrs)
	if err != nil {
		return nil, err
	}
	room, _ := msg.Context().Value(handlerRoomKey{}).(*attemptsContext)
	return nil, u.process(msg.Context(), room, in, traceparent, middleware.MessageCorrelationID(msg))
}

// process decodes in, the payload of a message whose context is msgCtx,
// calls the handler with it, in a context carrying the trace and
// correlation id (in room, when not nil; see handlerContext), and sends
// its output, held in the message's commit hold.
func (u *unit) process(msgCtx context.Context, room *attemptsContext, in inbound, traceparent, correlation string) error {
	v, err := u.st.decode(in, u.app.codecs)
	if err != nil {
		return err
	}
	if correlation == "" {
		correlation = in.attrs.ID
	}
	ctx := handlerContext(room, u.hardCtx, traceparent, correlation)
	var began time.Time
	if u.app.timed {
		began = time.Now()
	}
	out, err := u.st.call(ctx, v)
	if u.app.timed {
		u.app.metrics.HandlerDuration(u.inName, time.Since(began))
	}
	if errors.Is(err, ErrNoOutput) {
		return nil
	}
	if err != nil {
		u.app.metrics.HandlerError(u.inName)
		return err
	}
	if u.outName == "" || isNil(out) {
		return nil
	}
	return u.sendHeld(ctx, CommitHoldFrom(msgCtx), out)
}

func (u *unit) send(ctx context.Context, v any) error {
	return u.sendHeld(ctx, nil, v)
}

// sendHeld sends v. With a hold (the input's subscriber supports them) and
// an output publisher that is an AsyncPublisher, it only queues v: the hold
// keeps the input's offset from being committed until v is stored.
func (u *unit) sendHeld(ctx context.Context, hold *CommitHold, v any) error {
	ob, err := newOutbound(v)
	if errors.Is(err, ErrNoOutput) {
		return nil
	}
	ap, async := u.pub.(AsyncPublisher)
	async = async && hold != nil
	var out *heldOutput
	var room *cloudevent.BinaryEvent
	if async {
		out = &heldOutput{u: u, h: hold}
		room = &out.ev
	}
	ev, m, err := u.out.encode(ctx, &ob, room)
	if err != nil {
		return err
	}
	if async {
		hold.add() // before the input's ack; out completes it
	}
	if ev != nil {
		if ep, ok := ap.(EventPublisher); ok && async && ep.PublishEvent(ctx, u.outProps.Destination, ev, u.out.conv, out.stored) {
			return nil
		}
		if m, err = u.out.eventMessage(ev, &ob); err != nil {
			if out != nil {
				out.release() // nothing pending: the failed handler's input is nacked
			}
			return err
		}
	}
	if async {
		ap.PublishAsync(ctx, u.outProps.Destination, m, out.stored)
		return nil
	}
	if err := u.pub.Publish(u.outProps.Destination, m); err != nil {
		return fmt.Errorf("send to %s: %w", u.outProps.Destination, err)
	}
	u.app.metrics.MessageOut(u.outName)
	return nil
}

// heldOutput is an output published asynchronously, pending in its
// input's commit hold, with room for its event: with the func value of its
// stored method, two allocations for the output's event, its place in the
// hold and the completion that counts it.
type heldOutput struct {
	u    *unit
	h    *CommitHold
	done atomic.Bool
	ev   cloudevent.BinaryEvent
}

// stored completes the output: it counts it, or logs why it was not
// stored, and completes it in its hold. Calls after the first do nothing.
func (o *heldOutput) stored(err error) {
	if !o.done.CompareAndSwap(false, true) {
		return
	}
	u := o.u
	if err != nil {
		u.app.metrics.HandlerError(u.outName)
		u.app.log.Warn("stream: output not stored; its input comes again",
			slog.String("binding", u.outName), slog.Any("error", err))
	} else {
		u.app.metrics.MessageOut(u.outName)
	}
	o.h.complete(err)
}

// release completes an output that was never published, without counting
// it.
func (o *heldOutput) release() {
	if o.done.CompareAndSwap(false, true) {
		o.h.complete(nil)
	}
}

// supply runs a supplier until ctx is done or stop is closed: polled every
// poller-fixed-delay, or pushed as values arrive.
func (u *unit) supply(ctx context.Context, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	delay := u.outProps.PollerFixedDelay
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if !u.st.pushed {
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			case <-stop:
				return
			}
		}
		if u.gate.wait(ctx, stop) != nil {
			return
		}
		select {
		case <-stop: // the open gate does not look at stop
			return
		default:
		}
		out, ok, err := u.st.poll(withTrace(ctx, "", ""))
		switch {
		case !ok:
			u.app.log.Info("stream: supplier channel closed", slog.String("binding", u.outName))
			return
		case errors.Is(err, ErrNoOutput), err == nil && isNil(out):
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			u.app.metrics.HandlerError(u.outName)
			u.app.log.Error("stream: supplier failed", slog.String("binding", u.outName), slog.Any("error", err))
		default:
			if err := u.send(ctx, out); err != nil {
				u.app.metrics.HandlerError(u.outName)
				u.app.log.Error("stream: supplier output not sent", slog.String("binding", u.outName), slog.Any("error", err))
			}
		}
		if !u.st.pushed {
			timer.Reset(delay)
		}
	}
}

// onceCloser lets the router close a subscriber shared by several handlers.
type onceCloser struct {
	message.Subscriber
	once sync.Once
	err  error
}

func (o *onceCloser) Close() error {
	o.once.Do(func() { o.err = o.Subscriber.Close() })
	return o.err
}
