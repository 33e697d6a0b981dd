package compat_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// advertises reports whether the broker lists api key in ApiVersions.
func advertises(t testing.TB, addr string, key kmsg.Key) bool {
	t.Helper()
	c, err := dialRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "compat", "1"
	resp, err := c.roundTrip(req, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range resp.(*kmsg.ApiVersionsResponse).ApiKeys {
		if k.ApiKey == key.Int16() {
			return true
		}
	}
	return false
}

// requireAPI skips the test while the broker does not advertise key: the
// feature it tests is not built yet. Once the broker advertises it, the test
// runs and must pass.
func requireAPI(t testing.TB, addr string, key kmsg.Key, feature string) {
	t.Helper()
	if !advertises(t, addr, key) {
		t.Skipf("broker does not advertise %s (key %d): %s not implemented yet", kmsg.NameForKey(key.Int16()), key, feature)
	}
}

// TestIdempotentProducerThroughCuttingProxy sends numbered records with
// franz-go's idempotent producer through a proxy that cuts connections in
// the middle of requests, right after them, and in the middle of responses.
// Every retry must be deduplicated by the broker: each partition ends up
// with every record exactly once, in the order sent.
func TestIdempotentProducerThroughCuttingProxy(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.InitProducerID, "the idempotent producer")
	const (
		topic      = "idempotent"
		partitions = 3
		records    = 30000
	)
	createTopic(t, b.Addr(), topic, partitions)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)

	// Cut about one produce request in 4; never two cuts within 5 ms, so
	// the producer makes progress between them.
	var lastCut time.Time
	proxy := startCutProxy(t, b.Addr(), seed, func(rng *rand.Rand, key int16, _ int) cutKind {
		if key != kmsg.Produce.Int16() || time.Since(lastCut) < 5*time.Millisecond || rng.IntN(4) != 0 {
			return cutNone
		}
		lastCut = time.Now()
		return cutKind(1 + rng.IntN(3))
	})
	// Every connection, to the seed broker and to the broker named in
	// metadata, goes through the proxy.
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	cl := newClient(t, b.Addr(),
		kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, proxy.Addr())
		}),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(time.Millisecond),
		kgo.ProducerBatchMaxBytes(4<<10),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.MetadataMinAge(50*time.Millisecond),
	)

	var mu sync.Mutex
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for seq := range uint64(records) {
		v := binary.BigEndian.AppendUint64(nil, seq)
		v = append(v, make([]byte, 64)...)
		cl.Produce(ctx, &kgo.Record{Partition: int32(seq % partitions), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if len(errs) > 0 {
		t.Fatalf("%d records failed; first: %v", len(errs), errs[0])
	}
	cuts := proxy.Cuts()
	t.Logf("proxy saw %d requests and cut %v", proxy.reqs.Load(), cuts)
	if cuts[cutMidRequest]+cuts[cutAfterRequest]+cuts[cutMidResponse] < 10 {
		t.Fatalf("the proxy cut only %v connections; the test proves little", cuts)
	}

	got := readAll(t, b.Addr(), topic, 60*time.Second)
	start, end := endOffsets(t, newClient(t, b.Addr()), topic)
	checkContiguous(t, got, start, end)
	for p := range int32(partitions) {
		want := uint64(p)
		for _, r := range got[p] {
			seq := binary.BigEndian.Uint64(r.Value)
			if seq != want {
				t.Fatalf("partition %d offset %d: record %d, want %d (every record exactly once, in order)", p, r.Offset, seq, want)
			}
			want += partitions
		}
		if want < records {
			t.Fatalf("partition %d ends before record %d", p, want)
		}
	}
}

// TestKcatIdempotentProducerThroughCuttingProxy runs librdkafka's
// idempotent producer (kcat -P with enable.idempotence=true) through the
// connection-cutting proxy: the broker advertises the proxy's address, so
// every connection kcat makes goes through it. kcat must deliver every line,
// and the partition must hold each exactly once, in order.
func TestKcatIdempotentProducerThroughCuttingProxy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("librdkafka reconnects after every cut; runs without -short")
	}
	kcat := requireKcat(t)
	const (
		topic = "kcat-idempotent"
		lines = 20000
	)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	addr := freeAddr(t)
	var lastCut time.Time
	proxy := startCutProxy(t, addr, seed, func(rng *rand.Rand, key int16, _ int) cutKind {
		if key != kmsg.Produce.Int16() || time.Since(lastCut) < 20*time.Millisecond || rng.IntN(5) != 0 {
			return cutNone
		}
		lastCut = time.Now()
		return cutKind(1 + rng.IntN(3))
	})
	b := startBroker(t, withAddr(addr), withArgs("--advertise-kafka-addr", proxy.Addr()))
	requireAPI(t, b.Addr(), kmsg.InitProducerID, "the idempotent producer")
	createTopic(t, b.Addr(), topic, 1)

	var in bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&in, "line-%06d\n", i)
	}
	_, err := runTool(t, 90*time.Second, in.Bytes(), kcat, "-b", proxy.Addr(), "-P", "-E", "-t", topic, "-p", "0",
		"-X", "enable.idempotence=true",
		"-X", "linger.ms=1", "-X", "batch.num.messages=100",
		"-X", "retry.backoff.ms=10", "-X", "reconnect.backoff.ms=10", "-X", "reconnect.backoff.max.ms=100")
	if err != nil {
		t.Fatalf("kcat -P with enable.idempotence=true through the proxy: %v", err)
	}
	cuts := proxy.Cuts()
	t.Logf("proxy saw %d requests and cut %v", proxy.reqs.Load(), cuts)
	if cuts[cutMidRequest]+cuts[cutAfterRequest]+cuts[cutMidResponse] < 5 {
		t.Fatalf("the proxy cut only %v connections; the test proves little", cuts)
	}
	got := readAll(t, b.Addr(), topic, 30*time.Second)
	if len(got[0]) != lines {
		t.Errorf("partition holds %d records, want %d", len(got[0]), lines)
	}
	for i, r := range got[0] {
		if want := fmt.Sprintf("line-%06d", i); string(r.Value) != want || r.Offset != int64(i) {
			t.Fatalf("offset %d: %q, want %q at offset %d (every line exactly once, in order)", r.Offset, r.Value, want, i)
		}
	}
}
