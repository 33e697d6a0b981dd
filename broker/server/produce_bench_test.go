package server_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduce measures records of 1 KiB of random bytes produced
// through the Kafka front end by franz-go (one partition, no compression),
// for each acks setting; with acks=all every acknowledged batch is fsynced.
func BenchmarkProduce(b *testing.B) {
	for _, bc := range []struct {
		name string
		acks kgo.Acks
		opts []kgo.Opt
	}{
		{"acks=all", kgo.AllISRAcks(), nil},
		{"acks=1", kgo.LeaderAck(), []kgo.Opt{kgo.DisableIdempotentWrite()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			br := brokertest.Start(b, brokertest.WithConfig(func(c *server.Config) { c.DefaultPartitions = 1 }))
			opts := append([]kgo.Opt{
				kgo.SeedBrokers(br.Addr()), kgo.DefaultProduceTopic("bench"), kgo.AllowAutoTopicCreation(),
				kgo.RequiredAcks(bc.acks), kgo.ProducerBatchCompression(kgo.NoCompression()),
			}, bc.opts...)
			cl, err := kgo.NewClient(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			ctx := context.Background()
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warm up")}).FirstErr(); err != nil {
				b.Fatal(err)
			}
			values := make([][]byte, 1024)
			for i := range values {
				values[i] = make([]byte, 1024)
				_, _ = rand.Read(values[i])
			}
			var wg sync.WaitGroup
			var once sync.Once
			var firstErr error
			b.SetBytes(1024)
			b.ResetTimer()
			for i := range b.N {
				wg.Add(1)
				cl.Produce(ctx, &kgo.Record{Value: values[i%len(values)]}, func(_ *kgo.Record, err error) {
					if err != nil {
						once.Do(func() { firstErr = err })
					}
					wg.Done()
				})
			}
			wg.Wait()
			b.StopTimer()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
		})
	}
}

// BenchmarkFetch measures reading 1 KiB random records back through the
// Kafka front end with franz-go.
func BenchmarkFetch(b *testing.B) {
	br := brokertest.Start(b, brokertest.WithConfig(func(c *server.Config) { c.DefaultPartitions = 1 }))
	ctx := context.Background()
	prod, err := kgo.NewClient(kgo.SeedBrokers(br.Addr()), kgo.DefaultProduceTopic("bench"), kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	value := make([]byte, 1024)
	_, _ = rand.Read(value)
	var wg sync.WaitGroup
	for range b.N {
		wg.Add(1)
		prod.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	cons, err := kgo.NewClient(kgo.SeedBrokers(br.Addr()), kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	b.SetBytes(1024)
	b.ResetTimer()
	for n := 0; n < b.N; {
		fs := cons.PollFetches(ctx)
		if errs := fs.Errors(); len(errs) > 0 {
			b.Fatal(errs)
		}
		n += fs.NumRecords()
	}
}
