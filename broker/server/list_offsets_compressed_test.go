package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/brokertest"
)

// TestListOffsetsByTimeInCompressedBatches: a franz-go producer writes one
// batch of records 10 ms apart with each codec; ListOffsets for each record's
// timestamp, and for a millisecond after the one before it, answers exactly
// that record's offset and timestamp, as Kafka does.
func TestListOffsetsByTimeInCompressedBatches(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	codecs := map[string]kgo.CompressionCodec{
		"gzip":   kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(),
		"lz4":    kgo.Lz4Compression(),
		"zstd":   kgo.ZstdCompression(),
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	const n = 8
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "times-" + name
			if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			// Manual flushing buffers all records before the one produce
			// request, so they travel as one compressed batch.
			cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic), kgo.ManualFlushing(),
				kgo.ProducerBatchCompression(codec))
			for i := range n {
				r := &kgo.Record{Value: fmt.Appendf(nil, "record %d of a %s batch", i, name),
					Timestamp: base.Add(time.Duration(i) * 10 * time.Millisecond)}
				cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
					if err != nil {
						t.Error(err)
					}
				})
			}
			if err := cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				want := base.Add(time.Duration(i) * 10 * time.Millisecond).UnixMilli()
				for _, target := range []int64{want, want - 9} {
					got, err := adm.ListOffsetsAfterMilli(ctx, target, topic)
					if err != nil {
						t.Fatal(err)
					}
					o, ok := got.Lookup(topic, 0)
					if !ok || o.Err != nil || o.Offset != int64(i) || o.Timestamp != want {
						t.Errorf("ListOffsets(%d) = offset %d timestamp %d err %v, want %d at %d", target, o.Offset, o.Timestamp, o.Err, i, want)
					}
				}
			}
		})
	}
}
