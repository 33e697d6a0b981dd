// Command logs is a Millstream sample of log shipping, the shape of
// Fluentd -> Kafka -> Elasticsearch:
//
//	file ──ship (supplier, tails the file)──► logs ──aggregate (group aggregators)──► counts per level and service
//
// Run one shipper on the host that writes the log, and as many aggregators
// as you like: they share the partitions of logs as one consumer group, and
// each serves the counts of its share on GET /counts.
//
//	logs -tail /var/log/app.jsonl -http 127.0.0.1:8082   # ship and aggregate
//	logs -http 127.0.0.1:8083                            # aggregate only
//
// Lines are JSON ({"level":"error","service":"api","msg":"..."}); other lines
// count as level and service "unknown". The bindings are in
// millstream.yaml, on Kafka at localhost:9092 unless MILLSTREAM_* variables
// say otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/streamfx"
)

func main() {
	tail := flag.String("tail", "", "log file to ship; empty: only aggregate")
	addr := flag.String("http", "127.0.0.1:8082", "address of GET /counts")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fxlog := &fxevent.SlogLogger{Logger: log}
	fxlog.UseLogLevel(slog.LevelDebug)
	counts := newCounts()
	fx.New(
		application(counts, *tail, log),
		fx.Supply(log),
		fx.WithLogger(func() fxevent.Logger { return fxlog }),
		fx.Invoke(func(lc fx.Lifecycle) { serveHTTP(lc, *addr, countsMux(counts), log) }),
	).Run()
}

// application aggregates into counts and, when tailPath is set, ships that
// file.
func application(counts *Counts, tailPath string, log *slog.Logger, opts ...fx.Option) fx.Option {
	aggregate := func(_ context.Context, e Entry) error {
		counts.Add(e)
		return nil
	}
	// Every instance has the ship binding; one without a file to tail
	// never sends on it.
	s := newShipper(tailer{path: tailPath, poll: 200 * time.Millisecond}, log)
	o := []fx.Option{
		streamfx.Module,
		memory.Module,
		kafka.Module,
		streamfx.Consumer("aggregate", aggregate),
		streamfx.ChannelSupplier("ship", s.out),
	}
	if tailPath != "" {
		o = append(o, fx.Invoke(func(lc fx.Lifecycle) { lc.Append(s.hook()) }))
	}
	return fx.Options(append(o, opts...)...)
}

// countsMux serves counts on GET /counts.
func countsMux(counts *Counts) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /counts", counts)
	return mux
}

// serveHTTP serves h on addr for the application's lifetime; the listener
// is bound in OnStart, so a port in use stops start-up.
func serveHTTP(lc fx.Lifecycle, addr string, h http.Handler, log *slog.Logger) {
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			log.Info("logs: serving GET /counts", "addr", ln.Addr().String())
			go func() {
				defer close(done)
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					log.Error("logs: http server", "error", err)
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
