package server

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// panicCounter is a slog handler that counts the broker's "panic serving
// request" records; the fuzz target fails on any.
type panicCounter struct {
	n atomic.Int64
}

func (p *panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "panic serving request" {
		p.n.Add(1)
	}
	return nil
}
func (p *panicCounter) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicCounter) WithGroup(string) slog.Handler      { return p }

// seedFrames returns a frame (without its size prefix) for every API the
// server implements, at every version it supports, filled in with plausible
// values.
func seedFrames(s *Server) [][]byte {
	batch, _ := record.Build(0, record.Record{Timestamp: 1, Key: []byte("k"), Value: []byte("v")})
	var out [][]byte
	for key, a := range s.apis {
		for v := a.min; v <= a.max; v++ {
			req := kmsg.RequestForKey(key)
			req.SetVersion(v)
			fill(req, batch)
			b := binary.BigEndian.AppendUint16(nil, uint16(key))
			b = binary.BigEndian.AppendUint16(b, uint16(v))
			b = binary.BigEndian.AppendUint32(b, 7)
			b = binary.BigEndian.AppendUint16(b, 4)
			b = append(b, "fuzz"...)
			if req.IsFlexible() {
				b = append(b, 0)
			}
			out = append(out, req.AppendTo(b))
		}
	}
	return out
}

func fill(req kmsg.Request, batch []byte) {
	topic := "fz"
	switch r := req.(type) {
	case *kmsg.ProduceRequest:
		r.Acks = -1
		r.Topics = []kmsg.ProduceRequestTopic{{Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batch}}}}
	case *kmsg.FetchRequest:
		r.MaxWaitMillis, r.MinBytes, r.MaxBytes = 10, 1, 1<<20
		r.Topics = []kmsg.FetchRequestTopic{{Topic: topic, Partitions: []kmsg.FetchRequestTopicPartition{{PartitionMaxBytes: 1 << 20}}}}
	case *kmsg.ListOffsetsRequest:
		r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Timestamp: -1, MaxNumOffsets: 1}}}}
	case *kmsg.MetadataRequest:
		r.Topics = []kmsg.MetadataRequestTopic{{Topic: &topic}}
		r.AllowAutoTopicCreation = true
	case *kmsg.CreateTopicsRequest:
		v := "60000"
		r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "fz2", NumPartitions: 2, ReplicationFactor: 1,
			Configs: []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: &v}}}}
	case *kmsg.DeleteTopicsRequest:
		r.TopicNames = []string{"fz2"}
		r.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: &topic}}
	case *kmsg.DeleteRecordsRequest:
		r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: topic, Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Offset: 0}}}}
	case *kmsg.DescribeConfigsRequest:
		r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic}}
	case *kmsg.IncrementalAlterConfigsRequest:
		v := "1000"
		r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic,
			Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: &v}}}}
	case *kmsg.CreatePartitionsRequest:
		r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: topic, Count: 2}}
	}
}

// FuzzRequest feeds arbitrary frames to the request path of a running
// broker (decoding, dispatch, handlers, deferred replies). It fails on a
// panic (recovered and logged by the server) and on a reply that never
// completes.
func FuzzRequest(f *testing.F) {
	cfg := DefaultConfig()
	cfg.DataDir = f.TempDir()
	cfg.KafkaAddr = "127.0.0.1:0"
	// Creating a partition costs milliseconds of file creation and
	// fsyncs; keep what a fuzzed request may ask for small.
	cfg.MaxPartitionsPerTopic = 16
	panics := &panicCounter{}
	s, err := New(cfg, slog.New(panics))
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	for _, fr := range seedFrames(s) {
		f.Add(fr)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 18, 0, 9, 0, 0, 0, 1}) // ApiVersions v9, no client id
	// Flexible headers claiming 2^32-1 tagged fields: the broker parses
	// header tags itself, with a loop that stops when the bytes run out.
	f.Add([]byte{0, 18, 0, 3, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0})
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if slowToDecode(frame) {
			t.Skip("kmsg spends seconds on a huge tagged-field count; see slowToDecode")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		before := panics.n.Load()
		it, err := s.serveFrame(ctx, frame, remote)
		if it != nil && it.wait != nil {
			s.goDeferred(ctx, it)
		}
		if panics.n.Load() != before {
			t.Fatalf("request panicked (err %v)", err)
		}
		if it == nil {
			return
		}
		select {
		case <-it.done:
		case <-time.After(10 * time.Second):
			t.Fatal("deferred reply did not complete 8s after its context ended")
		}
		if it.fail != nil || panics.n.Load() != before {
			t.Fatalf("deferred reply failed: %v", it.fail)
		}
		if it.resp != nil {
			_ = appendResponse(nil, it.corr, it.resp)
		}
	})
}

// slowToDecode reports whether kmsg takes more than a second to decode the
// body of frame. kmsg (v1.15.0, and upstream at the time of writing) loops
// over a tagged-field count read from the wire even after running out of
// bytes, so a 24-byte flexible request claiming 2^32 tags costs about ten
// seconds of CPU before it fails to decode. That is kmsg's to fix (no
// correct guard exists outside it: see "Security" in
// docs/broker/running.md); the fuzzer skips such inputs rather than
// reporting them as hangs. The
// decoding goroutine finishes on its own (the loop is bounded by 2^32).
func slowToDecode(frame []byte) bool {
	if len(frame) < 8 {
		return false
	}
	key := int16(binary.BigEndian.Uint16(frame))
	req := kmsg.RequestForKey(key)
	if req == nil {
		return false
	}
	req.SetVersion(int16(binary.BigEndian.Uint16(frame[2:])))
	if !req.IsFlexible() {
		return false
	}
	_, body, err := readHeaderRest(frame[8:], true)
	if err != nil {
		return false
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = recover() }()
		_ = req.ReadFrom(body)
	}()
	select {
	case <-done:
		return false
	case <-time.After(time.Second):
		return true
	}
}
