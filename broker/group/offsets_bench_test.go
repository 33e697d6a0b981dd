package group_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitRequest commits offsets for parts partitions with random metadata
// of metaLen bytes.
func commitRequest(groupName string, parts int, metaLen int) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group = groupName
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = "bench"
	for p := range int32(parts) {
		raw := make([]byte, metaLen/2)
		_, _ = rand.Read(raw)
		meta := hex.EncodeToString(raw)
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = p, int64(p)*1000, &meta
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = []kmsg.OffsetCommitRequestTopic{t}
	return req
}

// BenchmarkCoordinatorOffsetCommit measures the state machine alone: one
// commit of 16 partitions, encoded into records.
func BenchmarkCoordinatorOffsetCommit(b *testing.B) {
	c := group.New(group.Options{}, nil, nil)
	req := commitRequest("g", 16, 64)
	b.SetBytes(int64(len(req.AppendTo(nil))))
	b.ReportAllocs()
	for b.Loop() {
		c.OffsetCommit(req)
		c.TakeRecords()
	}
}

// BenchmarkServiceOffsetCommit measures durable commits (appended to the
// offsets log and fsynced before the answer) from 8 concurrent
// committers, which share fsyncs.
func BenchmarkServiceOffsetCommit(b *testing.B) {
	s, err := group.Open(group.ServiceConfig{Dir: b.TempDir() + "/offsets"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	reqs := make([]*kmsg.OffsetCommitRequest, 8)
	for i := range reqs {
		reqs[i] = commitRequest("g"+string(rune('a'+i)), 16, 64)
	}
	b.SetBytes(int64(len(reqs[0].AppendTo(nil))))
	b.ResetTimer()
	var wg sync.WaitGroup
	ch := make(chan int)
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
				resp := s.OffsetCommit(reqs[i])(context.Background())
				if resp.Topics[0].Partitions[0].ErrorCode != 0 {
					b.Errorf("commit failed: %d", resp.Topics[0].Partitions[0].ErrorCode)
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
}
