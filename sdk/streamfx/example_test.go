package streamfx_test

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/streamfx"
)

// An application of two handlers on the memory binder: uppercase reads
// words and writes upper-words, print reads upper-words. The destinations
// come from testdata/example.yaml.
func Example() {
	printed := make(chan string, 1)
	var bridge *streamfx.Bridge
	app := fx.New(
		streamfx.Module,
		memory.Module,
		streamfx.Function("uppercase", func(_ context.Context, in string) (string, error) {
			return strings.ToUpper(in), nil
		}),
		streamfx.Consumer("print", func(_ context.Context, in string) error {
			printed <- in
			return nil
		}),
		streamfx.ConfigFile("testdata/example.yaml"),
		streamfx.Actuator("127.0.0.1:0"),
		fx.Populate(&bridge),
		fx.NopLogger,
	)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer app.Stop(ctx)
	if err := bridge.Send(ctx, "words", "hello"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-printed)
	// Output: HELLO
}
