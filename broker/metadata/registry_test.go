package metadata_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/metadata"
)

func open(t *testing.T, dir string) *metadata.Registry {
	t.Helper()
	r, err := metadata.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return r
}

func TestRegistryReplay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "__cluster_metadata-0")
	r := open(t, dir)
	if !r.Created() {
		t.Errorf("first Open: Created() = false")
	}
	cid := r.ClusterID()
	if len(cid) != 22 {
		t.Errorf("cluster id %q: want 22 characters", cid)
	}
	a, err := r.Create("a", 3, map[string]string{"retention.ms": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create("b", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetPartitions("a", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetConfigs("a", map[string]string{"segment.ms": "60000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r = open(t, dir)
	defer r.Close()
	if r.Created() || r.ClusterID() != cid {
		t.Errorf("reopen: Created() = %v, cluster id %q; want false, %q", r.Created(), r.ClusterID(), cid)
	}
	topics := r.Topics()
	if len(topics) != 1 {
		t.Fatalf("topics after replay: %v, want only a", topics)
	}
	got := topics[0]
	if got.Name != "a" || got.ID != a.ID || got.Partitions != 5 || len(got.Configs) != 1 || got.Configs["segment.ms"] != "60000" {
		t.Fatalf("a after replay = %+v", got)
	}
	if byID, ok := r.TopicByID(a.ID); !ok || byID.Name != "a" {
		t.Errorf("TopicByID(%v) = %v, %v", a.ID, byID, ok)
	}
	// Returned values are copies.
	got.Configs["segment.ms"] = "1"
	if again, _ := r.Topic("a"); again.Configs["segment.ms"] != "60000" {
		t.Errorf("changing a returned Topic changed the registry")
	}
}

func TestRegistryErrors(t *testing.T) {
	r := metadata.NewInMemory()
	if _, err := r.Create("x", 1, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"dup", second(r.Create("x", 1, nil)), metadata.ErrTopicExists},
		{"bad name", second(r.Create("a b", 1, nil)), metadata.ErrInvalidTopic},
		{"reserved", second(r.Create("__x", 1, nil)), metadata.ErrInvalidTopic},
		{"dot", second(r.Create("..", 1, nil)), metadata.ErrInvalidTopic},
		{"long", second(r.Create(strings.Repeat("x", 250), 1, nil)), metadata.ErrInvalidTopic},
		{"zero partitions", second(r.Create("y", 0, nil)), metadata.ErrInvalidPartitions},
		{"shrink", second(r.SetPartitions("x", 1)), metadata.ErrInvalidPartitions},
		{"unknown", second(r.Delete("nope")), metadata.ErrUnknownTopic},
		{"unknown set", second(r.SetConfigs("nope", nil)), metadata.ErrUnknownTopic},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	// The error names the character the user typed, not one of its bytes.
	if err := metadata.ValidateTopicName("tópico"); err == nil || !strings.Contains(err.Error(), "character 'ó'") {
		t.Errorf("ValidateTopicName(tópico) = %v, want it to name the character 'ó'", err)
	}
	var ce *metadata.ConfigError
	if _, err := r.Create("z", 1, map[string]string{"cleanup.policy": "compact"}); !errors.As(err, &ce) || ce.Key != "cleanup.policy" {
		t.Errorf("compact: %v, want a ConfigError for cleanup.policy", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create("late", 1, nil); !errors.Is(err, metadata.ErrClosed) {
		t.Errorf("Create after Close: %v, want ErrClosed", err)
	}
}

func second(_ metadata.Topic, err error) error { return err }

func TestValidateConfig(t *testing.T) {
	ok := map[string]string{
		"retention.ms": "-1", "retention.bytes": "1048576", "segment.bytes": "1024", "segment.ms": "1",
		"max.message.bytes": "1", "message.timestamp.type": "LogAppendTime", "cleanup.policy": "delete",
	}
	for k, v := range ok {
		if err := metadata.ValidateConfig(k, v); err != nil {
			t.Errorf("ValidateConfig(%s, %s) = %v, want nil", k, v, err)
		}
	}
	bad := []struct{ k, v, msg string }{
		{"retention.ms", "-2", "outside"},
		{"segment.bytes", "100", "outside"},
		{"segment.bytes", "3000000000", "outside"},
		{"max.message.bytes", "x", "not an integer"},
		{"message.timestamp.type", "create", "not one of"},
		{"cleanup.policy", "compact", "compaction is not implemented"},
		{"cleanup.policy", "delete,compact", "compaction is not implemented"},
		{"min.insync.replicas", "1", "unknown topic config"},
	}
	for _, tc := range bad {
		err := metadata.ValidateConfig(tc.k, tc.v)
		var ce *metadata.ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.k || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ValidateConfig(%s, %s) = %v, want a ConfigError naming the key and saying %q", tc.k, tc.v, err, tc.msg)
		}
	}
}

func TestDefaultsSettings(t *testing.T) {
	d := metadata.DefaultTopicDefaults()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	s := d.Settings(map[string]string{"retention.ms": "5", "message.timestamp.type": "LogAppendTime"})
	if s.RetentionMs != 5 || !s.LogAppendTime || s.SegmentBytes != 1<<30 {
		t.Errorf("Settings = %+v", s)
	}
	d.SegmentBytes = 10
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "segment.bytes") {
		t.Errorf("Validate with segment.bytes 10 = %v, want an error naming segment.bytes", err)
	}
}
