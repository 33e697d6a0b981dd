package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/millstream/millstream/broker/kvlog"
	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ServiceConfig configures a [Service].
type ServiceConfig struct {
	// Dir is the directory of the internal log of committed offsets and
	// group metadata. Required; the broker uses <data-dir>/__consumer_offsets.
	Dir string
	// Group holds the coordinator's options (timeouts, retention).
	Group Options
	// FS is the file system. Default vfs.Default.
	FS vfs.FS
	// Clock is the time source. Default the wall clock.
	Clock Clock
	// TickInterval is how often deadlines are checked. Default 100ms.
	TickInterval time.Duration
	// CompactAfter is the number of records appended since the log was
	// last rewritten after which the background compacts it again.
	// Default 50000.
	CompactAfter int
	// Logger receives group events. Default: discard.
	Logger *slog.Logger
}

// Service runs a [Coordinator] for the broker: it serializes calls with a
// mutex, ticks it from its own goroutine, writes its records to an internal
// log and replays that log on Open.
//
// All methods are safe for concurrent use. JoinGroup and SyncGroup return a
// channel that receives the response once (it has room for it, so the
// coordinator never blocks); OffsetCommit returns a function that waits
// until the commit is durable. A caller that must keep the order of one
// connection's requests calls these methods in that order and waits
// afterwards.
type Service struct {
	cfg ServiceConfig
	log *slog.Logger

	// mu guards c, wal, appended and the compaction of wal. Lock order:
	// mu before the storage.Log's own lock.
	mu       sync.Mutex
	c        *Coordinator
	wal      *storage.Log
	walGen   int  // incremented when compaction replaces wal
	appended int  // records appended since the log was last rewritten
	dirty    bool // appended since the last Sync by the ticker
	closed   bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open replays the log in cfg.Dir (creating it if needed), rewrites it with
// only the live records when most of it is overwritten values, and starts
// the ticking goroutine, which Close stops.
func Open(cfg ServiceConfig) (*Service, error) {
	if cfg.Dir == "" {
		return nil, errors.New("group: ServiceConfig.Dir is empty: set the directory of the offsets log")
	}
	if err := cfg.Group.Validate(); err != nil {
		return nil, err
	}
	if cfg.FS == nil {
		cfg.FS = vfs.Default
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 100 * time.Millisecond
	}
	if cfg.CompactAfter <= 0 {
		cfg.CompactAfter = 50000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg:  cfg,
		log:  cfg.Logger,
		c:    New(cfg.Group, cfg.Clock, cfg.Logger),
		stop: make(chan struct{}),
	}
	wal, err := s.dir().Open()
	if err != nil {
		return nil, fmt.Errorf("group: open offsets log: %w", err)
	}
	n, err := kvlog.Replay(wal, s.c.Restore)
	if err != nil {
		_ = wal.Close()
		return nil, fmt.Errorf("group: replay %s: %w", cfg.Dir, err)
	}
	s.wal = wal
	s.log.Info("group coordinator loaded", "dir", cfg.Dir, "records", n, "groups", len(s.c.groups))
	// Rewrite the log when most of it is overwritten values.
	if live := len(s.c.Snapshot()); n >= 64 && n > 2*live {
		if err := s.compactLocked(); err != nil {
			_ = s.wal.Close()
			return nil, err
		}
	}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// dir is the offsets log's directory; compaction builds the new log in
// <dir>.compact.
func (s *Service) dir() kvlog.Dir {
	return kvlog.Dir{FS: s.cfg.FS, Path: s.cfg.Dir, Temp: s.cfg.Dir + ".compact",
		Options: storage.Options{Logger: s.log, RetentionMs: -1}}
}

// run ticks the coordinator and compacts the log when it has grown.
func (s *Service) run() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		s.c.Tick()
		s.flushLocked()
		dirty := s.dirty
		s.dirty = false
		if s.appended >= s.cfg.CompactAfter {
			if err := s.compactLocked(); err != nil {
				s.log.Error("compact offsets log", "err", err)
				s.appended = 0 // try again after as many more
			}
		}
		wal := s.wal
		s.mu.Unlock()
		if dirty {
			if err := wal.Sync(context.Background(), wal.EndOffset()); err != nil {
				s.log.Error("sync offsets log", "err", err)
			}
		}
	}
}

// flushLocked appends the coordinator's queued records as one batch and
// returns the offset after it. s.mu held.
func (s *Service) flushLocked() (int64, error) {
	recs := s.c.TakeRecords()
	if len(recs) == 0 {
		return s.wal.EndOffset(), nil
	}
	now := s.cfg.Clock.Now().UnixMilli()
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{Timestamp: now, Key: r.Key, Value: r.Value}
	}
	batch, err := record.Build(0, rs...)
	if err != nil {
		return 0, fmt.Errorf("group: encode %d records: %w", len(recs), err)
	}
	res, err := s.wal.Append(batch)
	if err != nil {
		s.log.Error("append to offsets log", "err", err, "records", len(recs))
		return 0, fmt.Errorf("group: append to offsets log: %w", err)
	}
	s.appended += len(recs)
	s.dirty = true
	return res.LastOffset + 1, nil
}

// compactLocked rewrites the log with the coordinator's snapshot (see
// kvlog.Dir.Rewrite for the steps and what a crash leaves). s.mu held.
func (s *Service) compactLocked() error {
	if _, err := s.flushLocked(); err != nil {
		return err
	}
	snap := s.c.Snapshot()
	now := s.cfg.Clock.Now().UnixMilli()
	rs := make([]record.Record, len(snap))
	for i, r := range snap {
		rs[i] = record.Record{Timestamp: now, Key: r.Key, Value: r.Value}
	}
	old := s.wal
	wal, err := s.dir().Rewrite(old, rs)
	if wal == nil || wal == old {
		if err != nil {
			return fmt.Errorf("group: compact: %w", err)
		}
		return nil
	}
	s.wal = wal
	s.walGen++
	s.appended = 0
	if err != nil {
		return fmt.Errorf("group: compact: %w", err)
	}
	s.log.Info("offsets log compacted", "dir", s.cfg.Dir, "records", wal.EndOffset())
	return nil
}

// Close stops the ticker and closes the log. Pending JoinGroup and
// SyncGroup responses are never sent; callers stop waiting on their
// connection's context.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.flushLocked()
	return errors.Join(err, s.wal.Close())
}

// do runs fn with the coordinator and appends what it queued.
func (s *Service) do(fn func(c *Coordinator)) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.c)
	if s.closed {
		return 0, errors.New("group: coordinator closed")
	}
	return s.flushLocked()
}

// JoinGroup hands req to the coordinator; the channel receives the
// response when the join completes.
func (s *Service) JoinGroup(req *kmsg.JoinGroupRequest, client Client) <-chan *kmsg.JoinGroupResponse {
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	_, _ = s.do(func(c *Coordinator) {
		c.JoinGroup(req, client, func(r *kmsg.JoinGroupResponse) { ch <- r })
	})
	return ch
}

// SyncGroup hands req to the coordinator; the channel receives the
// response when the leader's assignment is known.
func (s *Service) SyncGroup(req *kmsg.SyncGroupRequest) <-chan *kmsg.SyncGroupResponse {
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	_, _ = s.do(func(c *Coordinator) {
		c.SyncGroup(req, func(r *kmsg.SyncGroupResponse) { ch <- r })
	})
	return ch
}

// Heartbeat answers a Heartbeat request.
func (s *Service) Heartbeat(req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	var resp *kmsg.HeartbeatResponse
	_, _ = s.do(func(c *Coordinator) { resp = c.Heartbeat(req) })
	return resp
}

// LeaveGroup answers a LeaveGroup request.
func (s *Service) LeaveGroup(req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	var resp *kmsg.LeaveGroupResponse
	_, _ = s.do(func(c *Coordinator) { resp = c.LeaveGroup(req) })
	return resp
}

// OffsetCommit applies req and appends the commits to the log at once (so
// that commits keep the order they were made in); the returned function
// waits until they are durable and returns the response. If the log cannot
// take them, every accepted partition gets KAFKA_STORAGE_ERROR.
func (s *Service) OffsetCommit(req *kmsg.OffsetCommitRequest) func(ctx context.Context) *kmsg.OffsetCommitResponse {
	var resp *kmsg.OffsetCommitResponse
	var (
		wal *storage.Log
		gen int
	)
	upTo, err := s.do(func(c *Coordinator) {
		resp = c.OffsetCommit(req)
		wal, gen = s.wal, s.walGen
	})
	return func(ctx context.Context) *kmsg.OffsetCommitResponse {
		if err == nil {
			err = s.waitDurable(ctx, wal, gen, upTo)
		}
		if err != nil {
			s.log.Error("offset commit not durable", "group", req.Group, "err", err)
			for i := range resp.Topics {
				for j := range resp.Topics[i].Partitions {
					if resp.Topics[i].Partitions[j].ErrorCode == 0 {
						resp.Topics[i].Partitions[j].ErrorCode = kerr.KafkaStorageError.Code
					}
				}
			}
		}
		return resp
	}
}

// waitDurable waits until the internal log wal (of generation gen) is
// fsynced up to upTo.
func (s *Service) waitDurable(ctx context.Context, wal *storage.Log, gen int, upTo int64) error {
	err := wal.Sync(ctx, upTo)
	if errors.Is(err, storage.ErrClosed) {
		// Compaction replaced the log meanwhile; the new log, fsynced
		// before the swap, holds the records.
		s.mu.Lock()
		if s.walGen != gen {
			err = nil
		}
		s.mu.Unlock()
	}
	return err
}

// OffsetFetch answers an OffsetFetch request.
func (s *Service) OffsetFetch(req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	var resp *kmsg.OffsetFetchResponse
	_, _ = s.do(func(c *Coordinator) { resp = c.OffsetFetch(req) })
	return resp
}

// OffsetDelete answers an OffsetDelete request.
func (s *Service) OffsetDelete(req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	var resp *kmsg.OffsetDeleteResponse
	_, _ = s.do(func(c *Coordinator) { resp = c.OffsetDelete(req) })
	return resp
}

// DescribeGroups answers a DescribeGroups request.
func (s *Service) DescribeGroups(req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	var resp *kmsg.DescribeGroupsResponse
	_, _ = s.do(func(c *Coordinator) { resp = c.DescribeGroups(req) })
	return resp
}

// ListGroups answers a ListGroups request.
func (s *Service) ListGroups(req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	var resp *kmsg.ListGroupsResponse
	_, _ = s.do(func(c *Coordinator) { resp = c.ListGroups(req) })
	return resp
}

// DeleteGroups answers a DeleteGroups request.
func (s *Service) DeleteGroups(req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	var resp *kmsg.DeleteGroupsResponse
	_, _ = s.do(func(c *Coordinator) { resp = c.DeleteGroups(req) })
	return resp
}

// TopicDeleted removes the committed offsets of a deleted topic from every
// group (see [Coordinator.TopicDeleted]) and returns when the removal is
// durable, so that a crash cannot bring the offsets back.
func (s *Service) TopicDeleted(topic string) {
	var (
		wal *storage.Log
		gen int
	)
	upTo, err := s.do(func(c *Coordinator) {
		c.TopicDeleted(topic)
		wal, gen = s.wal, s.walGen
	})
	if err == nil {
		err = s.waitDurable(context.Background(), wal, gen, upTo)
	}
	if err != nil {
		s.log.Error("remove offsets of deleted topic", "topic", topic, "err", err)
	}
}
