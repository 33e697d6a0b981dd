package brokercontainer_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokercontainer"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// run starts a broker built from this checkout and terminates it when the
// test ends.
func run(t *testing.T, ctx context.Context, opts ...testcontainers.ContainerCustomizer) *brokercontainer.Container {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a container")
	}
	opts = append([]testcontainers.ContainerCustomizer{
		brokercontainer.WithBuildFromRepo("../.."),
		testcontainers.WithLogger(tclog.TestLogger(t)),
	}, opts...)
	ctr, err := brokercontainer.Run(ctx, brokercontainer.DefaultImage, opts...)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	return ctr
}

func seeds(t *testing.T, ctx context.Context, ctr *brokercontainer.Container) []string {
	t.Helper()
	s, err := ctr.Brokers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || !strings.HasPrefix(s[0], "127.0.0.1:") {
		t.Fatalf("Brokers() = %v, want one 127.0.0.1:PORT", s)
	}
	return s
}

// record is what a test compares: where a record landed and its bytes.
type record struct {
	partition  int32
	offset     int64
	key, value string
}

// produce writes n records of random bytes, keyed so they spread over the
// partitions, and returns them as the broker acknowledged them.
func produce(t *testing.T, ctx context.Context, brokers []string, topic string, n int) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "key-%d", i), Value: []byte(rand.Text())}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	out := make([]record, n)
	for i, r := range recs {
		out[i] = record{r.Partition, r.Offset, string(r.Key), string(r.Value)}
	}
	return sortRecords(out)
}

// consume reads n records of topic from the start.
func consume(t *testing.T, ctx context.Context, brokers []string, topic string, n int) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("consume %s after %d of %d records: %v", topic, len(got), n, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got = append(got, record{r.Partition, r.Offset, string(r.Key), string(r.Value)})
		})
	}
	return sortRecords(got)
}

func sortRecords(rs []record) []record {
	slices.SortFunc(rs, func(a, b record) int {
		if a.partition != b.partition {
			return int(a.partition - b.partition)
		}
		return int(a.offset - b.offset)
	})
	return rs
}

func TestRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctr := run(t, ctx,
		brokercontainer.WithConfig("default-partitions", "3"),
		brokercontainer.WithTopicDefaults(map[string]string{"retention.ms": "-1", "segment.bytes": "1048576"}),
	)
	brokers := seeds(t, ctx, ctr)

	want := produce(t, ctx, brokers, "orders", 30)
	if got := consume(t, ctx, brokers, "orders", 30); !slices.Equal(got, want) {
		t.Fatalf("read back %v, want %v", got, want)
	}

	// The options reached the broker: the auto-created topic has 3
	// partitions and the topic defaults.
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)
	details, err := admin.ListTopics(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(details["orders"].Partitions); n != 3 {
		t.Errorf("orders has %d partitions, want 3 (WithConfig default-partitions)", n)
	}
	cfgs, err := admin.DescribeTopicConfigs(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	for name, wantVal := range map[string]string{"retention.ms": "-1", "segment.bytes": "1048576"} {
		c, err := cfgs.On("orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, kv := range c.Configs {
			if kv.Key == name && kv.Value != nil {
				got = *kv.Value
			}
		}
		if got != wantVal {
			t.Errorf("orders %s = %q, want %q (WithTopicDefaults)", name, got, wantVal)
		}
	}
	adm.Close()

	stop := 10 * time.Second
	if err := ctr.Stop(ctx, &stop); err != nil {
		t.Fatal(err)
	}
	if _, err := ctr.Brokers(ctx); err == nil {
		t.Errorf("Brokers() of a stopped container succeeded, want an error")
	}
	if err := ctr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if again := seeds(t, ctx, ctr); !slices.Equal(again, brokers) {
		t.Fatalf("after restart Brokers() = %v, want the same %v", again, brokers)
	}
	if got := consume(t, ctx, brokers, "orders", 30); !slices.Equal(got, want) {
		t.Fatalf("after restart read %v, want %v", got, want)
	}
	// New records continue the offsets.
	more := produce(t, ctx, brokers, "orders", 3)
	for _, r := range more {
		if r.offset < 1 {
			t.Errorf("record produced after restart at %d/%d, want past the earlier records", r.partition, r.offset)
		}
	}
}

func TestDataVolumeOutlivesContainer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	volume := "millstream-test-" + strings.ToLower(rand.Text()[:10])

	first := run(t, ctx, brokercontainer.WithDataVolume(volume))
	want := produce(t, ctx, seeds(t, ctx, first), "events", 10)
	if err := first.Terminate(ctx); err != nil {
		t.Fatal(err)
	}

	second := run(t, ctx, brokercontainer.WithDataVolume(volume))
	t.Cleanup(func() {
		if err := second.Terminate(context.Background(), testcontainers.RemoveVolumes(volume)); err != nil {
			t.Errorf("remove volume %s: %v", volume, err)
		}
	})
	if got := consume(t, ctx, seeds(t, ctx, second), "events", 10); !slices.Equal(got, want) {
		t.Fatalf("a new container on volume %s read %v, want %v", volume, got, want)
	}
}

func TestBadConfigFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if testing.Short() {
		t.Skip("starts a container")
	}
	start := time.Now()
	ctr, err := brokercontainer.Run(ctx, brokercontainer.DefaultImage,
		brokercontainer.WithBuildFromRepo("../.."),
		brokercontainer.WithConfig("fsync", "sometimes"),
		testcontainers.WithLogger(tclog.TestLogger(t)),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("Run with --fsync=sometimes: error %v, want one quoting the broker's complaint about \"sometimes\"", err)
	}
	// The time includes building the broker and its image, which on a
	// loaded machine can take half a minute; waiting for the broker to be
	// ready would take the 60s ready timeout on top.
	if d := time.Since(start); d > 50*time.Second {
		t.Errorf("Run took %v to report a broker that exits at start, want well under its 60s ready timeout", d)
	}
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		opt  brokercontainer.Option
		want string
	}{
		{brokercontainer.WithConfig("--fsync", "never"), "no dashes"},
		{brokercontainer.WithConfig("fsync=never", ""), "no dashes"},
		{brokercontainer.WithHostPort(70000), "1..65535"},
		{brokercontainer.WithDataVolume(""), "empty volume name"},
	}
	for _, tc := range cases {
		_, err := brokercontainer.Run(context.Background(), brokercontainer.DefaultImage, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run error %v, want one mentioning %q", err, tc.want)
		}
	}
}

func TestWithHostPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a container")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	want := fmt.Sprintf("127.0.0.1:%d", port)

	// A port another process holds: Run fails and says why, without trying
	// another port (the caller asked for this one).
	ctr, err := brokercontainer.Run(ctx, brokercontainer.DefaultImage,
		brokercontainer.WithBuildFromRepo("../.."),
		brokercontainer.WithHostPort(port),
		testcontainers.WithLogger(tclog.TestLogger(t)),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("Run on the taken port %d: error %v, want one saying the address is in use", port, err)
	}
	l.Close()

	free := run(t, ctx, brokercontainer.WithHostPort(port))
	if got := seeds(t, ctx, free); got[0] != want {
		t.Fatalf("Brokers() = %v, want [%s]", got, want)
	}
	recs := produce(t, ctx, []string{want}, "fixed", 2)
	if got := consume(t, ctx, []string{want}, "fixed", 2); !slices.Equal(got, recs) {
		t.Fatalf("read %v, want %v", got, recs)
	}
}
