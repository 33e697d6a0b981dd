package stream_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
)

// Example_composition binds two functions composed into one.
func Example_composition() {
	ctx := context.Background()
	done := make(chan struct{})
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
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Stop(ctx)
	app.Bridge().Send(ctx, "lines", "o-1,acme")
	<-done
	// Output: order o-1 from millstream (type stream_test.Order, key acme)
}
