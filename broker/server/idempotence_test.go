package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawProduce sends one idempotent batch straight through kmsg, so the test
// can send the same bytes twice, as a producer retrying after a lost
// response does.
func rawProduce(t *testing.T, cl *kgo.Client, topic string, pid int64, epoch int16, seq int32, n int) (int64, error) {
	t.Helper()
	recs := make([]record.Record, n)
	for i := range recs {
		// Producer state expires by the batches' timestamps (as in
		// Kafka), so they must be recent.
		recs[i] = record.Record{Timestamp: time.Now().UnixMilli(), Value: []byte{byte(seq), byte(i)}}
	}
	b := record.Batch{PartitionLeaderEpoch: -1, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, Records: recs}
	batch, err := b.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version = 7
	req.Acks = -1
	req.TimeoutMillis = 5000
	p := kmsg.NewProduceRequestTopicPartition()
	p.Partition = 0
	p.Records = batch
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rt.Partitions = []kmsg.ProduceRequestTopicPartition{p}
	req.Topics = []kmsg.ProduceRequestTopic{rt}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatalf("produce request: %v", err)
	}
	rp := resp.Topics[0].Partitions[0]
	return rp.BaseOffset, kerr.ErrorForCode(rp.ErrorCode)
}

func initProducerID(t *testing.T, cl *kgo.Client) int64 {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("InitProducerID: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp.ProducerID
}

func TestIdempotentProduceDeduplicatesRetries(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "idem"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b.Addr())
	pid := initProducerID(t, cl)
	if other := initProducerID(t, cl); other == pid {
		t.Fatalf("InitProducerID gave id %d twice", pid)
	}

	steps := []struct {
		what    string
		epoch   int16
		seq     int32
		n       int
		want    int64
		wantErr error
	}{
		{"first batch", 0, 0, 3, 0, nil},
		{"retry of the first batch", 0, 0, 3, 0, nil},
		{"second batch", 0, 3, 2, 3, nil},
		{"retry of the first batch again", 0, 0, 3, 0, nil},
		{"a gap", 0, 9, 1, -1, kerr.OutOfOrderSequenceNumber},
		{"next in order", 0, 5, 1, 5, nil},
		{"new epoch from 0", 1, 0, 1, 6, nil},
		{"old epoch", 0, 6, 1, -1, kerr.InvalidProducerEpoch},
	}
	run := func(t *testing.T) {
		for _, s := range steps {
			off, err := rawProduce(t, cl, "idem", pid, s.epoch, s.seq, s.n)
			if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) || (err == nil && off != s.want) {
				t.Fatalf("%s: offset %d err %v, want %d %v", s.what, off, err, s.want, s.wantErr)
			}
		}
	}
	run(t)
	// A producer the partition has no state for (its batches deleted or
	// expired) is accepted mid-sequence, as by Kafka 2.5+, and its retry
	// is a duplicate.
	if off, err := rawProduce(t, cl, "idem", pid+100, 0, 4, 1); err != nil || off != 7 {
		t.Fatalf("unknown producer mid-sequence: %d %v, want appended at 7", off, err)
	}
	if off, err := rawProduce(t, cl, "idem", pid+100, 0, 4, 1); err != nil || off != 7 {
		t.Fatalf("retry of the unknown producer's batch: %d %v, want duplicate at 7", off, err)
	}
	ends, err := adm.ListEndOffsets(ctx, "idem")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := ends.Lookup("idem", 0); e.Offset != 8 {
		t.Fatalf("log end = %d, want 8 (duplicates written?)", e.Offset)
	}

	// After a restart the broker still knows the sequences: retries are
	// still duplicates.
	b.Restart()
	cl = newClient(t, b.Addr())
	if off, err := rawProduce(t, cl, "idem", pid, 1, 0, 1); err != nil || off != 6 {
		t.Fatalf("retry after restart: %d %v, want duplicate at 6", off, err)
	}
	if off, err := rawProduce(t, cl, "idem", pid, 1, 1, 1); err != nil || off != 8 {
		t.Fatalf("next after restart: %d %v, want 8", off, err)
	}
	if next := initProducerID(t, cl); next == pid || next < pid {
		t.Fatalf("producer id after restart %d, want a new one above %d", next, pid)
	}
}

// TestProduceOfSeveralBatchesIsAllOrNothing: a produce carrying two
// batches for one partition, the second out of sequence, is refused as a
// whole, as in Kafka: the first batch is not written either, so the
// client's retry of the request cannot duplicate it.
func TestProduceOfSeveralBatchesIsAllOrNothing(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "pair"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b.Addr())
	pid := initProducerID(t, cl)
	batch := func(seq int32) []byte {
		out, err := (&record.Batch{PartitionLeaderEpoch: -1, ProducerID: pid, BaseSequence: seq,
			Records: []record.Record{{Timestamp: time.Now().UnixMilli(), Value: []byte{byte(seq)}}}}).AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	c := dialRaw(t, b.Addr())
	if err := produceRaw(t, c, 1, "pair", 0, append(batch(0), batch(5)...)); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("produce of seq 0 and seq 5 = %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
	ends, err := adm.ListEndOffsets(ctx, "pair")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := ends.Lookup("pair", 0); e.Offset != 0 {
		t.Fatalf("log end after the refused produce = %d, want 0 (nothing written)", e.Offset)
	}
	// In order, both are written.
	if err := produceRaw(t, c, 2, "pair", 0, append(batch(0), batch(1)...)); err != nil {
		t.Fatalf("produce of seq 0 and 1: %v", err)
	}
	if ends, err = adm.ListEndOffsets(ctx, "pair"); err != nil {
		t.Fatal(err)
	}
	if e, _ := ends.Lookup("pair", 0); e.Offset != 2 {
		t.Fatalf("log end after seq 0 and 1 = %d, want 2", e.Offset)
	}
}
