package main

import (
	"context"
	"log/slog"
	"sync"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
)

// shipper runs a tailer for the application's lifetime and feeds its lines,
// parsed and keyed by service, to the ship supplier's channel.
type shipper struct {
	tail tailer
	out  chan stream.Message[Entry]
	log  *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newShipper(t tailer, log *slog.Logger) *shipper {
	return &shipper{tail: t, out: make(chan stream.Message[Entry]), log: log}
}

// hook starts the tailer with the application and stops it, waiting for
// it, before the bindings stop.
func (s *shipper) hook() fx.Hook {
	return fx.Hook{
		OnStart: func(context.Context) error {
			ctx, cancel := context.WithCancel(context.Background())
			s.cancel = cancel
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				err := s.tail.run(ctx, func(line string) bool {
					e := parseLine(line)
					select {
					case s.out <- stream.Message[Entry]{Payload: e, Key: e.Service}:
						return true
					case <-ctx.Done():
						return false
					}
				})
				if err != nil {
					s.log.Error("logs: tail stopped", "error", err)
				}
			}()
			return nil
		},
		OnStop: func(context.Context) error {
			s.cancel()
			s.wg.Wait()
			return nil
		},
	}
}
