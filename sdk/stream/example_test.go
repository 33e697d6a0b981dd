package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
)

// --8<-- [start:handlers]
// A function: takes a payload, returns one.
func shout(ctx context.Context, in string) (string, error) {
	return strings.ToUpper(in), nil
}

// Order is a JSON payload.
type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Total    int    `json:"total"`
}

// A consumer that sees the whole message: CloudEvent attributes, headers, key.
func audit(ctx context.Context, m stream.Message[Order]) error {
	fmt.Printf("order %s from %s (type %s, key %s)\n", m.Payload.ID, m.Source, m.Type, m.Key)
	return nil
}

// A function that sets attributes of what it sends, and filters.
func bigOrders(ctx context.Context, o Order) (stream.Message[Order], error) {
	if o.Total < 100 {
		return stream.Message[Order]{}, stream.ErrNoOutput // send nothing
	}
	return stream.Message[Order]{
		Payload: o,
		Subject: "order/" + o.ID,
		Key:     o.Customer, // partition key: same customer, same partition
	}, nil
}

// --8<-- [end:handlers]

// Example runs a function and a consumer on the in-memory binder.
func Example() {
	ctx := context.Background()
	printed := make(chan struct{})
	// --8<-- [start:app]
	cfg := stream.Config{
		Application:        "shouter",
		FunctionDefinition: "shout;print",
		Bindings: map[string]stream.BindingProperties{
			"shout-in-0":  {Destination: "words", Group: "shouter"},
			"shout-out-0": {Destination: "loud-words"},
			"print-in-0":  {Destination: "loud-words", Group: "printer"},
		},
	}
	app := stream.New(cfg, stream.WithBinder("memory", memory.New()))
	err := app.Register(
		stream.Function("shout", shout),
		stream.Consumer("print", func(ctx context.Context, s string) error {
			fmt.Println(s)
			close(printed)
			return nil
		}),
	)
	if err != nil {
		panic(err)
	}
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Stop(ctx)

	// Send from anywhere in the application through the Bridge.
	if err := app.Bridge().Send(ctx, "words", "hello"); err != nil {
		panic(err)
	}
	// --8<-- [end:app]
	<-printed
	// Output: HELLO
}

// Example_composition binds two functions composed into one.
func Example_composition() {
	ctx := context.Background()
	done := make(chan struct{})
	// --8<-- [start:composition]
	parse := stream.Function("parse", func(ctx context.Context, line string) (Order, error) {
		id, customer, ok := strings.Cut(line, ",")
		if !ok {
			return Order{}, stream.Permanent(fmt.Errorf("no comma in %q", line))
		}
		return Order{ID: id, Customer: customer, Total: 250}, nil
	})
	app := stream.New(stream.Config{
		FunctionDefinition: "parse|bigOrders;audit",
		Bindings: map[string]stream.BindingProperties{
			"parsebigOrders-in-0":  {Destination: "lines"},
			"parsebigOrders-out-0": {Destination: "big-orders"},
			"audit-in-0":           {Destination: "big-orders"},
		},
	}, stream.WithBinder("memory", memory.New()))
	app.Register(parse, stream.Function("bigOrders", bigOrders), stream.Consumer("audit",
		func(ctx context.Context, m stream.Message[Order]) error {
			defer close(done)
			return audit(ctx, m)
		}))
	// --8<-- [end:composition]
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Stop(ctx)
	app.Bridge().Send(ctx, "lines", "o-1,acme")
	<-done
	// Output: order o-1 from millstream (type stream_test.Order, key acme)
}

// Example_suppliers shows a polled and a pushed supplier.
func Example_suppliers() {
	ctx := context.Background()
	got := make(chan string, 2)
	// --8<-- [start:suppliers]
	// Polled every poller-fixed-delay (default 1s).
	var n int
	ticks := stream.Supplier("ticks", func(ctx context.Context) (string, error) {
		n++
		if n > 1 {
			return "", stream.ErrNoOutput // nothing this time
		}
		return fmt.Sprintf("tick %d", n), nil
	})
	// Pushed: every value sent on the channel is sent on.
	events := make(chan string)
	pushed := stream.ChannelSupplier("events", events)
	// --8<-- [end:suppliers]
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"ticks-out-0":  {Destination: "out", PollerFixedDelay: 10 * time.Millisecond},
		"events-out-0": {Destination: "out"},
		"sink-in-0":    {Destination: "out"},
	}}, stream.WithBinder("memory", memory.New()))
	app.Register(ticks, pushed, stream.Consumer("sink", func(ctx context.Context, s string) error {
		got <- s
		return nil
	}))
	if err := app.Prepare(); err != nil {
		panic(err)
	}
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Stop(ctx)
	fmt.Println(<-got)
	events <- "pushed"
	fmt.Println(<-got)
	// Output:
	// tick 1
	// pushed
}

// Example_errors shows retries, permanent errors and dead letters.
func Example_errors() {
	ctx := context.Background()
	// --8<-- [start:errors]
	charge := stream.Consumer("charge", func(ctx context.Context, o Order) error {
		if o.Total < 0 {
			// Retrying will not help: straight to the dead-letter destination.
			return stream.Permanent(errors.New("negative total"))
		}
		return nil // a plain error would be retried (max-attempts) first
	})
	cfg := stream.Config{Bindings: map[string]stream.BindingProperties{
		"charge-in-0": {
			Destination:            "orders",
			Group:                  "billing",
			MaxAttempts:            5,
			BackOffInitialInterval: 100 * time.Millisecond,
			BackOffMultiplier:      2,
			BackOffMaxInterval:     2 * time.Second,
			DLQ:                    true, // dead letters go to orders.billing.dlq
		},
	}}
	// --8<-- [end:errors]
	// Another binding reads the dead letters.
	dead := make(chan stream.Message[Order], 1)
	cfg.Bindings["dlq-in-0"] = stream.BindingProperties{Destination: "orders.billing.dlq"}
	app := stream.New(cfg, stream.WithBinder("memory", memory.New()))
	app.Register(charge, stream.Consumer("dlq", func(ctx context.Context, m stream.Message[Order]) error {
		dead <- m
		return nil
	}))
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Stop(ctx)
	app.Bridge().Send(ctx, "orders", Order{ID: "o-2", Total: -5})
	m := <-dead
	fmt.Println(m.Payload.ID, m.Headers[stream.HeaderExceptionMessage], m.Headers[stream.HeaderAttempts])
	// Output: o-2 permanent: negative total 1
}
