package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func newAdmin(t testing.TB, addr string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newClient(t, addr))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCreateTopicsAndMetadata(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)

	resp, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": kadm.StringPtr("60000")}, "orders")
	if err != nil || resp.Err != nil {
		t.Fatalf("CreateTopic: %v %v", err, resp.Err)
	}
	if resp.ID == (kadm.TopicID{}) {
		t.Errorf("CreateTopic returned no topic id")
	}
	if resp.NumPartitions != 3 || resp.ReplicationFactor != 1 {
		t.Errorf("CreateTopic = %d partitions, rf %d, want 3, 1", resp.NumPartitions, resp.ReplicationFactor)
	}

	md, err := adm.Metadata(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	td := md.Topics["orders"]
	if td.Err != nil || len(td.Partitions) != 3 || td.ID != resp.ID {
		t.Fatalf("Metadata(orders) = err %v, %d partitions, id %v; want 3 partitions, id %v", td.Err, len(td.Partitions), td.ID, resp.ID)
	}
	for _, p := range td.Partitions {
		if p.Leader != 0 || len(p.Replicas) != 1 || len(p.ISR) != 1 {
			t.Errorf("partition %d: leader %d replicas %v isr %v", p.Partition, p.Leader, p.Replicas, p.ISR)
		}
	}
	if len(md.Brokers) != 1 || md.Brokers[0].NodeID != 0 || md.Controller != 0 || md.Cluster == "" {
		t.Errorf("brokers %v controller %d cluster %q", md.Brokers, md.Controller, md.Cluster)
	}

	// A second create of the same name fails.
	resp, err = adm.CreateTopic(ctx, 1, 1, nil, "orders")
	if err == nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		t.Errorf("second CreateTopic: err %v, want TOPIC_ALREADY_EXISTS", resp.Err)
	}
}

func TestCreateTopicsBadInput(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	cases := []struct {
		name       string
		partitions int32
		rf         int16
		configs    map[string]*string
		want       error
		msg        string
	}{
		{"rf3", 1, 3, nil, kerr.InvalidReplicationFactor, "larger than the 1 broker"},
		{"zero-parts", 0, 1, nil, kerr.InvalidPartitions, "partition count 0"},
		{"too-many-parts", 1001, 1, nil, kerr.InvalidPartitions, "max-partitions-per-topic"},
		{"bad/name", 1, 1, nil, kerr.InvalidTopicException, "character"},
		{"compact", 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, kerr.InvalidConfig, "compaction is not implemented"},
		{"unknown-key", 1, 1, map[string]*string{"no.such.key": kadm.StringPtr("1")}, kerr.InvalidConfig, `"no.such.key"`},
		{"bad-value", 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("soon")}, kerr.InvalidConfig, "not an integer"},
		{"bad-ts", 1, 1, map[string]*string{"message.timestamp.type": kadm.StringPtr("Now")}, kerr.InvalidConfig, "CreateTime"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := adm.CreateTopic(ctx, tc.partitions, tc.rf, tc.configs, tc.name)
			if err == nil {
				err = resp.Err
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("CreateTopic(%s) = %v, want %v", tc.name, err, tc.want)
			}
			if !strings.Contains(resp.ErrMessage, tc.msg) {
				t.Errorf("error message %q does not mention %q", resp.ErrMessage, tc.msg)
			}
		})
	}
	md, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(md) != 0 {
		t.Errorf("topics after failed creates: %v", md.Names())
	}
}

func TestCreateTopicsValidateOnly(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	resp, err := adm.ValidateCreateTopics(ctx, 2, 1, nil, "maybe")
	if err != nil || resp.Error() != nil {
		t.Fatalf("ValidateCreateTopics: %v %v", err, resp.Error())
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("maybe") {
		t.Fatalf("validate-only created the topic")
	}
}

func TestMetadataAutoCreate(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) { c.DefaultPartitions = 2 }))
		cl := newClient(t, b.Addr(), kgo.AllowAutoTopicCreation())
		adm := kadm.NewClient(cl)
		md, err := adm.Metadata(testCtx(t), "auto")
		if err != nil {
			t.Fatal(err)
		}
		if td := md.Topics["auto"]; td.Err != nil || len(td.Partitions) != 2 {
			t.Fatalf("auto-created topic: err %v, %d partitions, want 2", td.Err, len(td.Partitions))
		}
	})
	t.Run("off", func(t *testing.T) {
		b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) { c.AutoCreateTopics = false }))
		cl := newClient(t, b.Addr(), kgo.AllowAutoTopicCreation())
		md, err := kadm.NewClient(cl).Metadata(testCtx(t), "auto")
		if err != nil {
			t.Fatal(err)
		}
		if td := md.Topics["auto"]; !errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			t.Fatalf("topic with auto-create off: err %v, want UNKNOWN_TOPIC_OR_PARTITION", td.Err)
		}
	})
}
