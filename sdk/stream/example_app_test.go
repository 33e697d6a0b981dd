package stream_test

import (
	"context"
	"fmt"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
)

// Example runs a function and a consumer on the in-memory binder.
func Example() {
	ctx := context.Background()
	printed := make(chan struct{})
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
	<-printed
	// Output: HELLO
}
