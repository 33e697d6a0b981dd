package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/millstream/millstream/broker/metadata"
	"github.com/millstream/millstream/broker/storage"
)

// partition is one partition of a topic and its log.
type partition struct {
	topic string
	index int32
	log   *storage.Log
}

// metadataDir is the directory of the metadata log under the data
// directory. Names starting with "__" are never topic partitions.
const metadataDir = "__cluster_metadata-0"

// partitionDir is where a partition's log lives: <data-dir>/<topic>-<n>,
// as in Kafka.
func (s *Server) partitionDir(topic string, index int32) string {
	return filepath.Join(s.cfg.DataDir, topic+"-"+strconv.Itoa(int(index)))
}

// logOptions turns a topic's settings into storage options.
func (s *Server) logOptions(st metadata.TopicSettings) storage.Options {
	ms := func(v int64) time.Duration {
		if v < 0 {
			return -1
		}
		return max(time.Duration(v)*time.Millisecond, time.Millisecond)
	}
	o := storage.Options{
		SegmentBytes:    st.SegmentBytes,
		SegmentMs:       ms(st.SegmentMs),
		RetentionMs:     ms(st.RetentionMs),
		RetentionBytes:  st.RetentionBytes,
		MaxMessageBytes: int(max(st.MaxMessageBytes, 1)),
		LogAppendTime:   st.LogAppendTime,
		// With fsync always an acks=all produce waits for Log.Sync, which
		// writes and fsyncs everything appended meanwhile at once, so the
		// connection's reader only copies the batch and reads on; every
		// other produce calls Log.Flush before its answer (00_produce.go).
		WriteBehind:   s.cfg.Fsync.Mode == FsyncAlways,
		PageCacheKeep: s.cfg.PageCacheKeepBytes,
		Buffers:       s.bufs,
		Logger:        s.log,
	}
	if o.RetentionBytes == 0 {
		o.RetentionBytes = 1 // Kafka's 0: keep no closed segment
	}
	return o
}

func (p *partition) delete() error {
	if err := p.log.Delete(); err != nil {
		return fmt.Errorf("delete partition %s-%d: %w", p.topic, p.index, err)
	}
	return nil
}

func (p *partition) applySettings(opts storage.Options) error {
	if err := p.log.SetOptions(opts); err != nil {
		return fmt.Errorf("partition %s-%d: %w", p.topic, p.index, err)
	}
	return nil
}

// openTopic returns the serving state of t, reusing the already open
// partitions in keep and opening the rest. On error it closes what it
// opened (not keep).
func (s *Server) openTopic(t metadata.Topic, keep []*partition) (*topicState, error) {
	ts := &topicState{meta: t, settings: s.cfg.TopicDefaults.Settings(t.Configs)}
	ts.parts = append(ts.parts, keep...)
	opts := s.logOptions(ts.settings)
	for i := int32(len(keep)); i < t.Partitions; i++ {
		l, err := storage.Open(s.partitionDir(t.Name, i), opts)
		if err != nil {
			for _, p := range ts.parts[len(keep):] {
				_ = p.log.Close()
			}
			return nil, fmt.Errorf("server: open partition %s-%d: %w", t.Name, i, err)
		}
		ts.parts = append(ts.parts, &partition{topic: t.Name, index: i, log: l})
	}
	return ts, nil
}

// openStorage creates the data directory if needed, replays the metadata
// log, removes the directories of partitions that no longer exist (a crash
// between deleting a topic and deleting its files), and opens every
// partition log.
func (s *Server) openStorage(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("server: data dir: %w", err)
	}
	reg, err := metadata.Open(ctx, filepath.Join(s.cfg.DataDir, metadataDir), s.log)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.reg = reg
	if err := s.sweepOrphans(reg.Created()); err != nil {
		return err
	}
	s.topicsMu.Lock()
	defer s.topicsMu.Unlock()
	for _, t := range s.reg.Topics() {
		ts, err := s.openTopic(t, nil)
		if err != nil {
			return err
		}
		s.topics[t.Name] = ts
	}
	return s.openCoordinators()
}

// sweepOrphans deletes partition directories that the registry does not
// know. With a fresh (just created) metadata log it deletes nothing and
// refuses to start if partition directories exist: that data directory
// lost its metadata, and guessing would destroy data.
func (s *Server) sweepOrphans(fresh bool) error {
	entries, err := os.ReadDir(s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("server: read data dir: %w", err)
	}
	want := map[string]bool{}
	for _, t := range s.reg.Topics() {
		for i := range t.Partitions {
			want[filepath.Base(s.partitionDir(t.Name, i))] = true
		}
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, "__") || want[name] || !looksLikePartition(name) {
			continue
		}
		if fresh {
			return fmt.Errorf("server: data dir %s holds partition directory %s but no metadata log (%s): "+
				"restore %s, or move the partition directories away to start empty", s.cfg.DataDir, name, metadataDir, metadataDir)
		}
		s.log.Warn("removing the files of a deleted partition", "dir", name)
		if err := os.RemoveAll(filepath.Join(s.cfg.DataDir, name)); err != nil {
			return fmt.Errorf("server: remove orphan %s: %w", name, err)
		}
	}
	return nil
}

// looksLikePartition reports whether a directory name has the form
// <topic>-<n>.
func looksLikePartition(name string) bool {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return false
	}
	_, err := strconv.ParseUint(name[i+1:], 10, 31)
	return err == nil && metadata.ValidateTopicName(name[:i]) == nil
}

// closeStorage closes every partition log and the registry.
func (s *Server) closeStorage() error {
	errs := []error{s.closeCoordinators()}
	s.topicsMu.Lock()
	for _, t := range s.topics {
		for _, p := range t.parts {
			if err := p.log.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close partition %s-%d: %w", p.topic, p.index, err))
			}
		}
	}
	s.topics = map[string]*topicState{}
	s.topicsMu.Unlock()
	if s.reg != nil {
		if err := s.reg.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forEachPartition calls fn for every open partition.
func (s *Server) forEachPartition(fn func(*partition)) {
	for _, t := range s.topicList() {
		for _, p := range t.parts {
			fn(p)
		}
	}
}
