// Package stream is the Millstream programming model: plain, typed Go
// functions bound to message destinations, in the style of Spring Cloud
// Stream.
//
// # Handlers
//
// A function takes a value and returns one, which is sent on; a consumer
// only takes; a supplier only produces, polled on an interval or pushed
// through a channel:
//
//	stream.Function("uppercase", func(ctx context.Context, in string) (string, error) { ... })
//	stream.Consumer("audit", func(ctx context.Context, m stream.Message[Order]) error { ... })
//	stream.Supplier("ticks", func(ctx context.Context) (Tick, error) { ... })
//	stream.ChannelSupplier("events", ch)
//
// Inputs and outputs are payload types, decoded and encoded by content type
// (JSON by default, text/plain, application/octet-stream, or any registered
// cloudevent.Codec), or [Message] of one, to see or set CloudEvent
// attributes, headers and the key. Returning [ErrNoOutput] (or a nil pointer)
// sends nothing: a filter. Errors wrapped with [Permanent] are not retried.
//
// # Bindings
//
// Each function gets an input binding "<name>-in-0" and an output binding
// "<name>-out-0" (a consumer only the first, a supplier only the second).
// [Config].FunctionDefinition selects what is bound ("a;b") and composes
// functions ("parse|enrich" is bound as "parseenrich-in-0" and
// "parseenrich-out-0"). [BindingProperties] configure each binding:
// destination, group, concurrency, partitioning, retries, dead letters.
//
// # Runtime
//
// A [Binder] connects bindings to a transport through Watermill publishers
// and subscribers. Input bindings run this Watermill middleware, outermost
// first: pause gate, the application's own ([WithMiddleware], e.g.
// Watermill's Throttle), dead letter, retry (Watermill's, exponential
// back-off), attempt counter, panic recovery (Watermill's). The chain runs
// on a Watermill router, or, when the binder's subscriber is a
// [HandlerSubscriber] (the Kafka binder's), on the subscriber's own
// goroutines, which saves the router's hand-offs per message. A message that still fails after max-attempts, or that
// cannot be decoded, is sent to the dead-letter destination when dlq is on,
// and dropped (logged and counted) when it is off; it never loops.
//
// # Usage
//
//	app := stream.New(cfg, stream.WithBinder("memory", memory.New()))
//	app.Register(stream.Function("uppercase", uppercase))
//	if err := app.Start(ctx); err != nil { ... }
//	defer app.Stop(ctx)
//
// [App.SetState] starts, stops, pauses and resumes a binding; [App.Bridge]
// sends to any destination. A binder whose subscribers implement [Pauser]
// pauses delivery itself; otherwise the pause gate holds messages.
package stream
