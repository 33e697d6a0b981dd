package server

import (
	"errors"
	"fmt"
	"maps"

	"github.com/millstream/millstream/broker/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
)

// topicState is a topic as the server serves it: its metadata, resolved
// settings and open partitions. Replaced as a whole on every change, never
// mutated, so handlers may keep using one they looked up.
type topicState struct {
	meta     metadata.Topic
	settings metadata.TopicSettings
	parts    []*partition
}

// topic returns the named topic, or nil.
func (s *Server) topic(name string) *topicState {
	s.topicsMu.RLock()
	defer s.topicsMu.RUnlock()
	return s.topics[name]
}

// topicByID returns the topic with the given id, or nil.
func (s *Server) topicByID(id [16]byte) *topicState {
	t, ok := s.reg.TopicByID(id)
	if !ok {
		return nil
	}
	return s.topic(t.Name)
}

// topicNames returns the names of every topic, sorted.
func (s *Server) topicList() []*topicState {
	all := s.reg.Topics()
	out := make([]*topicState, 0, len(all))
	s.topicsMu.RLock()
	defer s.topicsMu.RUnlock()
	for _, t := range all {
		if ts := s.topics[t.Name]; ts != nil {
			out = append(out, ts)
		}
	}
	return out
}

// partition returns one partition of a topic, or nil.
func (s *Server) partition(topic string, index int32) *partition {
	t := s.topic(topic)
	if t == nil || index < 0 || int(index) >= len(t.parts) {
		return nil
	}
	return t.parts[index]
}

// createTopic records a new topic and opens its partition logs. With
// validateOnly it checks everything but changes nothing.
func (s *Server) createTopic(name string, partitions int32, configs map[string]string, validateOnly bool) (metadata.Topic, error) {
	if err := s.checkPartitionCount(partitions); err != nil {
		return metadata.Topic{}, err
	}
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if validateOnly {
		if err := metadata.ValidateTopicName(name); err != nil {
			return metadata.Topic{}, err
		}
		if err := metadata.ValidateConfigs(configs); err != nil {
			return metadata.Topic{}, err
		}
		if s.topic(name) != nil {
			return metadata.Topic{}, fmt.Errorf("%w: %q", metadata.ErrTopicExists, name)
		}
		return metadata.Topic{Name: name, Partitions: partitions, Configs: maps.Clone(configs)}, nil
	}
	t, err := s.reg.Create(name, partitions, configs)
	if err != nil {
		return metadata.Topic{}, err
	}
	ts, err := s.openTopic(t, nil)
	if err != nil {
		if _, derr := s.reg.Delete(name); derr != nil {
			s.log.Error("undo topic creation", "topic", name, "err", derr)
		}
		return metadata.Topic{}, err
	}
	s.topicsMu.Lock()
	s.topics[name] = ts
	s.topicsMu.Unlock()
	s.log.Info("topic created", "topic", name, "partitions", partitions, "configs", configs)
	return t, nil
}

// checkPartitionCount refuses counts outside 1 to MaxPartitionsPerTopic.
func (s *Server) checkPartitionCount(n int32) error {
	if n < 1 || n > s.cfg.MaxPartitionsPerTopic {
		return fmt.Errorf("%w: %d partitions; a topic may have 1 to %d (the broker's max-partitions-per-topic)",
			metadata.ErrInvalidPartitions, n, s.cfg.MaxPartitionsPerTopic)
	}
	return nil
}

// deleteTopic removes a topic and deletes its logs.
func (s *Server) deleteTopic(name string) (metadata.Topic, error) {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	t, err := s.reg.Delete(name)
	if err != nil {
		return metadata.Topic{}, err
	}
	s.topicsMu.Lock()
	ts := s.topics[name]
	delete(s.topics, name)
	s.topicsMu.Unlock()
	var errs []error
	if ts != nil {
		for _, p := range ts.parts {
			if err := s.deletePartition(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// As in Kafka, a deleted topic's committed offsets go with it, so a
	// topic created again under the name is not read from stale positions.
	s.coord.groups.TopicDeleted(name)
	s.log.Info("topic deleted", "topic", name)
	if err := errors.Join(errs...); err != nil {
		return t, fmt.Errorf("server: delete logs of topic %q: %w", name, err)
	}
	return t, nil
}

// addPartitions grows a topic to total partitions.
func (s *Server) addPartitions(name string, total int32, validateOnly bool) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	old := s.topic(name)
	if old == nil {
		return fmt.Errorf("%w: %q", metadata.ErrUnknownTopic, name)
	}
	if total <= old.meta.Partitions {
		return fmt.Errorf("%w: topic %q has %d partitions; the new count must be larger, got %d",
			metadata.ErrInvalidPartitions, name, old.meta.Partitions, total)
	}
	if err := s.checkPartitionCount(total); err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	// Open the new logs before recording the new count, so a failure
	// leaves the topic as it was.
	grown := old.meta
	grown.Partitions = total
	ts, err := s.openTopic(grown, old.parts)
	if err != nil {
		return err
	}
	t, err := s.reg.SetPartitions(name, total)
	if err != nil {
		for _, p := range ts.parts[len(old.parts):] {
			_ = p.log.Close()
		}
		return err
	}
	ts.meta = t
	s.topicsMu.Lock()
	s.topics[name] = ts
	s.topicsMu.Unlock()
	s.log.Info("partitions added", "topic", name, "partitions", total)
	return nil
}

// setTopicConfigs replaces the configs set on a topic and applies them to
// its open logs.
func (s *Server) setTopicConfigs(name string, configs map[string]string, validateOnly bool) error {
	if err := metadata.ValidateConfigs(configs); err != nil {
		return err
	}
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	old := s.topic(name)
	if old == nil {
		return fmt.Errorf("%w: %q", metadata.ErrUnknownTopic, name)
	}
	if validateOnly {
		return nil
	}
	t, err := s.reg.SetConfigs(name, configs)
	if err != nil {
		return err
	}
	ts := &topicState{meta: t, settings: s.cfg.TopicDefaults.Settings(t.Configs), parts: old.parts}
	opts := s.logOptions(ts.settings)
	var errs []error
	for _, p := range ts.parts {
		if err := p.applySettings(opts); err != nil {
			errs = append(errs, err)
		}
	}
	s.topicsMu.Lock()
	s.topics[name] = ts
	s.topicsMu.Unlock()
	s.log.Info("topic configs changed", "topic", name, "configs", configs)
	return errors.Join(errs...)
}

// topicErr maps an error of the topic operations to a Kafka error code.
func topicErr(err error) *kerr.Error {
	var ce *metadata.ConfigError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return kerr.InvalidConfig
	case errors.Is(err, metadata.ErrTopicExists):
		return kerr.TopicAlreadyExists
	case errors.Is(err, metadata.ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition
	case errors.Is(err, metadata.ErrInvalidTopic):
		return kerr.InvalidTopicException
	case errors.Is(err, metadata.ErrInvalidPartitions):
		return kerr.InvalidPartitions
	}
	return kerr.KafkaStorageError
}

// errMessage returns err's text for an ErrorMessage field, or nil.
func errMessage(err error) *string {
	if err == nil {
		return nil
	}
	m := err.Error()
	return &m
}
