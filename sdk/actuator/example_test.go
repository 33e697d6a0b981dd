package actuator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/actuator"
	"github.com/millstream/millstream/sdk/stream"
)

// The actuator without fx: the metrics go to the application and to the
// engine, and the engine is an ordinary http.Handler.
func ExampleNew() {
	ctx := context.Background()
	metrics := actuator.NewMetrics()
	app := stream.New(stream.Config{}, stream.WithBinder("memory", memory.New()), stream.WithMetrics(metrics))
	if err := app.Register(stream.Function("uppercase", uppercase)); err != nil {
		fmt.Println(err)
		return
	}
	if err := app.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer app.Stop(ctx)
	engine := actuator.New(app, actuator.Options{Metrics: metrics})
	// serve it: http.ListenAndServe(":8080", engine)

	srv := httptest.NewServer(engine)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/actuator/bindings/uppercase-in-0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 {"bindingName":"uppercase-in-0","name":"uppercase-in-0","binder":"memory","function":"uppercase","kind":"function","input":true,"pausable":true,"state":"STARTED"}
}
