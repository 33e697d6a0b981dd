package server_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/record"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestReadCommittedWithoutTransactions: a read_committed consumer (the
// default of the Java client since 3.x with EOS, and of many frameworks)
// on a log without transactions reads everything, and the response says
// so: last stable offset = high watermark, no aborted transactions.
func TestReadCommittedWithoutTransactions(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "rc"); err != nil {
		t.Fatal(err)
	}
	produceValues(t, b.Addr(), "rc", []byte("a"), []byte("b"), []byte("c"))
	cl := newClient(t, b.Addr())
	req := fetchReq("rc", 0, 0, 0, 0, 1<<20, 1<<20)
	req.IsolationLevel = 1
	for _, v := range []int16{4, 11, 12} {
		req.Version = v
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.HighWatermark != 3 || p.LastStableOffset != 3 || p.AbortedTransactions == nil || len(p.AbortedTransactions) != 0 {
			t.Errorf("v%d read_committed fetch = err %v hw %d lso %d aborted %v; want none, 3, 3, []",
				v, kerr.ErrorForCode(p.ErrorCode), p.HighWatermark, p.LastStableOffset, p.AbortedTransactions)
		}
		if got := batchOffsets(t, p.RecordBatches); len(got) != 3 {
			t.Errorf("v%d read_committed fetch returned batches at %v, want 3 batches", v, got)
		}
	}
	cons := newClient(t, b.Addr(), kgo.ConsumeTopics("rc"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) < 3 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("read_committed consumer read %q, want a b c", got)
	}
}

// TestMetadataWithoutAutoCreate: with auto-creation on in the broker, a
// v4+ request that sets allow_auto_topic_creation=false creates nothing;
// an empty (not null) topic list in v1+ asks for no topics.
func TestMetadataWithoutAutoCreate(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "exists"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b.Addr())
	for _, v := range []int16{4, 9, 11} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		req.AllowAutoTopicCreation = false
		name := "not-created"
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = &name
		req.Topics = []kmsg.MetadataRequestTopic{rt}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("v%d metadata for a missing topic without auto-create = %+v, want UNKNOWN_TOPIC_OR_PARTITION", v, resp.Topics)
		}
		req.Topics = []kmsg.MetadataRequestTopic{}
		resp, err = req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 0 {
			t.Errorf("v%d metadata with an empty topic list returned %d topics, want none", v, len(resp.Topics))
		}
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("not-created") {
		t.Fatalf("allow_auto_topic_creation=false created the topic")
	}
}

// TestListOffsetsEmptyPartition: on a partition with no records, earliest
// and latest are 0 and a timestamp query finds nothing (offset -1).
func TestListOffsetsEmptyPartition(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "empty"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b.Addr())
	for _, v := range []int16{1, 4, 6} {
		for _, c := range []struct {
			ts, want int64
		}{{-2, 0}, {-1, 0}, {1, -1}} {
			req := kmsg.NewPtrListOffsetsRequest()
			req.Version = v
			req.ReplicaID = -1
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = "empty"
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Timestamp = c.ts
			rt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{rp}
			req.Topics = []kmsg.ListOffsetsRequestTopic{rt}
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			p := resp.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || p.Offset != c.want {
				t.Errorf("v%d ListOffsets(ts %d) on an empty partition = %d %v, want %d", v, c.ts, p.Offset, kerr.ErrorForCode(p.ErrorCode), c.want)
			}
		}
	}
	// A consumer that starts on the empty partition gets the first record
	// produced after it.
	cons := newClient(t, b.Addr(), kgo.ConsumeTopics("empty"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	produceValues(t, b.Addr(), "empty", []byte("first"))
	var got []*kgo.Record
	for len(got) == 0 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		got = append(got, fs.Records()...)
	}
	if len(got) != 1 || got[0].Offset != 0 || string(got[0].Value) != "first" {
		t.Fatalf("consumer of the empty partition read %d records (first at %d), want one at 0", len(got), got[0].Offset)
	}
}

// TestDeleteRecordsToTheEnd: deleting every record leaves an empty
// partition that starts at the old end: fetching there waits for data,
// produce goes on at that offset, and a restart keeps it so.
func TestDeleteRecordsToTheEnd(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "trim"); err != nil {
		t.Fatal(err)
	}
	produceValues(t, b.Addr(), "trim", []byte("0"), []byte("1"), []byte("2"))
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "trim", Partition: 0, At: 3})
	rs, err := adm.DeleteRecords(ctx, os)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := rs.Lookup("trim", 0); r.Err != nil || r.LowWatermark != 3 {
		t.Fatalf("DeleteRecords(3) = %d %v, want 3", r.LowWatermark, r.Err)
	}
	check := func(what string) {
		t.Helper()
		cl := newClient(t, b.Addr())
		resp, err := fetchReq("trim", 0, 3, 0, 0, 1<<20, 1<<20).RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.LogStartOffset != 3 || p.HighWatermark != 3 || len(p.RecordBatches) != 0 {
			t.Errorf("%s: fetch at 3 = err %v start %d hw %d %d bytes; want none, 3, 3, 0",
				what, kerr.ErrorForCode(p.ErrorCode), p.LogStartOffset, p.HighWatermark, len(p.RecordBatches))
		}
		start, err := adm.ListStartOffsets(ctx, "trim")
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := start.Lookup("trim", 0); o.Offset != 3 {
			t.Errorf("%s: start offset = %d, want 3", what, o.Offset)
		}
	}
	check("after DeleteRecords")
	b.Restart()
	adm = newAdmin(t, b.Addr())
	check("after a restart")
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("trim"))
	r := &kgo.Record{Value: []byte("3")}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil || r.Offset != 3 {
		t.Fatalf("produce after deleting everything: offset %d %v, want 3", r.Offset, err)
	}
}

// TestProduceToMissingPartition: a partition index past the topic's
// count, a negative one and an unknown topic get
// UNKNOWN_TOPIC_OR_PARTITION, and nothing is created.
func TestProduceToMissingPartition(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "two"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())
	for i, tc := range []struct {
		topic     string
		partition int32
	}{{"two", 2}, {"two", 99}, {"two", -1}, {"nope", 0}} {
		err := produceRaw(t, c, int32(i), tc.topic, tc.partition, buildBatch(t, []byte("v")))
		if !errors.Is(err, kerr.UnknownTopicOrPartition) {
			t.Errorf("produce to %s/%d = %v, want UNKNOWN_TOPIC_OR_PARTITION", tc.topic, tc.partition, err)
		}
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("nope") || len(topics["two"].Partitions) != 2 {
		t.Fatalf("topics after refused produces = %v, want only two with 2 partitions", topics.Names())
	}
}

// TestBatchesCarryTheLeaderEpoch: whatever partition leader epoch a
// producer puts in a batch (clients send -1), the stored batch carries the
// epoch Metadata reports (0), as Kafka's leader writes it; every other
// byte is stored as sent and the CRC still holds.
func TestBatchesCarryTheLeaderEpoch(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "epochs"); err != nil {
		t.Fatal(err)
	}
	var sent [][]byte
	c := dialRaw(t, b.Addr())
	for i, epoch := range []int32{-1, 7} {
		batch, err := (&record.Batch{PartitionLeaderEpoch: epoch, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
			Records: []record.Record{{Timestamp: 1700000000000, Value: []byte{byte(i)}}}}).AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, bytes.Clone(batch))
		if err := produceRaw(t, c, int32(i), "epochs", 0, batch); err != nil {
			t.Fatal(err)
		}
	}
	cl := newClient(t, b.Addr())
	resp, err := fetchReq("epochs", 0, 0, 0, 0, 1<<20, 1<<20).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	got, err := record.Split(resp.Topics[0].Partitions[0].RecordBatches)
	if err != nil || len(got) != 2 {
		t.Fatalf("fetched %d batches (%v), want 2", len(got), err)
	}
	for i, g := range got {
		h, err := record.Validate(g)
		if err != nil {
			t.Fatalf("batch %d does not validate: %v", i, err)
		}
		if h.PartitionLeaderEpoch != 0 {
			t.Errorf("batch %d partition leader epoch = %d, want 0", i, h.PartitionLeaderEpoch)
		}
		if !bytes.Equal(g[16:], sent[i][16:]) {
			t.Errorf("batch %d changed past its header's offset and epoch fields", i)
		}
	}
	cons := newClient(t, b.Addr(), kgo.ConsumeTopics("epochs"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for n := 0; n < 2; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if r.LeaderEpoch != 0 {
				t.Errorf("record at %d has leader epoch %d, want 0", r.Offset, r.LeaderEpoch)
			}
		})
	}
}

// TestFetchWithAnErrorIsAnsweredAtOnce: as in Kafka, a fetch in which a
// partition has an error (unknown, offset out of range) does not wait out
// its max wait for data elsewhere: the client learns of the error now.
func TestFetchWithAnErrorIsAnsweredAtOnce(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "quiet"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b.Addr())
	for _, c := range []struct {
		what      string
		topic     string
		partition int32
		offset    int64
		want      *kerr.Error
	}{
		{"unknown topic", "missing", 0, 0, kerr.UnknownTopicOrPartition},
		{"unknown partition", "quiet", 5, 0, kerr.UnknownTopicOrPartition},
		{"offset past the end", "quiet", 0, 10, kerr.OffsetOutOfRange},
	} {
		// The quiet partition has no data: without the error the fetch
		// would wait the full minute.
		req := fetchReq("quiet", 0, 0, 60000, 1, 1<<20, 1<<20)
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = c.topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = c.partition, c.offset, 1<<20
		rt.Partitions = []kmsg.FetchRequestTopicPartition{rp}
		if c.topic == "quiet" {
			req.Topics[0].Partitions = append(req.Topics[0].Partitions, rp)
		} else {
			req.Topics = append(req.Topics, rt)
		}
		start := time.Now()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: fetch answered after %v, want at once", c.what, d)
		}
		var got []*kerr.Error
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				got = append(got, kerr.TypedErrorForCode(p.ErrorCode))
			}
		}
		if len(got) != 2 || got[0] != nil || got[1] != c.want {
			t.Errorf("%s: partition errors %v, want [<nil> %v]", c.what, got, c.want)
		}
	}
}
