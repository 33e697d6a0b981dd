package server_test

import (
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// sessionFetch sends a v12 fetch with the given session id and epoch for
// the partitions of topic in parts (partition -> fetch offset), and
// returns the response.
func sessionFetch(t *testing.T, cl *kgo.Client, id, epoch int32, topic string, parts map[int32]int64, forget ...int32) *kmsg.FetchResponse {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 0, 0, 1<<20
	req.SessionID, req.SessionEpoch = id, epoch
	if len(parts) > 0 {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		for p := range int32(16) {
			if off, ok := parts[p]; ok {
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
				rt.Partitions = append(rt.Partitions, rp)
			}
		}
		req.Topics = append(req.Topics, rt)
	}
	if len(forget) > 0 {
		ft := kmsg.NewFetchRequestForgottenTopic()
		ft.Topic, ft.Partitions = topic, forget
		req.ForgottenTopics = append(req.ForgottenTopics, ft)
	}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// answered returns the partitions of resp, each with its record count.
func answered(t *testing.T, resp *kmsg.FetchResponse) map[int32]int {
	t.Helper()
	out := map[int32]int{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("partition %d: %v", p.Partition, kerr.ErrorForCode(p.ErrorCode))
			}
			out[p.Partition] = len(batchOffsets(t, p.RecordBatches))
		}
	}
	return out
}

func TestFetchSessions(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "s"); err != nil {
		t.Fatal(err)
	}
	prod := newClient(t, b.Addr(), kgo.DefaultProduceTopic("s"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceTo := func(p int32) {
		t.Helper()
		if err := prod.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produceTo(0)
	cl := newClient(t, b.Addr())

	// Full fetch opening a session: every partition is answered.
	resp := sessionFetch(t, cl, 0, 0, "s", map[int32]int64{0: 0, 1: 0, 2: 0})
	id := resp.SessionID
	if resp.ErrorCode != 0 || id == 0 {
		t.Fatalf("full fetch with epoch 0: error %v, session %d; want a session", kerr.ErrorForCode(resp.ErrorCode), id)
	}
	if got := answered(t, resp); len(got) != 3 || got[0] != 1 {
		t.Fatalf("full fetch answered %v, want 3 partitions, one record in 0", got)
	}

	// Incremental, naming only partition 0's new offset: nothing new, so
	// nothing is answered.
	resp = sessionFetch(t, cl, id, 1, "s", map[int32]int64{0: 1})
	if resp.ErrorCode != 0 || resp.SessionID != id {
		t.Fatalf("incremental fetch: error %v, session %d; want %d", kerr.ErrorForCode(resp.ErrorCode), resp.SessionID, id)
	}
	if got := answered(t, resp); len(got) != 0 {
		t.Fatalf("incremental fetch with nothing new answered %v, want nothing", got)
	}

	// New data in partition 2, which the request does not name: the
	// session still reads it (from offset 0, as last sent).
	produceTo(2)
	resp = sessionFetch(t, cl, id, 2, "s", nil)
	if got := answered(t, resp); len(got) != 1 || got[2] != 1 {
		t.Fatalf("incremental fetch after a produce to 2 answered %v, want partition 2 with one record", got)
	}
	// Partition 0 was updated to offset 1 in the session: a record there
	// is read from 1.
	produceTo(0)
	resp = sessionFetch(t, cl, id, 3, "s", map[int32]int64{2: 1})
	if got := answered(t, resp); len(got) != 1 || got[0] != 1 {
		t.Fatalf("incremental fetch after a produce to 0 answered %v, want partition 0 with one record", got)
	}
	if p := resp.Topics[0].Partitions[0]; batchOffsets(t, p.RecordBatches)[0] != 1 || p.HighWatermark != 2 {
		t.Fatalf("partition 0 answered from %v, high watermark %d; want the batch at 1, 2", batchOffsets(t, p.RecordBatches), p.HighWatermark)
	}

	// A forgotten partition is no longer read.
	produceTo(1)
	resp = sessionFetch(t, cl, id, 4, "s", map[int32]int64{0: 2}, 1)
	if got := answered(t, resp); len(got) != 0 {
		t.Fatalf("incremental fetch after forgetting 1 answered %v, want nothing", got)
	}

	// Wrong epochs and unknown sessions.
	if resp = sessionFetch(t, cl, id, 4, "s", nil); resp.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("repeated epoch: %v, want INVALID_FETCH_SESSION_EPOCH", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp = sessionFetch(t, cl, id+1000, 1, "s", nil); resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: %v, want FETCH_SESSION_ID_NOT_FOUND", kerr.ErrorForCode(resp.ErrorCode))
	}
	// The session survived the bad requests.
	if resp = sessionFetch(t, cl, id, 5, "s", nil); resp.ErrorCode != 0 {
		t.Fatalf("epoch 5 after bad requests: %v", kerr.ErrorForCode(resp.ErrorCode))
	}

	// Epoch -1 closes the session and fetches without one.
	resp = sessionFetch(t, cl, id, -1, "s", map[int32]int64{1: 0})
	if resp.ErrorCode != 0 || resp.SessionID != 0 {
		t.Fatalf("closing fetch: error %v, session %d; want none, 0", kerr.ErrorForCode(resp.ErrorCode), resp.SessionID)
	}
	if got := answered(t, resp); len(got) != 1 || got[1] != 1 {
		t.Fatalf("closing fetch answered %v, want partition 1 with one record", got)
	}
	if resp = sessionFetch(t, cl, id, 6, "s", nil); resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("closed session: %v, want FETCH_SESSION_ID_NOT_FOUND", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// TestFetchSessionReportsWatermarkChanges: an incremental fetch answers a
// partition without new records when its log start offset moved
// (DeleteRecords), so the client learns of it.
func TestFetchSessionReportsWatermarkChanges(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "w"); err != nil {
		t.Fatal(err)
	}
	produceValues(t, b.Addr(), "w", []byte("a"), []byte("b"))
	cl := newClient(t, b.Addr())
	resp := sessionFetch(t, cl, 0, 0, "w", map[int32]int64{0: 2, 1: 0})
	id := resp.SessionID
	if got := answered(t, resp); len(got) != 2 {
		t.Fatalf("full fetch answered %v, want 2 partitions", got)
	}
	if _, err := adm.DeleteRecords(ctx, offsetsOf("w", 0, 1)); err != nil {
		t.Fatal(err)
	}
	resp = sessionFetch(t, cl, id, 1, "w", nil)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].LogStartOffset != 1 {
		t.Fatalf("incremental fetch after DeleteRecords = %+v, want partition 0 with log start 1", resp.Topics)
	}
	resp = sessionFetch(t, cl, id, 2, "w", nil)
	if len(resp.Topics) != 0 {
		t.Fatalf("next incremental fetch = %+v, want nothing", resp.Topics)
	}
}

// TestFranzGoConsumerUsesFetchSessions: franz-go's consumer opens a fetch
// session and reads every record of many partitions in order through
// incremental fetches.
func TestFranzGoConsumerUsesFetchSessions(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	const parts, per = 8, 50
	if _, err := adm.CreateTopic(ctx, parts, 1, nil, "many"); err != nil {
		t.Fatal(err)
	}
	cons := newClient(t, b.Addr(), kgo.ConsumeTopics("many"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(50e6))
	prod := newClient(t, b.Addr(), kgo.DefaultProduceTopic("many"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	next := make([]int64, parts)
	got := 0
	for round := range per {
		for p := range int32(parts) {
			prod.Produce(ctx, &kgo.Record{Partition: p, Value: []byte{byte(round)}}, nil)
		}
		if round%10 == 0 {
			if err := prod.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for got < parts*per {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] || r.Value[0] != byte(r.Offset) {
				t.Fatalf("partition %d: record at %d (value %d), want offset %d", r.Partition, r.Offset, r.Value[0], next[r.Partition])
			}
			next[r.Partition]++
			got++
		})
	}
	if n := b.Server().Stats().FetchSessions; n < 1 {
		t.Fatalf("Stats().FetchSessions = %d, want the consumer's session", n)
	}
}

func offsetsOf(topic string, partition int32, at int64) kadm.Offsets {
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: topic, Partition: partition, At: at})
	return os
}
