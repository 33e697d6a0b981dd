package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProducerSettings are the producer-side client settings of `produce` and
// `perf produce`.
type ProducerSettings struct {
	// Acks is "all" (or "-1"), "1" or "0". Default: "all".
	Acks string
	// Compression is none, gzip, snappy, lz4 or zstd. Default: none.
	Compression string
	// Idempotent enables the idempotent producer (acks=all only). Default:
	// off, so the commands also work against brokers without InitProducerId.
	Idempotent bool
	// ManualPartition makes each record go to its own Partition field.
	ManualPartition bool
	// Linger is how long a batch waits for more records. Default: 0.
	Linger time.Duration
	// BatchMaxBytes caps a record batch. Default: kgo's (1 MB).
	BatchMaxBytes int32
	// MaxInFlight is the number of produce requests in flight per broker
	// without Idempotent. Default: 1, so a retried request cannot overtake
	// the next one and reorder records. With Idempotent it is always 5.
	MaxInFlight int
	// DeliveryTimeout bounds each record's delivery including retries.
	// Default: none (retry until the record is delivered or fails for good).
	DeliveryTimeout time.Duration
}

// ClientOpts turns the settings into kgo options.
func (s ProducerSettings) ClientOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch strings.ToLower(s.Acks) {
	case "", "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
		if !s.Idempotent {
			opts = append(opts, kgo.DisableIdempotentWrite())
		}
	case "1", "leader":
		if s.Idempotent {
			return nil, errors.New("--idempotent needs --acks all")
		}
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0", "none":
		if s.Idempotent {
			return nil, errors.New("--idempotent needs --acks all")
		}
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("--acks %q: want all, 1 or 0", s.Acks)
	}
	if !s.Idempotent {
		// Without sequence numbers, a retried request could overtake the
		// one after it; one request in flight per broker keeps the order
		// unless the caller asks for more. (With idempotence kgo allows 5
		// and keeps the order itself.)
		opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(max(s.MaxInFlight, 1)))
	}
	codec, err := parseCompression(s.Compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if s.ManualPartition {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	opts = append(opts, kgo.ProducerLinger(s.Linger))
	if s.BatchMaxBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(s.BatchMaxBytes))
	}
	if s.DeliveryTimeout > 0 {
		opts = append(opts, kgo.RecordDeliveryTimeout(s.DeliveryTimeout))
	}
	return opts, nil
}

func parseCompression(s string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", s)
}

// ProduceOptions describe what `produce` sends.
type ProduceOptions struct {
	Topic string
	// KeySeparator, when set, splits each line at its first occurrence
	// into key and value; a line without it is an error.
	KeySeparator string
	// Headers are added to every record.
	Headers []kgo.RecordHeader
	// Partition, when 0 or above, is the partition every record goes to;
	// the client must then use ProducerSettings.ManualPartition. -1 lets
	// the partitioner choose (by key hash, or sticky when keyless).
	Partition int32
}

// ProduceLines sends each line of in (without its line ending) as one
// record and waits until every record is acknowledged. It stops reading at
// the first failed record and returns its error, naming the line; the count
// is the number of records acknowledged.
func ProduceLines(ctx context.Context, cl *kgo.Client, in io.Reader, o ProduceOptions) (int64, error) {
	if o.Topic == "" {
		return 0, errors.New("produce: a topic is required")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		acked    int64
		failures int64
		firstErr error
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	r := bufio.NewReaderSize(in, 64<<10)
	var (
		line     int64
		inputErr error
	)
	for !failed() {
		b, readErr := r.ReadBytes('\n')
		if len(b) == 0 && readErr != nil {
			if readErr != io.EOF {
				return acked, fmt.Errorf("produce: read input: %w", readErr)
			}
			break
		}
		line++
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		rec := &kgo.Record{Topic: o.Topic, Value: b, Headers: o.Headers}
		if o.Partition >= 0 {
			rec.Partition = o.Partition
		}
		if o.KeySeparator != "" {
			k, v, ok := bytes.Cut(b, []byte(o.KeySeparator))
			if !ok {
				// Records of the lines before this one still go out.
				inputErr = fmt.Errorf("produce: line %d: no key separator %q in the line", line, o.KeySeparator)
				break
			}
			rec.Key, rec.Value = k, v
		}
		n := line
		cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				acked++
				return
			}
			failures++
			if firstErr == nil {
				firstErr = fmt.Errorf("produce: line %d to topic %q: %w", n, r.Topic, err)
				cancel()
			}
		})
		if readErr != nil {
			break
		}
	}
	if err := cl.Flush(ctx); err != nil && !failed() && ctx.Err() == nil {
		return acked, fmt.Errorf("produce: flush: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr == nil && inputErr != nil {
		return acked, inputErr
	}
	if firstErr == nil && ctx.Err() != nil {
		return acked, fmt.Errorf("produce: %w", ctx.Err())
	}
	if failures > 1 {
		// A batch fails as a whole, so the first line named may be a
		// good line that shared its batch with the culprit.
		return acked, fmt.Errorf("%w (%d records failed, %d acknowledged)", firstErr, failures, acked)
	}
	return acked, firstErr
}

// ParseHeaders turns k=v strings into record headers.
func ParseHeaders(kvs []string) ([]kgo.RecordHeader, error) {
	hs := make([]kgo.RecordHeader, 0, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--header %q: want key=value", kv)
		}
		hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return hs, nil
}
