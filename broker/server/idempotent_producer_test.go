package server_test

import (
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzGoIdempotentProducer runs franz-go's default (idempotent)
// producer and checks every record lands once, in order.
func TestFranzGoIdempotentProducer(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "idem"); err != nil {
		t.Fatal(err)
	}
	// franz-go producers are idempotent unless told otherwise
	// (kgo.DisableIdempotentWrite); acks=all is the default.
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic("idem"), kgo.MaxBufferedRecords(100))
	const n = 2000
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Value: []byte{byte(i >> 8), byte(i)}}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cons := newClient(t, b.Addr(), kgo.ConsumeTopics("idem"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := 0
	for got < n {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if int(r.Offset) != got || r.Value[0] != byte(got>>8) || r.Value[1] != byte(got) {
				t.Fatalf("record %d at offset %d = %x", got, r.Offset, r.Value)
			}
			got++
		})
	}
}
