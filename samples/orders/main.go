// Command orders is a Millstream sample: a pipeline of several bindings fed
// from an HTTP endpoint.
//
//	POST /orders ──Bridge──► orders ──validate──► valid-orders ──charge──► payments   (key: customer)
//	                                     │                     └──ship────► shipments  (key: customer)
//	                                     └─ invalid ─► invalid-orders (dead letters)
//
// The endpoint listens on -http (default 127.0.0.1:8081); the bindings are
// in millstream.yaml, on Kafka at localhost:9092 unless MILLSTREAM_*
// variables say otherwise (MILLSTREAM_DEFAULT_BINDER=memory runs it all in
// process).
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/streamfx"
)

func main() {
	addr := flag.String("http", "127.0.0.1:8081", "address of the HTTP endpoint (POST /orders)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fxlog := &fxevent.SlogLogger{Logger: log}
	fxlog.UseLogLevel(slog.LevelDebug)
	fx.New(
		application(),
		fx.Supply(log),
		fx.WithLogger(func() fxevent.Logger { return fxlog }),
		fx.Invoke(func(lc fx.Lifecycle, bridge *streamfx.Bridge) { serveHTTP(lc, *addr, ordersHandler(bridge), log) }),
	).Run()
}

// application is the pipeline, without the HTTP server.
func application(opts ...fx.Option) fx.Option {
	return fx.Options(
		streamfx.Module,
		memory.Module,
		kafka.Module,
		streamfx.Function("validate", validate),
		streamfx.Function("charge", charge),
		streamfx.Function("ship", ship),
		streamfx.BridgeBindings(newOrdersBinding),
		fx.Options(opts...),
	)
}

// serveHTTP runs h on addr with the application: the listener is bound in
// OnStart, so a port in use stops start-up.
func serveHTTP(lc fx.Lifecycle, addr string, h http.Handler, log *slog.Logger) {
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			log.Info("orders: accepting POST /orders", "addr", ln.Addr().String())
			go func() {
				defer close(done)
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					log.Error("orders: http server", "error", err)
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			<-done
			return err
		},
	})
}
