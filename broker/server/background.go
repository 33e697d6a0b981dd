package server

import (
	"context"
	"errors"
	"time"

	"github.com/millstream/millstream/broker/storage"
)

// startBackground starts the loops the broker owns: retention, and the
// periodic fsync of the interval policy. They stop when Close cancels
// s.ctx, and Close waits for them (s.loops).
func (s *Server) startBackground() {
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		s.every(s.cfg.RetentionCheckInterval, s.enforceRetention)
	}()
	if s.cfg.Fsync.Mode == FsyncInterval {
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			s.every(s.cfg.Fsync.Interval, s.syncAll)
		}()
	}
}

// every calls fn every d until the server stops.
func (s *Server) every(d time.Duration, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fn(s.ctx)
		case <-s.stopping:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// enforceRetention runs retention over every partition.
func (s *Server) enforceRetention(context.Context) {
	s.forEachPartition(func(p *partition) {
		if err := p.log.EnforceRetention(); err != nil && !errors.Is(err, storage.ErrClosed) {
			s.log.Error("retention", "topic", p.topic, "partition", p.index, "err", err)
		}
	})
}

// syncAll fsyncs every partition up to its end (the interval policy).
func (s *Server) syncAll(ctx context.Context) {
	s.forEachPartition(func(p *partition) {
		if err := p.log.Sync(ctx, p.log.EndOffset()); err != nil && !errors.Is(err, storage.ErrClosed) && ctx.Err() == nil {
			s.log.Error("interval fsync", "topic", p.topic, "partition", p.index, "err", err)
		}
	})
}
