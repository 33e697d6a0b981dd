package compat_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCrashKeepsMetadata kills the broker with SIGKILL right after it
// acknowledged metadata changes and checks each survived: created topics
// with their partition counts and configs, a deleted topic stays deleted,
// an altered config, added partitions, the last of many offset commits,
// and producer ids are not handed out twice.
func TestCrashKeepsMetadata(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := kadm.NewClient(newClient(t, b.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Topics created, one deleted, a config altered, partitions added.
	want := map[string]int{}
	for i := range 12 {
		name := fmt.Sprintf("meta-%02d", i)
		want[name] = 1 + i%4
		retention := fmt.Sprint(3_600_000 + i)
		resp, err := adm.CreateTopic(ctx, int32(want[name]), 1, map[string]*string{"retention.ms": &retention}, name)
		if err != nil || resp.Err != nil {
			t.Fatalf("CreateTopic(%s): %v %v", name, err, resp.Err)
		}
	}
	produce := newClient(t, b.Addr(), kgo.DefaultProduceTopic("meta-00"))
	if err := produce.ProduceSync(ctx, &kgo.Record{Value: []byte("gone with the topic")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	produce.Close()
	if resp, err := adm.DeleteTopics(ctx, "meta-00"); err != nil || resp.Error() != nil {
		t.Fatalf("DeleteTopics(meta-00): %v %v", err, resp.Error())
	}
	delete(want, "meta-00")
	newRetention := "123456789"
	if resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &newRetention}}, "meta-05"); err != nil || resp[0].Err != nil {
		t.Fatalf("AlterTopicConfigs(meta-05): %v %v", err, resp)
	}
	if resp, err := adm.CreatePartitions(ctx, 3, "meta-01"); err != nil || resp.Error() != nil {
		t.Fatalf("CreatePartitions(meta-01, +3): %v %v", err, resp.Error())
	}
	want["meta-01"] += 3

	// Many commits in a row; the last acknowledged one must survive.
	const group = "meta-group"
	var last kadm.Offsets
	for i := range 50 {
		offs := kadm.Offsets{}
		for p := range int32(want["meta-03"]) {
			offs.Add(kadm.Offset{Topic: "meta-03", Partition: p, At: int64(i*10) + int64(p), LeaderEpoch: -1})
		}
		resp, err := adm.CommitOffsets(ctx, group, offs)
		if err != nil || resp.Error() != nil {
			t.Fatalf("commit %d: %v %v", i, err, resp.Error())
		}
		last = offs
	}

	pid1 := initProducerID(t, b.Addr())

	b.Kill()
	b.Restart()
	adm = kadm.NewClient(newClient(t, b.Addr()))

	td, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	got := map[string]int{}
	for name, d := range td {
		if len(name) > 5 && name[:5] == "meta-" {
			got[name] = len(d.Partitions)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("topics after SIGKILL = %v, want %v", got, want)
	}
	rc, err := adm.DescribeTopicConfigs(ctx, "meta-05", "meta-07")
	if err != nil {
		t.Fatalf("DescribeTopicConfigs: %v", err)
	}
	for _, r := range rc {
		wantRet := map[string]string{"meta-05": newRetention, "meta-07": "3600007"}[r.Name]
		var v string
		for _, c := range r.Configs {
			if c.Key == "retention.ms" && c.Value != nil {
				v = *c.Value
			}
		}
		if r.Err != nil || v != wantRet {
			t.Errorf("%s retention.ms after SIGKILL = %q (err %v), want %q", r.Name, v, r.Err, wantRet)
		}
	}

	fetched, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("FetchOffsets: %v", err)
	}
	for p, o := range last["meta-03"] {
		f, ok := fetched.Lookup("meta-03", p)
		if !ok || f.Err != nil || f.At != o.At {
			t.Errorf("committed offset of meta-03[%d] after SIGKILL = %+v, want %d (the last acknowledged commit)", p, f, o.At)
		}
	}

	// A topic recreated under a deleted name starts empty.
	if resp, err := adm.CreateTopic(ctx, 1, 1, nil, "meta-00"); err != nil || resp.Err != nil {
		t.Fatalf("recreate meta-00: %v %v", err, resp.Err)
	}
	_, end := endOffsets(t, newClient(t, b.Addr()), "meta-00")
	if end[0] != 0 {
		t.Errorf("meta-00 recreated after deletion and SIGKILL has end offset %d, want 0 (old data must not come back)", end[0])
	}

	if pid2 := initProducerID(t, b.Addr()); pid2 == pid1 {
		t.Errorf("InitProducerId after SIGKILL returned producer id %d again", pid2)
	}
}

// initProducerID asks for a producer id for an idempotent producer.
func initProducerID(t testing.TB, addr string) int64 {
	t.Helper()
	if !advertises(t, addr, kmsg.InitProducerID) {
		return -1
	}
	c, err := dialRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = 4
	req.TransactionTimeoutMillis = 60000
	req.ProducerID, req.ProducerEpoch = -1, -1
	resp, err := c.roundTrip(req, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.(*kmsg.InitProducerIDResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		t.Fatalf("InitProducerId: %v", err)
	}
	return r.ProducerID
}
