package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// startDirect subscribes the unit's handler chain to a HandlerSubscriber,
// once per member: as deliveries (deliveryChain) when it is a
// DeliverySubscriber, the handler takes a payload type and the
// application has no middleware of its own, else as messages (chain).
// u.mu is held.
func (u *unit) startDirect(ctx context.Context, s HandlerSubscriber, p BindingProperties) error {
	u.direct = s
	u.calls = new(sync.WaitGroup)
	ds, deliveries := s.(DeliverySubscriber)
	deliveries = deliveries && len(u.app.middleware) == 0 && !u.inAttrs
	var h func(*message.Message) error
	var hd func(Delivery) error
	if deliveries {
		hd = u.deliveryChain(u.calls)
	} else {
		h = u.chain(u.calls)
	}
	// The members live until the subscriber is closed, not as long as the
	// start context (fx cancels that one once the application started).
	live := context.WithoutCancel(ctx)
	for range p.Concurrency {
		var err error
		if deliveries {
			err = ds.SubscribeDeliveries(live, p.Destination, hd)
		} else {
			err = s.SubscribeHandler(live, p.Destination, h)
		}
		if err != nil {
			return fmt.Errorf("open %s (destination %s, group %s): %w", u.inName, p.Destination, p.Group, err)
		}
	}
	u.running.Store(true)
	return nil
}

// chain is the handler a HandlerSubscriber calls: the unit's middleware
// around handle, composed as a Watermill router composes a handler's
// middleware (the first is outermost). As on the router, an error from it
// is logged and nacks the message, and so does a panic anywhere in it, the
// application's middleware included. calls counts the calls in progress.
func (u *unit) chain(calls *sync.WaitGroup) func(*message.Message) error {
	h := u.compose(u.middlewares())
	return func(msg *message.Message) (err error) {
		calls.Add(1)
		defer calls.Done()
		defer u.recoverCall(&msg.UUID, &err)
		_, err = h(msg)
		u.logFailure(msg, err)
		return err
	}
}

// compose wraps handle in mws, the first outermost.
func (u *unit) compose(mws []message.HandlerMiddleware) message.HandlerFunc {
	h := message.HandlerFunc(func(msg *message.Message) ([]*message.Message, error) {
		_, err := u.handle(msg)
		return nil, err
	})
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// deliveryChain is chain for a DeliverySubscriber: the gate, then a first
// attempt made without a Watermill message (attempt) when the delivery is
// a plain binary-mode CloudEvent, as handle would make it; a delivery that
// is not, or whose first attempt failed, goes on as its message through
// the rest of the chain (dead letters, retries replaying the failed
// attempt, attempt counts, handle), exactly as chain would have taken it.
func (u *unit) deliveryChain(calls *sync.WaitGroup) func(Delivery) error {
	rest := u.compose(u.attemptMiddlewares()) // no application middleware here
	conv := u.inBinder.Convention()
	return func(d Delivery) (err error) {
		calls.Add(1)
		defer calls.Done()
		var msg *message.Message
		id := "" // the message's, once known
		defer u.recoverCall(&id, &err)
		ctx := d.Context()
		if err := u.pass(ctx); err != nil {
			return err
		}
		// A message whose context ended goes to the chain's retry without
		// an attempt of its own (firstAttemptOutside).
		if b, ok := d.Binary(conv); ok && ctx.Err() == nil {
			id = b.Attributes.ID
			first := u.attempt(ctx, b)
			if first == nil {
				return nil
			}
			msg = d.Message()
			msg.SetContext(&replayContext{Context: msg.Context(), first: first})
		} else {
			msg = d.Message()
		}
		id = msg.UUID
		_, err = rest(msg)
		u.logFailure(msg, err)
		return err
	}
}

// attempt is the first attempt at a message read as b, whose context is
// ctx: handle's work without the message, and Recoverer's, which makes a
// panic an error.
func (u *unit) attempt(ctx context.Context, b BinaryDelivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = middleware.RecoveredPanicError{V: r, Stacktrace: string(debug.Stack())}
		}
	}()
	return u.process(ctx, nil, binaryInbound(&b.Attributes, b.Data), b.Attributes.Traceparent, b.Correlation)
}

// recoverCall, deferred, makes a panic of a handler call an error and logs
// it, with the id of the message (*id, "" when not known yet).
func (u *unit) recoverCall(id *string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	u.app.log.Error("stream: handler panicked; the message comes again",
		slog.String("binding", u.inName), slog.String("message", *id),
		slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
	*err = fmt.Errorf("stream: handler of message %s panicked: %v", *id, r)
}

// logFailure logs the error a handler call of msg ended with, if any.
func (u *unit) logFailure(msg *message.Message, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		u.app.log.Error("stream: handler failed; the message comes again",
			slog.String("binding", u.inName), slog.String("message", msg.UUID), slog.Any("error", err))
	}
}

// closeDirect closes the subscriber of a unit run by it, then waits for the
// calls still in progress (the subscriber may give up on them sooner, at its
// own close timeout) until the handlers' context ends: at shutdown-timeout,
// as the router waits for its handlers, or when closeLocked's ctx ends.
// u.mu is held.
func (u *unit) closeDirect() error {
	hard := time.AfterFunc(u.app.cfg.ShutdownTimeout, u.hardStop)
	defer hard.Stop()
	err := u.direct.Close()
	drained := make(chan struct{})
	go func(calls *sync.WaitGroup) {
		calls.Wait()
		close(drained)
	}(u.calls)
	select {
	case <-drained:
	case <-u.hardCtx.Done():
	}
	u.direct, u.calls = nil, nil
	return err
}
