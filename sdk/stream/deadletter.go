package stream

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// Headers of a dead letter. The message keeps its own payload and
// CloudEvent attributes; these say why it died.
const (
	HeaderOriginalDestination = "x-original-destination"
	HeaderOriginalGroup       = "x-original-group"
	HeaderExceptionMessage    = "x-exception-message"
	HeaderAttempts            = "x-attempts"
)

// A DeadLetterNamer is a [Binder] with a naming convention of its own for
// dead-letter destinations: the Kafka binder's is Spring Cloud Stream's
// "error.<destination>.<group>". Where a binding with dlq: true sets no
// dlq-destination, the App asks the binding's binder, if it is a
// DeadLetterNamer, and otherwise uses [DefaultDeadLetterDestination]. An
// explicit dlq-destination always wins.
type DeadLetterNamer interface {
	// DeadLetterDestination names the dead-letter destination of a
	// binding reading destination as group; group is empty for an
	// anonymous binding. It must be a pure function of its arguments.
	DeadLetterDestination(destination, group string) string
}

// DefaultDeadLetterDestination is the dead-letter destination of a binding
// whose binder is no [DeadLetterNamer]: "<destination>.<group>.dlq", or
// "<destination>.dlq" without a group.
func DefaultDeadLetterDestination(destination, group string) string {
	if group == "" {
		return destination + ".dlq"
	}
	return destination + "." + group + ".dlq"
}

// deadLetterDestination applies b's naming, if it has one, to properties p
// whose dlq-destination was not configured.
func deadLetterDestination(b Binder, p BindingProperties) string {
	if n, ok := b.(DeadLetterNamer); ok {
		return n.DeadLetterDestination(p.Destination, p.Group)
	}
	return p.DLQDestination
}

type attemptsKey struct{}

// attemptsContext carries the attempt count of a message (the value of
// attemptsKey, an *int) in one allocation, and room for the context its
// first attempt's handler runs in (the value of handlerRoomKey; see
// handlerContext).
type attemptsContext struct {
	context.Context
	n int
	// handler is the first attempt's handler context; taken once it is.
	handler traceContext
	taken   bool
}

// handlerRoomKey is the context key of a message's *attemptsContext.
type handlerRoomKey struct{}

func (c *attemptsContext) Value(key any) any {
	switch key.(type) {
	case attemptsKey:
		return &c.n
	case handlerRoomKey:
		return c
	}
	return c.Context.Value(key)
}

// handlerContext returns withTrace(parent, traceparent, correlation) for
// the handler of a message: in the room its attempts context c has for the
// first attempt, else (a later attempt, whose predecessor's context may
// still be in use, or a message without one) newly allocated.
func handlerContext(c *attemptsContext, parent context.Context, traceparent, correlation string) context.Context {
	if c != nil && !c.taken {
		c.taken = true
		c.handler = traceOn(parent, traceparent, correlation)
		return &c.handler
	}
	return withTrace(parent, traceparent, correlation)
}

// The middleware of an input binding, outermost first:
//
//	gate        waits while the binding is paused
//	(WithMiddleware, the application's own: throttling, say)
//	deadLetter  after the last attempt: publish to the DLQ (or drop), ack
//	retry       watermill's Retry: back-off, skips permanent errors
//	count       counts attempts for the x-attempts header, times them
//	recoverer   watermill's Recoverer: a panic becomes an error (retried)
//	handler     decode, call, encode, send
//
// Retry sits inside deadLetter so that a message is retried before it is
// given up on; the order is tested.
func (u *unit) middlewares() []message.HandlerMiddleware {
	out := []message.HandlerMiddleware{u.gateMiddleware}
	out = append(out, u.app.middleware...)
	return append(out, u.attemptMiddlewares()...)
}

// attemptMiddlewares are the middleware inside the gate and the
// application's: dead letters, retries, attempt counts, Recoverer.
func (u *unit) attemptMiddlewares() []message.HandlerMiddleware {
	p := u.inProps
	retry := middleware.Retry{
		MaxRetries:      p.MaxAttempts - 1,
		InitialInterval: p.BackOffInitialInterval,
		MaxInterval:     p.BackOffMaxInterval,
		Multiplier:      p.BackOffMultiplier,
		ShouldRetry:     func(rp middleware.RetryParams) bool { return !IsPermanent(rp.Err) },
	}
	return []message.HandlerMiddleware{
		u.deadLetterMiddleware,
		firstAttemptOutside(retry),
		u.countMiddleware,
		middleware.Recoverer,
	}
}

// firstAttemptOutside is retry.Middleware, except that the first attempt is
// made before Watermill's Retry is involved: a message handled at once does
// not pay for Retry's per-message back-off state (a dozen allocations). A
// message whose first attempt fails goes through Retry with that attempt
// replayed as its first, so the attempts, back-off and ShouldRetry calls are
// exactly Retry's.
func firstAttemptOutside(retry middleware.Retry) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if first, ok := replayed(msg.Context()); ok {
				return retryAfter(retry, h, msg, nil, first, true)
			}
			if msg.Context().Err() != nil {
				return retryAfter(retry, h, msg, nil, nil, false)
			}
			out, err := h(msg)
			if err == nil {
				return out, nil
			}
			return retryAfter(retry, h, msg, out, err, true)
		}
	}
}

// replayContext is the context of a message whose first attempt was made
// without it (deliveryChain) and failed with first: the chain replays that
// attempt rather than making it again.
type replayContext struct {
	context.Context
	first error
}

// replayed returns the error of the first attempt at the message whose
// context (or attempts context) is ctx, when it was made without the
// message.
func replayed(ctx context.Context) (first error, ok bool) {
	if a, is := ctx.(*attemptsContext); is {
		ctx = a.Context
	}
	r, ok := ctx.(*replayContext)
	if !ok {
		return nil, false
	}
	return r.first, true
}

// retryAfter runs Watermill's Retry on msg; with replay, its first attempt
// returns out and err, the first attempt's result.
func retryAfter(retry middleware.Retry, h message.HandlerFunc, msg *message.Message, out []*message.Message, err error, replay bool) ([]*message.Message, error) {
	return retry.Middleware(func(m *message.Message) ([]*message.Message, error) {
		if replay {
			replay = false
			return out, err
		}
		return h(m)
	})(msg)
}

func (u *unit) gateMiddleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if err := u.pass(msg.Context()); err != nil {
			return nil, err
		}
		return h(msg)
	}
}

// pass waits while the binding is paused, for the message whose context is
// ctx, and counts it in; an error (the message's context or the binding
// ended) nacks the message: it is delivered again once running again.
func (u *unit) pass(ctx context.Context) error {
	if err := u.gate.wait(ctx, u.stopping()); err != nil {
		return err
	}
	u.app.metrics.MessageIn(u.inName)
	return nil
}

func (u *unit) countMiddleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if n, ok := msg.Context().Value(attemptsKey{}).(*int); ok {
			if *n++; *n > 1 {
				u.app.metrics.Retry(u.inName)
			}
		}
		return h(msg)
	}
}

func (u *unit) deadLetterMiddleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		actx := &attemptsContext{Context: msg.Context()}
		if _, ok := replayed(msg.Context()); ok {
			actx.n = 1 // its first attempt was made
		}
		attempts := &actx.n
		msg.SetContext(actx)
		out, err := h(msg)
		if err == nil {
			return out, nil
		}
		return u.giveUp(msg, *attempts, err)
	}
}

// giveUp handles a message that failed its last attempt: dead letter, or
// drop.
func (u *unit) giveUp(msg *message.Message, attempts int, err error) ([]*message.Message, error) {
	if u.shuttingDown(msg) {
		// Leave the message for the next run: not an error of its own.
		return nil, err
	}
	u.app.metrics.DeadLetter(u.inName)
	if !u.inProps.DLQ {
		u.app.log.Error("stream: message dropped after its last attempt (dlq is off)",
			slog.String("binding", u.inName), slog.String("id", msg.UUID),
			slog.Int("attempts", attempts), slog.Any("error", err))
		return nil, nil
	}
	dl := copyMessage(msg)
	delete(dl.Metadata, cloudevent.MetadataPartition)
	dl.Metadata[HeaderOriginalDestination] = u.inProps.Destination
	if u.inProps.Group != "" {
		dl.Metadata[HeaderOriginalGroup] = u.inProps.Group
	}
	dl.Metadata[HeaderExceptionMessage] = err.Error()
	dl.Metadata[HeaderAttempts] = strconv.Itoa(attempts)
	if perr := u.dlq.Publish(u.inProps.DLQDestination, dl); perr != nil {
		// Not acked: the message comes again rather than being lost.
		return nil, errors.Join(err, perr)
	}
	u.app.log.Warn("stream: message sent to the dead-letter destination",
		slog.String("binding", u.inName), slog.String("id", msg.UUID),
		slog.String("dlq", u.inProps.DLQDestination), slog.Int("attempts", attempts), slog.Any("error", err))
	return nil, nil
}

// shuttingDown reports whether the binding is stopping, or the message's
// subscription ended: then a failure is the shutdown's, not the message's.
// A handler's own context.Canceled while running is an ordinary error, so
// that it cannot make a message loop.
func (u *unit) shuttingDown(msg *message.Message) bool {
	if msg.Context().Err() != nil {
		return true
	}
	select {
	case <-u.stopping():
		return true
	default:
		return false
	}
}
