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
)

// startDirect subscribes the unit's handler chain to a HandlerSubscriber,
// once per member. u.mu is held.
func (u *unit) startDirect(ctx context.Context, s HandlerSubscriber, p BindingProperties) error {
	u.direct = s
	u.calls = new(sync.WaitGroup)
	h := u.chain(u.calls)
	// The members live until the subscriber is closed, not as long as the
	// start context (fx cancels that one once the application started).
	live := context.WithoutCancel(ctx)
	for range p.Concurrency {
		if err := s.SubscribeHandler(live, p.Destination, h); err != nil {
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
	h := message.HandlerFunc(func(msg *message.Message) ([]*message.Message, error) {
		_, err := u.handle(msg)
		return nil, err
	})
	mws := u.middlewares()
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return func(msg *message.Message) (err error) {
		calls.Add(1)
		defer calls.Done()
		defer func() {
			if r := recover(); r != nil {
				u.app.log.Error("stream: handler panicked; the message comes again",
					slog.String("binding", u.inName), slog.String("message", msg.UUID),
					slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
				err = fmt.Errorf("stream: handler of message %s panicked: %v", msg.UUID, r)
			}
		}()
		_, err = h(msg)
		if err != nil && !errors.Is(err, context.Canceled) {
			u.app.log.Error("stream: handler failed; the message comes again",
				slog.String("binding", u.inName), slog.String("message", msg.UUID), slog.Any("error", err))
		}
		return err
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
