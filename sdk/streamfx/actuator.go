package streamfx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/actuator"
	"github.com/millstream/millstream/sdk/stream"
)

// Actuator serves the actuator endpoints (sdk/actuator: health, bindings,
// metrics) on addr, such as ":8080" or "127.0.0.1:0". It provides
// *actuator.Metrics as the application's stream.Metrics and an
// *ActuatorServer. OnStart binds the listener before returning, so a bad or
// busy address fails start-up; OnStop shuts the server down.
//
// It is the fx wiring of sdk/actuator, which itself does not use fx.
func Actuator(addr string) fx.Option {
	return fx.Module("millstream.actuator",
		fx.Provide(
			actuator.NewMetrics,
			func(m *actuator.Metrics) stream.Metrics { return m },
			func(p actuatorParams) *ActuatorServer { return newActuatorServer(addr, p) },
		),
		fx.Invoke(func(*ActuatorServer) {}),
	)
}

type actuatorParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	App       *stream.App
	Metrics   *actuator.Metrics
	Logger    *slog.Logger `optional:"true"`
}

// ActuatorServer is the HTTP server of [Actuator].
type ActuatorServer struct {
	addr string
	srv  *http.Server
	log  *slog.Logger
	// ln and done are set by start; done is closed when Serve returns.
	ln   net.Listener
	done chan struct{}
}

func newActuatorServer(addr string, p actuatorParams) *ActuatorServer {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &ActuatorServer{addr: addr, log: log, srv: &http.Server{
		Handler:           actuator.New(p.App, actuator.Options{Metrics: p.Metrics, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
	}}
	p.Lifecycle.Append(fx.Hook{OnStart: s.start, OnStop: s.stop})
	return s
}

// Addr is the address the server listens on, once started (useful with
// port 0); nil before.
func (s *ActuatorServer) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *ActuatorServer) start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("streamfx: actuator: listen on %s: %w", s.addr, err)
	}
	s.ln, s.done = ln, make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("streamfx: actuator server stopped", slog.Any("error", err))
		}
	}()
	s.log.Info("streamfx: actuator listening", slog.String("addr", ln.Addr().String()))
	return nil
}

func (s *ActuatorServer) stop(ctx context.Context) error {
	if s.done == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	<-s.done
	if err != nil {
		return fmt.Errorf("streamfx: actuator: shut down: %w", err)
	}
	return nil
}
