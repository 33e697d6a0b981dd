package server_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/record"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestPipelinedProducesKeepTheirBytes: a connection reads each produce
// request into the frame buffer of the one before (conn.go), so this
// pipelines produces of equal size, acks=all (write-behind: the append
// copies and the fsync comes later) and acks=1, without waiting for
// answers, then reads every record back: each must hold the bytes it was
// sent with, not those of a later request read over it.
func TestPipelinedProducesKeepTheirBytes(t *testing.T) {
	b := brokertest.Start(t)
	ctx := testCtx(t)
	if _, err := newAdmin(t, b.Addr()).CreateTopic(ctx, 1, 1, nil, "reuse"); err != nil {
		t.Fatal(err)
	}
	const n = 64
	values := make([][]byte, n)
	c := dialRaw(t, b.Addr())
	for i := range values {
		values[i] = make([]byte, 8<<10)
		_, _ = rand.Read(values[i])
		batch, err := record.Build(0, record.Record{Timestamp: int64(i), Value: values[i]})
		if err != nil {
			t.Fatal(err)
		}
		acks := int16(-1)
		if i%3 == 2 {
			acks = 1
		}
		c.send(produceReq("reuse", 0, acks, batch), int32(i))
	}
	for i := range n {
		resp := kmsg.NewPtrProduceResponse()
		resp.Version = 7
		c.read(int32(i), resp)
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.BaseOffset != int64(i) {
			t.Fatalf("produce %d: error %d, base offset %d, want 0, %d", i, p.ErrorCode, p.BaseOffset, i)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("reuse"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != int64(got) || !bytes.Equal(r.Value, values[got]) {
				t.Errorf("record at offset %d (number %d) does not hold the bytes produced with it", r.Offset, got)
			}
			got++
		})
	}
}
