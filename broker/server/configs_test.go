package server_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func describeTopic(t *testing.T, adm *kadm.Client, topic string) map[string]kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(testCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("DescribeTopicConfigs(%s): %v %v", topic, err, rc.Err)
	}
	out := map[string]kadm.Config{}
	for _, c := range rc.Configs {
		out[c.Key] = c
	}
	return out
}

func TestDescribeTopicConfigsSources(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) {
		c.TopicDefaults.MaxMessageBytes = 2 << 20
	}))
	adm := newAdmin(t, b.Addr())
	if _, err := adm.CreateTopic(testCtx(t), 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("1000")}, "cfg"); err != nil {
		t.Fatal(err)
	}
	cfgs := describeTopic(t, adm, "cfg")
	want := map[string]struct {
		value  string
		source kmsg.ConfigSource
	}{
		"retention.ms":           {"1000", kmsg.ConfigSourceDynamicTopicConfig},
		"max.message.bytes":      {"2097152", kmsg.ConfigSourceStaticBrokerConfig},
		"segment.bytes":          {"1073741824", kmsg.ConfigSourceDefaultConfig},
		"retention.bytes":        {"-1", kmsg.ConfigSourceDefaultConfig},
		"segment.ms":             {"604800000", kmsg.ConfigSourceDefaultConfig},
		"message.timestamp.type": {"CreateTime", kmsg.ConfigSourceDefaultConfig},
		"cleanup.policy":         {"delete", kmsg.ConfigSourceDefaultConfig},
	}
	for k, w := range want {
		c, ok := cfgs[k]
		if !ok {
			t.Errorf("config %s missing", k)
			continue
		}
		if val(c) != w.value || c.Source != w.source {
			t.Errorf("%s = %q from %v, want %q from %v", k, val(c), c.Source, w.value, w.source)
		}
	}
	if n := len(cfgs["retention.ms"].Synonyms); n != 2 {
		t.Errorf("retention.ms has %d synonyms, want 2 (topic, default)", n)
	}
}

func TestAlterTopicConfigs(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "alter"); err != nil {
		t.Fatal(err)
	}
	// Incremental: set two, then delete one.
	rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("5000")},
		{Op: kadm.SetConfig, Name: "message.timestamp.type", Value: kadm.StringPtr("LogAppendTime")},
	}, "alter")
	if err != nil || rs[0].Err != nil {
		t.Fatalf("AlterTopicConfigs: %v %v", err, rs)
	}
	cfgs := describeTopic(t, adm, "alter")
	if v := val(cfgs["retention.ms"]); v != "5000" {
		t.Errorf("retention.ms = %s, want 5000", v)
	}
	if v := val(cfgs["message.timestamp.type"]); v != "LogAppendTime" {
		t.Errorf("message.timestamp.type = %s, want LogAppendTime", v)
	}
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "retention.ms"}}, "alter")
	if err != nil || rs[0].Err != nil {
		t.Fatalf("AlterTopicConfigs delete: %v %v", err, rs)
	}
	cfgs = describeTopic(t, adm, "alter")
	if c := cfgs["retention.ms"]; val(c) != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("after delete, retention.ms = %s from %v, want the default", val(c), c.Source)
	}
	// Non-incremental replaces the whole set.
	rs, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: kadm.StringPtr("1048576")}}, "alter")
	if err != nil || rs[0].Err != nil {
		t.Fatalf("AlterTopicConfigsState: %v %v", err, rs)
	}
	cfgs = describeTopic(t, adm, "alter")
	if v := val(cfgs["segment.bytes"]); v != "1048576" {
		t.Errorf("segment.bytes = %s, want 1048576", v)
	}
	if c := cfgs["message.timestamp.type"]; c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("AlterConfigs kept message.timestamp.type (source %v); it replaces the whole set", c.Source)
	}
	// Bad input.
	bad := []struct {
		name string
		cfg  kadm.AlterConfig
		want error
		msg  string
	}{
		{"unknown key", kadm.AlterConfig{Op: kadm.SetConfig, Name: "flush.ms", Value: kadm.StringPtr("1")}, kerr.InvalidConfig, "flush.ms"},
		{"compact", kadm.AlterConfig{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")}, kerr.InvalidConfig, "compaction is not implemented"},
		{"append compact", kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")}, kerr.InvalidConfig, "compaction"},
		{"append number", kadm.AlterConfig{Op: kadm.AppendConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}, kerr.InvalidConfig, "list configs only"},
		{"negative segment", kadm.AlterConfig{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("-5")}, kerr.InvalidConfig, "outside"},
	}
	for _, tc := range bad {
		rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{tc.cfg}, "alter")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !errors.Is(rs[0].Err, tc.want) || !strings.Contains(rs[0].ErrMessage, tc.msg) {
			t.Errorf("%s: err %v %q, want %v mentioning %q", tc.name, rs[0].Err, rs[0].ErrMessage, tc.want, tc.msg)
		}
	}
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}}, "nope")
	if err != nil || !errors.Is(rs[0].Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("alter unknown topic: %v %v, want UNKNOWN_TOPIC_OR_PARTITION", err, rs)
	}
}

func TestBrokerConfigs(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) { c.TopicDefaults.RetentionMs = 3600000 }))
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	rcs, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil || len(rcs) != 1 || rcs[0].Err != nil {
		t.Fatalf("DescribeBrokerConfigs: %v %v", err, rcs)
	}
	got := map[string]kadm.Config{}
	for _, c := range rcs[0].Configs {
		got[c.Key] = c
	}
	if c := got["log.retention.ms"]; val(c) != "3600000" || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Errorf("log.retention.ms = %s from %v, want 3600000 from STATIC_BROKER_CONFIG", val(c), c.Source)
	}
	if c := got["log.dirs"]; val(c) != b.DataDir() {
		t.Errorf("log.dirs = %s, want %s", val(c), b.DataDir())
	}
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !errors.Is(rs[0].Err, kerr.InvalidRequest) || !strings.Contains(rs[0].ErrMessage, "static") {
		t.Errorf("AlterBrokerConfigs = %v, want INVALID_REQUEST saying settings are static", rs)
	}
}

func TestDeleteTopics(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "doomed"); err != nil {
		t.Fatal(err)
	}
	resp, err := adm.DeleteTopic(ctx, "doomed")
	if err != nil || resp.Err != nil {
		t.Fatalf("DeleteTopic: %v %v", err, resp.Err)
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil || topics.Has("doomed") {
		t.Fatalf("topic still listed after delete: %v %v", err, topics.Names())
	}
	resp, err = adm.DeleteTopic(ctx, "doomed")
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("second delete: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	// Recreating the name gives a new id.
	c1, err := adm.CreateTopic(ctx, 1, 1, nil, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	if c1.ID == resp.ID {
		t.Errorf("recreated topic reuses the old id")
	}
}

func TestCreatePartitions(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "grow"); err != nil {
		t.Fatal(err)
	}
	rs, err := adm.CreatePartitions(ctx, 2, "grow")
	if err != nil || rs["grow"].Err != nil {
		t.Fatalf("CreatePartitions: %v %v", err, rs)
	}
	md, err := adm.Metadata(ctx, "grow")
	if err != nil || len(md.Topics["grow"].Partitions) != 3 {
		t.Fatalf("after adding 2: %v, %d partitions, want 3", err, len(md.Topics["grow"].Partitions))
	}
	rs, err = adm.UpdatePartitions(ctx, 2, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if r := rs["grow"]; !errors.Is(r.Err, kerr.InvalidPartitions) || !strings.Contains(r.ErrMessage, "has 3 partitions") {
		t.Errorf("shrink to 2: %v %q, want INVALID_PARTITIONS", r.Err, r.ErrMessage)
	}
	rs, err = adm.ValidateCreatePartitions(ctx, 5, "grow")
	if err != nil || rs["grow"].Err != nil {
		t.Fatalf("ValidateCreatePartitions: %v %v", err, rs)
	}
	md, _ = adm.Metadata(ctx, "grow")
	if n := len(md.Topics["grow"].Partitions); n != 3 {
		t.Errorf("validate-only changed the count to %d", n)
	}
	rs, err = adm.CreatePartitions(ctx, 1, "missing")
	if err != nil || !errors.Is(rs["missing"].Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("unknown topic: %v %v", err, rs)
	}
}

func TestDescribeCluster(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) { c.AdvertiseKafkaAddr = "broker.example:19092" }))
	c := dialRaw(t, b.Addr())
	req := kmsg.NewPtrDescribeClusterRequest()
	c.send(req, 1)
	resp := kmsg.NewPtrDescribeClusterResponse()
	c.read(1, resp)
	if resp.ErrorCode != 0 || resp.ClusterID == "" || resp.ControllerID != 0 || len(resp.Brokers) != 1 {
		t.Fatalf("DescribeCluster = %+v", resp)
	}
	if br := resp.Brokers[0]; br.Host != "broker.example" || br.Port != 19092 {
		t.Errorf("broker %s:%d, want the advertised broker.example:19092", br.Host, br.Port)
	}
}

func val(c kadm.Config) string { return c.MaybeValue() }
