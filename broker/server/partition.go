package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/millstream/millstream/broker/metadata"
)

// partition is one partition of a topic.
type partition struct {
	topic string
	index int32
}

func (p *partition) delete() error                              { return nil }
func (p *partition) applySettings(metadata.TopicSettings) error { return nil }

// openTopic returns the serving state of t, reusing the already open
// partitions in keep and opening the rest.
func (s *Server) openTopic(t metadata.Topic, keep []*partition) (*topicState, error) {
	ts := &topicState{meta: t, settings: s.cfg.TopicDefaults.Settings(t.Configs)}
	ts.parts = append(ts.parts, keep...)
	for i := int32(len(keep)); i < t.Partitions; i++ {
		ts.parts = append(ts.parts, &partition{topic: t.Name, index: i})
	}
	return ts, nil
}

// openStorage opens the registry and every partition.
func (s *Server) openStorage(context.Context) error {
	s.reg = metadata.NewInMemory()
	for _, t := range s.reg.Topics() {
		ts, err := s.openTopic(t, nil)
		if err != nil {
			return fmt.Errorf("server: open topic %q: %w", t.Name, err)
		}
		s.topics[t.Name] = ts
	}
	return nil
}

// closeStorage closes every partition and the registry.
func (s *Server) closeStorage() error {
	var errs []error
	if s.reg != nil {
		errs = append(errs, s.reg.Close())
	}
	return errors.Join(errs...)
}

func (s *Server) startBackground() {}
