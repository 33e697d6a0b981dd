package server_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRetentionLoopDeletesOldSegments: with small segments and a short
// retention set by AlterConfigs on a live topic, the broker's retention
// loop moves the log start offset without anyone asking.
func TestRetentionLoopDeletesOldSegments(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) {
		c.RetentionCheckInterval = 20 * time.Millisecond
	}))
	ctx := testCtx(t)
	adm := newAdmin(t, b.Addr())
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": kadm.StringPtr("1024")}, "old"); err != nil {
		t.Fatal(err)
	}
	// Current timestamps: the default retention.ms (7 days) keeps them.
	c := dialRaw(t, b.Addr())
	for i := range 6 {
		batch, err := record.Build(0, record.Record{Timestamp: time.Now().UnixMilli(), Value: randomBytes(800)})
		if err != nil {
			t.Fatal(err)
		}
		if err := produceRaw(t, c, int32(i), "old", 0, batch); err != nil { // one batch per segment
			t.Fatal(err)
		}
	}
	start, err := adm.ListStartOffsets(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := start.Lookup("old", 0); o.Offset != 0 {
		t.Fatalf("start offset %d before retention was set", o.Offset)
	}
	rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.bytes", Value: kadm.StringPtr("2048")}}, "old")
	if err != nil || rs[0].Err != nil {
		t.Fatalf("alter: %v %v", err, rs)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		start, err := adm.ListStartOffsets(ctx, "old")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := start.Lookup("old", 0)
		if o.Offset >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("start offset still %d: the retention loop did not apply retention.bytes=2048", o.Offset)
		}
		time.Sleep(10 * time.Millisecond)
	}
	end, err := adm.ListEndOffsets(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := end.Lookup("old", 0); o.Offset != 6 {
		t.Errorf("end offset %d after retention, want 6", o.Offset)
	}
}

// TestLogAppendTime: on a topic with message.timestamp.type=LogAppendTime
// the broker stamps batches, the produce response carries the stamp, and
// consumers read it instead of the producer's timestamp.
func TestLogAppendTime(t *testing.T) {
	b := brokertest.Start(t)
	ctx := testCtx(t)
	adm := newAdmin(t, b.Addr())
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"message.timestamp.type": kadm.StringPtr("LogAppendTime")}, "stamped"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())
	before := time.Now().UnixMilli()
	c.send(produceReq("stamped", 0, -1, buildBatch(t, []byte("x"))), 1)
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 7
	c.read(1, resp)
	after := time.Now().UnixMilli()
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.LogAppendTime < before || p.LogAppendTime > after {
		t.Fatalf("produce: error %d, LogAppendTime %d, want between %d and %d", p.ErrorCode, p.LogAppendTime, before, after)
	}
	cons := newClient(t, b.Addr(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"stamped": {0: kgo.NewOffset().AtStart()}}))
	for {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("record not fetched")
		}
		var recs []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
		if len(recs) == 0 {
			continue
		}
		if got := recs[0].Timestamp.UnixMilli(); got != p.LogAppendTime {
			t.Fatalf("consumed timestamp %d, want the log append time %d (producer said 1700000000000)", got, p.LogAppendTime)
		}
		return
	}
}

// TestFsyncPolicies: every policy serves acks=all produces and keeps the
// data across a clean restart.
func TestFsyncPolicies(t *testing.T) {
	for _, policy := range []string{"always", "interval=5ms", "never"} {
		t.Run(policy, func(t *testing.T) {
			p, err := server.ParseFsyncPolicy(policy)
			if err != nil {
				t.Fatal(err)
			}
			b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) { c.Fsync = p }))
			if _, err := newAdmin(t, b.Addr()).CreateTopic(testCtx(t), 1, 1, nil, "d"); err != nil {
				t.Fatal(err)
			}
			produceValues(t, b.Addr(), "d", []byte("1"), []byte("2"), []byte("3"))
			b.Restart()
			end, err := newAdmin(t, b.Addr()).ListEndOffsets(testCtx(t), "d")
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := end.Lookup("d", 0); o.Offset != 3 {
				t.Fatalf("end offset after restart = %d, want 3", o.Offset)
			}
		})
	}
}

func TestParseFsyncPolicy(t *testing.T) {
	for in, want := range map[string]server.FsyncPolicy{
		"always":         {Mode: server.FsyncAlways},
		"never":          {Mode: server.FsyncNever},
		"interval=100ms": {Mode: server.FsyncInterval, Interval: 100 * time.Millisecond},
	} {
		got, err := server.ParseFsyncPolicy(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseFsyncPolicy(%q) = %+v, %v (String %q)", in, got, err, got.String())
		}
	}
	for _, bad := range []string{"", "sometimes", "interval", "interval=", "interval=0s", "interval=-1s", "interval=fast"} {
		if _, err := server.ParseFsyncPolicy(bad); err == nil {
			t.Errorf("ParseFsyncPolicy(%q) succeeded", bad)
		}
	}
}
