package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestProduceFetchRoundTrip produces records with random keys, values and
// headers and explicit timestamps across 3 partitions, then reads every
// partition from the start and checks each record came back exactly, at
// the offset its produce acknowledged, with offsets contiguous from 0.
func TestProduceFetchRoundTrip(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	b := brokertest.Start(t)
	ctx := testCtx(t)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	adm := newAdmin(t, b.Addr())
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "round"); err != nil {
		t.Fatal(err)
	}
	prod := newClient(t, b.Addr(), kgo.DefaultProduceTopic("round"), kgo.ProducerBatchCompression(kgo.NoCompression()))

	base := time.Now().Add(-time.Hour).UnixMilli()
	sent := make([]*kgo.Record, n)
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range sent {
		key := make([]byte, 1+rng.IntN(16))
		_, _ = rand.Read(key)
		value := make([]byte, rng.IntN(200))
		_, _ = rand.Read(value)
		r := &kgo.Record{Key: key, Value: value, Timestamp: time.UnixMilli(base + int64(i))}
		for h := range rng.IntN(3) {
			hv := make([]byte, rng.IntN(8))
			_, _ = rand.Read(hv)
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: fmt.Sprintf("h%d", h), Value: hv})
		}
		if i%1000 == 0 {
			r.Value = nil // a null value survives too
		}
		sent[i] = r
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var produceErr error
	for _, r := range sent {
		wg.Add(1)
		prod.Produce(ctx, r, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				produceErr = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if produceErr != nil {
		t.Fatalf("produce: %v", produceErr)
	}

	want := map[int32][]*kgo.Record{}
	for _, r := range sent {
		want[r.Partition] = append(want[r.Partition], r)
	}
	for p := range int32(3) {
		for i, r := range want[p] {
			if r.Offset != int64(i) {
				// Produce is one connection, in order, so a partition's
				// acknowledged offsets count up from 0 in send order.
				t.Fatalf("partition %d: record %d acknowledged at offset %d", p, i, r.Offset)
			}
		}
	}

	cons := newClient(t, b.Addr(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"round": {
		0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart(), 2: kgo.NewOffset().AtStart(),
	}}), kgo.FetchMaxWait(500*time.Millisecond))
	got := map[int32][]*kgo.Record{}
	total := 0
	for total < n {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", total, n)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatalf("fetch errors: %v", errs)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], r)
			total++
		})
	}
	for p := range int32(3) {
		if len(got[p]) != len(want[p]) {
			t.Fatalf("partition %d: read %d records, produced %d", p, len(got[p]), len(want[p]))
		}
		for i, g := range got[p] {
			w := want[p][i]
			if g.Offset != int64(i) {
				t.Fatalf("partition %d: record %d has offset %d", p, i, g.Offset)
			}
			if !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) || (g.Value == nil) != (w.Value == nil) {
				t.Fatalf("partition %d offset %d: key/value %x/%x, want %x/%x", p, i, g.Key, g.Value, w.Key, w.Value)
			}
			if !g.Timestamp.Equal(w.Timestamp) {
				t.Fatalf("partition %d offset %d: timestamp %v, want %v", p, i, g.Timestamp, w.Timestamp)
			}
			if len(g.Headers) != len(w.Headers) {
				t.Fatalf("partition %d offset %d: %d headers, want %d", p, i, len(g.Headers), len(w.Headers))
			}
			for h := range g.Headers {
				if g.Headers[h].Key != w.Headers[h].Key || !bytes.Equal(g.Headers[h].Value, w.Headers[h].Value) {
					t.Fatalf("partition %d offset %d: header %d = %v, want %v", p, i, h, g.Headers[h], w.Headers[h])
				}
			}
		}
	}
}
