package kafka

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/millstream/millstream/broker/server"
)

// Embedded is the value of brokers that starts the bundled broker inside
// the application process.
const Embedded = "embedded"

// Defaults of [EmbeddedConfig].
const (
	DefaultEmbeddedDataDir = "./data"
	DefaultEmbeddedAddr    = "127.0.0.1:0"
)

// EmbeddedConfig configures the bundled broker started by brokers: embedded.
type EmbeddedConfig struct {
	// DataDir holds the broker's logs. Default "./data".
	DataDir string
	// Addr is the host:port the broker listens on, for other processes
	// (kcat, the millstream CLI) to reach it. Default "127.0.0.1:0": a
	// free port, logged at start.
	Addr string
}

// embeddedBroker is the bundled broker running in process.
type embeddedBroker struct{ srv *server.Server }

// startEmbedded starts the bundled broker with its `millstream broker`
// defaults, changed by cfg. It returns once the broker listens.
func startEmbedded(ctx context.Context, cfg EmbeddedConfig, log *slog.Logger) (*embeddedBroker, error) {
	sc := server.DefaultConfig()
	sc.DataDir = cfg.DataDir
	if sc.DataDir == "" {
		sc.DataDir = DefaultEmbeddedDataDir
	}
	sc.KafkaAddr = cfg.Addr
	if sc.KafkaAddr == "" {
		sc.KafkaAddr = DefaultEmbeddedAddr
	}
	srv, err := server.New(sc, log.With("component", "embedded-broker"))
	if err != nil {
		return nil, fmt.Errorf("kafka: embedded broker: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, fmt.Errorf("kafka: start embedded broker (data dir %s, address %s): %w", sc.DataDir, sc.KafkaAddr, err)
	}
	log.Info("kafka: embedded broker started", "addr", srv.Addr(), "data_dir", sc.DataDir)
	return &embeddedBroker{srv: srv}, nil
}

func (e *embeddedBroker) addr() string { return e.srv.Addr() }

func (e *embeddedBroker) close() error {
	if err := e.srv.Close(); err != nil {
		return fmt.Errorf("kafka: stop embedded broker: %w", err)
	}
	return nil
}
