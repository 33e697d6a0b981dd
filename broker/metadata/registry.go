package metadata

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
)

// Errors the registry returns; callers map them to Kafka error codes.
var (
	// ErrTopicExists: Create of a name that is already a topic.
	ErrTopicExists = errors.New("topic already exists")
	// ErrUnknownTopic: the named topic does not exist.
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrInvalidTopic: the name is not a legal topic name.
	ErrInvalidTopic = errors.New("invalid topic name")
	// ErrInvalidPartitions: a partition count below 1, or a count that
	// would shrink a topic.
	ErrInvalidPartitions = errors.New("invalid partition count")
	// ErrClosed: the registry was closed.
	ErrClosed = errors.New("metadata registry closed")
)

// MaxPartitions bounds the partition count of one topic; each partition is
// a directory with open files, so a typo of 1000000 should fail, not hang.
const MaxPartitions = 10000

// TopicID is a topic's UUID, as Kafka carries it (Metadata v10+).
type TopicID [16]byte

// String formats the id as lowercase hex.
func (id TopicID) String() string { return hex.EncodeToString(id[:]) }

// Topic is one topic's metadata. Values returned by the registry are
// copies; changing them changes nothing.
type Topic struct {
	Name       string
	ID         TopicID
	Partitions int32
	// Configs holds only the configs set on the topic, not the defaults.
	Configs map[string]string
}

// Registry holds the topics of the broker. Every change is written to its
// journal before it is visible, and Open replays the journal, so topics
// survive a restart. A Registry is safe for concurrent use.
type Registry struct {
	// mu guards every field below. It is never held while calling into
	// anything but the journal.
	mu        sync.RWMutex
	j         journal
	topics    map[string]*Topic
	byID      map[TopicID]string
	clusterID string
	closed    bool
	created   bool // the cluster id was created by this Open
}

// entry is the journal value of one topic (JSON). The journal key is
// "topic/<name>"; an empty value deletes the topic. The key "cluster"
// holds the cluster id.
type entry struct {
	ID         string            `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

const (
	keyCluster     = "cluster"
	keyTopicPrefix = "topic/"
)

// newRegistry replays j into a registry, creating a cluster id on first use.
func newRegistry(j journal) (*Registry, error) {
	r := &Registry{j: j, topics: map[string]*Topic{}, byID: map[TopicID]string{}}
	err := j.replay(func(key, value []byte) error { return r.apply(string(key), value) })
	if err != nil {
		return nil, fmt.Errorf("metadata: replay: %w", err)
	}
	if r.clusterID == "" {
		var id [16]byte
		if _, err := rand.Read(id[:]); err != nil {
			return nil, fmt.Errorf("metadata: cluster id: %w", err)
		}
		cid := base64.RawURLEncoding.EncodeToString(id[:])
		if err := j.append([]byte(keyCluster), []byte(cid)); err != nil {
			return nil, fmt.Errorf("metadata: write cluster id: %w", err)
		}
		r.clusterID = cid
		r.created = true
	}
	return r, nil
}

// apply folds one journal record into the in-memory state.
func (r *Registry) apply(key string, value []byte) error {
	if key == keyCluster {
		r.clusterID = string(value)
		return nil
	}
	name, ok := strings.CutPrefix(key, keyTopicPrefix)
	if !ok {
		return fmt.Errorf("unknown journal key %q", key)
	}
	if old, ok := r.topics[name]; ok {
		delete(r.byID, old.ID)
		delete(r.topics, name)
	}
	if len(value) == 0 {
		return nil
	}
	var e entry
	if err := json.Unmarshal(value, &e); err != nil {
		return fmt.Errorf("topic %q: %w", name, err)
	}
	if err := ValidateTopicName(name); err != nil {
		return err
	}
	if e.Partitions < 1 || e.Partitions > MaxPartitions {
		return fmt.Errorf("topic %q: %w: %d", name, ErrInvalidPartitions, e.Partitions)
	}
	raw, err := hex.DecodeString(e.ID)
	if err != nil || len(raw) != 16 {
		return fmt.Errorf("topic %q: bad id %q", name, e.ID)
	}
	t := &Topic{Name: name, Partitions: e.Partitions, Configs: e.Configs}
	copy(t.ID[:], raw)
	r.topics[name] = t
	r.byID[t.ID] = name
	return nil
}

// write journals t (or a deletion of name when t is nil) and applies it.
func (r *Registry) write(name string, t *Topic) error {
	var value []byte
	if t != nil {
		var err error
		value, err = json.Marshal(entry{ID: t.ID.String(), Partitions: t.Partitions, Configs: t.Configs})
		if err != nil {
			return err
		}
	}
	key := []byte(keyTopicPrefix + name)
	if err := r.j.append(key, value); err != nil {
		return fmt.Errorf("metadata: journal topic %q: %w", name, err)
	}
	return r.apply(string(key), value)
}

// Created reports whether the registry was empty when opened: this data
// directory had no metadata yet and got a new cluster id.
func (r *Registry) Created() bool { return r.created }

// ClusterID returns the id this data directory was given when first used.
func (r *Registry) ClusterID() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.clusterID
}

// Topic returns the named topic.
func (r *Registry) Topic(name string) (Topic, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.topics[name]
	if !ok {
		return Topic{}, false
	}
	return t.clone(), true
}

// TopicByID returns the topic with the given id.
func (r *Registry) TopicByID(id TopicID) (Topic, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	name, ok := r.byID[id]
	if !ok {
		return Topic{}, false
	}
	return r.topics[name].clone(), true
}

// Topics returns every topic, sorted by name.
func (r *Registry) Topics() []Topic {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Topic, 0, len(r.topics))
	for _, t := range r.topics {
		out = append(out, t.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Create adds a topic with a fresh id. Configs must pass [ValidateConfigs]
// (Create checks again). It fails with ErrTopicExists, ErrInvalidTopic,
// ErrInvalidPartitions or a *ConfigError.
func (r *Registry) Create(name string, partitions int32, configs map[string]string) (Topic, error) {
	if err := ValidateTopicName(name); err != nil {
		return Topic{}, err
	}
	if partitions < 1 || partitions > MaxPartitions {
		return Topic{}, fmt.Errorf("%w: %d, want 1 to %d", ErrInvalidPartitions, partitions, MaxPartitions)
	}
	if err := ValidateConfigs(configs); err != nil {
		return Topic{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Topic{}, ErrClosed
	}
	if _, ok := r.topics[name]; ok {
		return Topic{}, fmt.Errorf("%w: %q", ErrTopicExists, name)
	}
	t := &Topic{Name: name, Partitions: partitions, Configs: maps.Clone(configs)}
	for {
		if _, err := rand.Read(t.ID[:]); err != nil {
			return Topic{}, fmt.Errorf("metadata: topic id: %w", err)
		}
		// Kafka reserves the zero UUID and the one with only the last bit
		// set; collisions with existing ids are astronomically rare but
		// cheap to rule out.
		if _, dup := r.byID[t.ID]; !dup && !bytes.Equal(t.ID[:15], make([]byte, 15)) {
			break
		}
	}
	if err := r.write(name, t); err != nil {
		return Topic{}, err
	}
	return r.topics[name].clone(), nil
}

// Delete removes a topic and returns what it was.
func (r *Registry) Delete(name string) (Topic, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Topic{}, ErrClosed
	}
	t, ok := r.topics[name]
	if !ok {
		return Topic{}, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	old := t.clone()
	if err := r.write(name, nil); err != nil {
		return Topic{}, err
	}
	return old, nil
}

// SetPartitions grows a topic to total partitions.
func (r *Registry) SetPartitions(name string, total int32) (Topic, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Topic{}, ErrClosed
	}
	t, ok := r.topics[name]
	if !ok {
		return Topic{}, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	if total <= t.Partitions || total > MaxPartitions {
		return Topic{}, fmt.Errorf("%w: topic %q has %d partitions; the new count must be larger and at most %d, got %d",
			ErrInvalidPartitions, name, t.Partitions, MaxPartitions, total)
	}
	n := t.clone()
	n.Partitions = total
	if err := r.write(name, &n); err != nil {
		return Topic{}, err
	}
	return r.topics[name].clone(), nil
}

// SetConfigs replaces the configs set on a topic (keys absent from configs
// return to the broker default).
func (r *Registry) SetConfigs(name string, configs map[string]string) (Topic, error) {
	if err := ValidateConfigs(configs); err != nil {
		return Topic{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Topic{}, ErrClosed
	}
	t, ok := r.topics[name]
	if !ok {
		return Topic{}, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	n := t.clone()
	n.Configs = maps.Clone(configs)
	if err := r.write(name, &n); err != nil {
		return Topic{}, err
	}
	return r.topics[name].clone(), nil
}

// Close closes the journal. Later changes fail with ErrClosed.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.j.close()
}

func (t *Topic) clone() Topic {
	c := *t
	c.Configs = maps.Clone(t.Configs)
	if c.Configs == nil {
		c.Configs = map[string]string{}
	}
	return c
}

// ValidateTopicName applies Kafka's rules: 1 to 249 characters from
// [a-zA-Z0-9._-], not "." or "..". Names starting with "__" are reserved
// for the broker's internal logs.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	case len(name) > 249:
		return fmt.Errorf("%w: %d characters, at most 249", ErrInvalidTopic, len(name))
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrInvalidTopic, name)
	case strings.HasPrefix(name, "__"):
		return fmt.Errorf("%w: %q: names starting with __ are reserved for internal topics", ErrInvalidTopic, name)
	}
	for _, c := range name { // by character, so that the error names the one the user typed
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %q: character %q is not one of [a-zA-Z0-9._-]", ErrInvalidTopic, name, c)
		}
	}
	return nil
}
