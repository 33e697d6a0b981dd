// Package brokertest starts a real Millstream broker in process for tests:
// on a random 127.0.0.1 port, with its data in t.TempDir(), logging through
// t.Log, and closed by t.Cleanup.
//
// # Usage
//
//	b := brokertest.Start(t)
//	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
//	...
//	b.Restart() // same port, same data: a clean stop and start
//
// Options change the broker's [server.Config] before it starts:
//
//	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) {
//		c.AutoCreateTopics = false
//	}))
package brokertest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/millstream/millstream/broker/server"
)

// Broker is a running in-process broker. Its methods must be called from
// the test's goroutine (or with external synchronisation).
type Broker struct {
	t   testing.TB
	cfg server.Config
	log *slog.Logger
	srv *server.Server
}

// Option changes how [Start] starts the broker.
type Option func(*options)

type options struct {
	configure []func(*server.Config)
	logLevel  slog.Level
}

// WithConfig lets the test change the broker's configuration. It runs after
// brokertest has set DataDir (a t.TempDir()) and KafkaAddr
// (127.0.0.1:0); the test may override both.
func WithConfig(fn func(*server.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, fn) }
}

// WithLogLevel sets the lowest level logged through t.Log. Default Info.
func WithLogLevel(l slog.Level) Option {
	return func(o *options) { o.logLevel = l }
}

// Start starts a broker and registers its Close with t.Cleanup. It fails
// the test if the broker cannot start.
func Start(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	o := options{logLevel: slog.LevelInfo}
	for _, opt := range opts {
		opt(&o)
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.KafkaAddr = "127.0.0.1:0"
	for _, fn := range o.configure {
		fn(&cfg)
	}
	tw := &testWriter{t: t}
	b := &Broker{t: t, cfg: cfg, log: slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: o.logLevel}))}
	b.start()
	t.Cleanup(func() {
		b.Close()
		tw.stop()
	})
	return b
}

func (b *Broker) start() {
	b.t.Helper()
	srv, err := server.New(b.cfg, b.log)
	if err != nil {
		b.t.Fatalf("brokertest: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.t.Fatalf("brokertest: start broker: %v", err)
	}
	b.srv = srv
	// Keep the port for Restart, so clients reconnect to the same address.
	b.cfg.KafkaAddr = srv.Addr()
}

// Addr returns the broker's Kafka address, host:port.
func (b *Broker) Addr() string { return b.cfg.KafkaAddr }

// DataDir returns the broker's data directory.
func (b *Broker) DataDir() string { return b.cfg.DataDir }

// Config returns the configuration the broker runs with.
func (b *Broker) Config() server.Config { return b.cfg }

// Server returns the running server (nil after Close).
func (b *Broker) Server() *server.Server { return b.srv }

// Restart closes the broker cleanly and starts it again on the same
// address with the same data directory.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Close()
	b.start()
}

// Close stops the broker cleanly; it fails the test if closing reports an
// error. Calling it again does nothing.
func (b *Broker) Close() {
	b.t.Helper()
	if b.srv == nil {
		return
	}
	srv := b.srv
	b.srv = nil
	if err := srv.Close(); err != nil {
		b.t.Errorf("brokertest: close broker: %v", err)
	}
}

// testWriter sends log lines to t.Log until stop.
type testWriter struct {
	// mu guards stopped, and serialises calls to t.Log.
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}
