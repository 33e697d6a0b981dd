package storage_test

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// benchBatches returns n distinct batches of records of valueLen random
// bytes each (random, so that nothing downstream can compress them).
func benchBatches(b *testing.B, n, records, valueLen int) [][]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	out := make([][]byte, n)
	for i := range out {
		out[i] = makeBatch(b, rng, records, valueLen, 1_700_000_000_000)
	}
	return out
}

func openBench(b *testing.B) *storage.Log {
	l, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkAppend appends batches of one 1 KiB record on the OS file
// system (b.TempDir): without fsync, with an fsync per append from one
// producer, and from many producers whose fsyncs group-commit.
func BenchmarkAppend(b *testing.B) {
	b.Run("NoSync", func(b *testing.B) {
		l := openBench(b)
		batches := benchBatches(b, 64, 1, 1024)
		b.SetBytes(int64(len(batches[0])))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := l.Append(batches[i%len(batches)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("SyncEach", func(b *testing.B) {
		l := openBench(b)
		batches := benchBatches(b, 64, 1, 1024)
		b.SetBytes(int64(len(batches[0])))
		b.ReportAllocs()
		ctx := context.Background()
		i := 0
		for b.Loop() {
			res, err := l.Append(batches[i%len(batches)])
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Sync(ctx, res.LastOffset+1); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, wb := range []bool{false, true} {
		name := "GroupCommit64"
		if wb {
			name += "/WriteBehind"
		}
		b.Run(name, func(b *testing.B) { benchGroupCommit(b, wb) })
	}
}

// benchGroupCommit appends and syncs 1 KiB batches from 64 producers.
func benchGroupCommit(b *testing.B, writeBehind bool) {
	counter := vfs.NewFaulty(vfs.Default) // injects nothing; counts fsyncs
	l, err := storage.Open(b.TempDir(), storage.Options{FS: counter, WriteBehind: writeBehind})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	syncs := counter.Syncs()
	b.SetBytes(1024 + 61 + 10)
	b.ReportAllocs()
	b.SetParallelism(32) // 64 producers on 2 cores
	ctx := context.Background()
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		s := seed.Add(1)
		rng := rand.New(rand.NewPCG(s, s))
		batches := make([][]byte, 8)
		for i := range batches {
			batches[i] = makeBatch(b, rng, 1, 1024, 0)
		}
		i := 0
		for pb.Next() {
			res, err := l.Append(batches[i%len(batches)])
			if err != nil {
				b.Error(err)
				return
			}
			if err := l.Sync(ctx, res.LastOffset+1); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/float64(counter.Syncs()-syncs), "batches/fsync")
}

// BenchmarkAppendPartitions is a produce request of four batches, one to
// each of four of eight logs, followed by SyncAll, from 64 producers: the
// acks=all path of a topic with eight partitions.
func BenchmarkAppendPartitions(b *testing.B) {
	logs := make([]*storage.Log, 8)
	for i := range logs {
		logs[i] = openBench(b)
	}
	b.SetBytes(4 * (1024 + 61 + 10))
	b.ReportAllocs()
	b.SetParallelism(32)
	ctx := context.Background()
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		s := seed.Add(1)
		rng := rand.New(rand.NewPCG(s, s))
		batches := make([][]byte, 8)
		for i := range batches {
			batches[i] = makeBatch(b, rng, 1, 1024, 0)
		}
		points := make([]storage.SyncPoint, 4)
		for pb.Next() {
			first := rng.IntN(len(logs))
			for j := range points {
				l := logs[(first+j)%len(logs)]
				res, err := l.Append(batches[j])
				if err != nil {
					b.Error(err)
					return
				}
				points[j] = storage.SyncPoint{Log: l, UpTo: res.LastOffset + 1}
			}
			if err := storage.SyncAll(ctx, points...); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRead reads 1 MiB at a time through 64 MiB of 1 KiB records,
// front to back and around again, as a catching-up consumer does.
func BenchmarkRead(b *testing.B) {
	l, err := storage.Open(b.TempDir(), storage.Options{SegmentBytes: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batches := benchBatches(b, 64, 1, 1024)
	for i := 0; l.Size() < 64<<20; i++ {
		if _, err := l.Append(batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	end := l.EndOffset()
	b.ReportAllocs()
	off := int64(0)
	var total int64
	for b.Loop() {
		data, err := l.Read(off, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
		parts, _ := record.Split(data)
		h, _ := record.ParseHeader(parts[len(parts)-1])
		off = h.LastOffset() + 1
		if off == end {
			off = 0
		}
	}
	b.SetBytes(total / int64(b.N))
}
