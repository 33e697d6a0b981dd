package stream_test

import (
	"context"
	"fmt"
	"time"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
)

// Example_suppliers shows a polled and a pushed supplier.
func Example_suppliers() {
	ctx := context.Background()
	got := make(chan string, 2)
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
	app := stream.New(stream.Config{Bindings: map[string]stream.BindingProperties{
		"ticks-out-0":  {Destination: "out", PollerFixedDelay: 10 * time.Millisecond},
		"events-out-0": {Destination: "out"},
		"sink-in-0":    {Destination: "out", Group: "sink"},
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
