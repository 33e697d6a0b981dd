package stream_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
)

// Example_errors shows retries, permanent errors and dead letters.
func Example_errors() {
	ctx := context.Background()
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
