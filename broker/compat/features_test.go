package compat_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// runPyFeature runs one scenario of testdata/kafka_python_features.py and
// decodes its JSON into out.
func runPyFeature(t testing.TB, out any, args ...string) {
	t.Helper()
	stdout, err := runTool(t, 90*time.Second, nil, python, append([]string{"testdata/kafka_python_features.py"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("script output is not JSON: %v\n%s", err, stdout)
	}
}

// produceTimestamped writes n records in one batch to partition 0 of topic,
// record i with timestamp base+i seconds and value "ts-<i>".
func produceTimestamped(t testing.TB, addr, topic string, n int, base time.Time, codec kgo.CompressionCodec) {
	t.Helper()
	cl := newClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(codec), kgo.ProducerLinger(100*time.Millisecond))
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Timestamp: base.Add(time.Duration(i) * time.Second), Value: fmt.Appendf(nil, "ts-%d", i)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// TestKafkaPythonFeatures checks broker features through kafka-python:
// LogAppendTime topics, offsets_for_times, fetches with limits smaller than
// a batch, and the max.message.bytes limit.
func TestKafkaPythonFeatures(t *testing.T) {
	t.Parallel()
	requireKafkaPython(t)
	b := startBroker(t)

	t.Run("LogAppendTime", func(t *testing.T) {
		var res struct {
			Acks []struct {
				Offset    int64 `json:"offset"`
				Timestamp int64 `json:"timestamp"`
			} `json:"acks"`
			Consumed []struct {
				Offset        int64 `json:"offset"`
				Timestamp     int64 `json:"timestamp"`
				TimestampType int   `json:"timestamp_type"`
			} `json:"consumed"`
		}
		before := time.Now().UnixMilli()
		runPyFeature(t, &res, "logappendtime", b.Addr(), "log-append-time")
		after := time.Now().UnixMilli()
		if len(res.Acks) != 10 || len(res.Consumed) != 10 {
			t.Fatalf("%d acks and %d records read, want 10 each", len(res.Acks), len(res.Consumed))
		}
		for i, a := range res.Acks {
			if a.Timestamp < before || a.Timestamp > after {
				t.Errorf("record %d: acknowledged timestamp %d, want the broker's append time in [%d, %d], not the producer's %d", i, a.Timestamp, before, after, 1000+i)
			}
			c := res.Consumed[i]
			if c.Offset != a.Offset || c.Timestamp != a.Timestamp || c.TimestampType != 1 {
				t.Errorf("record %d: read offset %d timestamp %d type %d, want offset %d timestamp %d type 1 (LogAppendTime)",
					i, c.Offset, c.Timestamp, c.TimestampType, a.Offset, a.Timestamp)
			}
		}
	})

	t.Run("offsets_for_times", func(t *testing.T) {
		const topic = "python-times"
		createTopic(t, b.Addr(), topic, 1)
		base := time.UnixMilli(1_700_000_000_000)
		produceTimestamped(t, b.Addr(), topic, 100, base, kgo.NoCompression())
		var res struct {
			Offset    *int64 `json:"offset"`
			Timestamp *int64 `json:"timestamp"`
			Future    *int64 `json:"future"`
			Beginning int64  `json:"beginning"`
			End       int64  `json:"end"`
		}
		ts := base.UnixMilli() + 50_500
		runPyFeature(t, &res, "offsetsfortimes", b.Addr(), topic, strconv.FormatInt(ts, 10))
		if res.Offset == nil || *res.Offset != 51 || res.Timestamp == nil || *res.Timestamp != base.UnixMilli()+51_000 {
			t.Errorf("offsets_for_times(%d) = offset %v timestamp %v, want 51 and %d", ts, deref(res.Offset), deref(res.Timestamp), base.UnixMilli()+51_000)
		}
		if res.Future != nil {
			t.Errorf("offsets_for_times(after the last record) = %d, want None", *res.Future)
		}
		if res.Beginning != 0 || res.End != 100 {
			t.Errorf("beginning, end offsets = %d, %d; want 0, 100", res.Beginning, res.End)
		}
	})

	t.Run("fetch limits below the batch size", func(t *testing.T) {
		const topic = "python-small-fetch"
		createTopic(t, b.Addr(), topic, 1)
		cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
		rng := rand.New(rand.NewPCG(rand.Uint64(), 9))
		var want []string
		var recs []*kgo.Record
		for range 20 {
			v := make([]byte, 50<<10)
			for i := range v {
				v[i] = byte(rng.Uint32())
			}
			sum := sha256.Sum256(v)
			want = append(want, hex.EncodeToString(sum[:]))
			recs = append(recs, &kgo.Record{Value: v})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Records []struct {
				Offset int64  `json:"offset"`
				SHA256 string `json:"sha256"`
			} `json:"records"`
		}
		runPyFeature(t, &res, "smallfetch", b.Addr(), topic, "20")
		if len(res.Records) != len(want) {
			t.Fatalf("kafka-python with 1 KiB fetch limits read %d records, want %d (a fetch must return at least one batch even if it is larger)", len(res.Records), len(want))
		}
		for i, r := range res.Records {
			if r.Offset != int64(i) || r.SHA256 != want[i] {
				t.Errorf("record %d: offset %d sha256 %s, want offset %d sha256 %s", i, r.Offset, r.SHA256, i, want[i])
			}
		}
	})

	t.Run("max.message.bytes", func(t *testing.T) {
		const topic = "python-sizes"
		createTopic(t, b.Addr(), topic, 1)
		var res map[string]json.RawMessage
		runPyFeature(t, &res, "sizes", b.Addr(), topic)
		if got := string(res["900KiB"]); got != `{"offset": 0}` {
			t.Errorf("900 KiB record: %s, want it written at offset 0", got)
		}
		if got := string(res["2MiB"]); got != `{"error": "MessageSizeTooLargeError"}` {
			t.Errorf("2 MiB record: %s, want MessageSizeTooLargeError (MESSAGE_TOO_LARGE from the broker)", got)
		}
		if got := string(res["consumed"]); got != `[{"offset": 0, "size": 921600}]` {
			t.Errorf("read back %s, want only the 900 KiB record", got)
		}
	})
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestKcatOffsets checks kcat's offset arguments: a timestamp (s@), relative
// to the end (-N), and beginning after DeleteRecords moved the log start.
func TestKcatOffsets(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	const topic = "kcat-offsets"
	createTopic(t, b.Addr(), topic, 1)
	base := time.UnixMilli(1_700_000_000_000)
	produceTimestamped(t, b.Addr(), topic, 100, base, kgo.NoCompression())

	consume := func(offset string, extra ...string) []string {
		t.Helper()
		args := append([]string{"-b", b.Addr(), "-C", "-t", topic, "-p", "0", "-o", offset, "-q", "-f", `%o %T %s\n`}, extra...)
		out, err := runTool(t, kcatTimeout, nil, kcat, args...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	}
	line := func(i int) string { return fmt.Sprintf("%d %d ts-%d", i, base.UnixMilli()+int64(i)*1000, i) }

	if got := consume(fmt.Sprintf("s@%d", base.UnixMilli()+50_500), "-c", "1"); len(got) != 1 || got[0] != line(51) {
		t.Errorf("kcat -o s@<record 50's time + 500 ms> = %q, want %q", got, line(51))
	}
	if got := consume("-3", "-e"); strings.Join(got, "|") != strings.Join([]string{line(97), line(98), line(99)}, "|") {
		t.Errorf("kcat -o -3 = %q, want the last three records", got)
	}

	adm := kadm.NewClient(newClient(t, b.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: topic, Partition: 0, At: 40})
	resp, err := adm.DeleteRecords(ctx, del)
	if err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	if err := resp.Error(); err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	got := consume("beginning", "-e")
	if len(got) != 60 || got[0] != line(40) || got[59] != line(99) {
		t.Errorf("kcat -o beginning after DeleteRecords(40) read %d records from %q, want 60 from %q", len(got), got[0], line(40))
	}
}

// TestListOffsetsByTimeInCompressedBatch asks kcat and kafka-python for
// the first record at or after a timestamp that falls inside a compressed
// batch. Kafka answers with
// that record's offset and timestamp (it decompresses the batch); kcat -o
// s@TS and kafka-python's offsets_for_times rely on it.
func TestListOffsetsByTimeInCompressedBatch(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	const topic = "kcat-times-compressed"
	createTopic(t, b.Addr(), topic, 1)
	base := time.UnixMilli(1_700_000_000_000)
	produceTimestamped(t, b.Addr(), topic, 100, base, kgo.ZstdCompression())
	ts := base.UnixMilli() + 50_500
	out, err := runTool(t, kcatTimeout, nil, kcat, "-b", b.Addr(), "-C", "-t", topic, "-p", "0",
		"-o", fmt.Sprintf("s@%d", ts), "-c", "1", "-q", "-f", `%o %T\n`)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("51 %d\n", base.UnixMilli()+51_000); string(out) != want {
		t.Fatalf("kcat -o s@%d on a zstd batch = %q, want %q", ts, out, want)
	}
	requireKafkaPython(t)
	var res struct {
		Offset    *int64 `json:"offset"`
		Timestamp *int64 `json:"timestamp"`
	}
	runPyFeature(t, &res, "offsetsfortimes", b.Addr(), topic, strconv.FormatInt(ts, 10))
	if res.Offset == nil || *res.Offset != 51 || res.Timestamp == nil || *res.Timestamp != base.UnixMilli()+51_000 {
		t.Errorf("kafka-python offsets_for_times(%d) on a zstd batch = offset %v timestamp %v, want 51 and %d", ts, deref(res.Offset), deref(res.Timestamp), base.UnixMilli()+51_000)
	}
}

// TestKafkaPythonAdmin runs KafkaAdminClient's calls against the broker:
// topic configs described and altered, broker configs, create_partitions,
// consumer groups listed, described, their offsets and deletion, and
// delete_topics. Each step reports its own result or exception.
func TestKafkaPythonAdmin(t *testing.T) {
	t.Parallel()
	requireKafkaPython(t)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.DescribeConfigs, "topic configs")
	const topic = "python-admin"
	var res map[string]json.RawMessage
	runPyFeature(t, &res, "admin", b.Addr(), topic)
	type config struct {
		ErrorCode int     `json:"error_code"`
		Value     *string `json:"value"`
		Entries   int     `json:"entries"`
	}
	step := func(name string, into any) bool {
		t.Helper()
		raw, ok := res[name]
		if !ok {
			t.Errorf("step %s: no result", name)
			return false
		}
		var exc struct {
			Exception string `json:"exception"`
		}
		if json.Unmarshal(raw, &exc) == nil && exc.Exception != "" {
			t.Errorf("step %s raised %s", name, exc.Exception)
			return false
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Errorf("step %s: %v in %s", name, err, raw)
			return false
		}
		return true
	}
	same := func(name, want string) {
		t.Helper()
		var got any
		if step(name, &got) {
			if g, _ := json.Marshal(got); string(g) != want {
				t.Errorf("%s = %s, want %s", name, g, want)
			}
		}
	}
	same("create", `[["python-admin",0]]`)
	var cfg config
	if step("config", &cfg) && (cfg.ErrorCode != 0 || cfg.Value == nil || *cfg.Value != "3600000") {
		t.Errorf("describe_configs retention.ms = %+v, want 3600000 as created", cfg)
	}
	same("alter", `[[0]]`)
	cfg = config{}
	if step("config_after_alter", &cfg) && (cfg.ErrorCode != 0 || cfg.Value == nil || *cfg.Value != "7200000") {
		t.Errorf("describe_configs retention.ms after alter_configs = %+v, want 7200000", cfg)
	}
	var bc config
	if step("broker_config", &bc) && (bc.ErrorCode != 0 || bc.Entries == 0) {
		t.Errorf("describe_configs of the broker = %+v, want entries and no error", bc)
	}
	same("create_partitions", `[["python-admin",0]]`)
	same("partitions", `[0,1,2,3]`)
	same("group", `{"described":{"members":["admin-member"],"protocol_type":"consumer","state":"Stable"},"read":8}`)
	same("groups", `[["python-admin-group","consumer"]]`)
	same("group_offsets", `{"0":2,"1":2,"2":2,"3":2}`)
	same("delete_group", `[["python-admin-group","NoError"]]`)
	same("groups_after_delete", `[]`)
	same("delete_topic", `[["python-admin",0]]`)
	same("topics_after_delete", `false`)
}

// TestRetentionAndOutOfRangeResets lets size-based retention delete old
// segments, then asks each client for offset 0, which is gone: the broker
// answers OFFSET_OUT_OF_RANGE and kafka-python, kcat and franz-go each reset
// to the new log start and read from there.
func TestRetentionAndOutOfRangeResets(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	requireKafkaPython(t)
	b := startBroker(t, withArgs("--retention-check-interval", "100ms"))
	const topic = "retention"
	createTopic(t, b.Addr(), topic, 1, "segment.bytes", "65536", "retention.bytes", "131072")
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(16<<10))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, 2000)
	for i := range recs {
		recs[i] = &kgo.Record{Value: fmt.Appendf(make([]byte, 0, 300), "retained-%d-%0280d", i, 0)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var logStart int64
	eventually(t, 20*time.Second, "retention deletes old segments", func() error {
		start, _ := endOffsets(t, cl, topic)
		if logStart = start[0]; logStart == 0 {
			return fmt.Errorf("log start offset still 0")
		}
		return nil
	})
	t.Logf("log start offset after retention: %d", logStart)

	var py struct {
		First     *int64 `json:"first"`
		Beginning int64  `json:"beginning"`
	}
	runPyFeature(t, &py, "outofrange", b.Addr(), topic)
	if py.First == nil || *py.First < logStart || py.Beginning < logStart {
		t.Errorf("kafka-python after seeking to 0: first offset %v, beginning %d; want both at the log start %d or later", deref(py.First), py.Beginning, logStart)
	}

	out, err := runTool(t, kcatTimeout, nil, kcat, "-b", b.Addr(), "-C", "-t", topic, "-p", "0", "-o", "0", "-c", "1",
		"-X", "auto.offset.reset=earliest", "-q", "-f", `%o\n`)
	if err != nil {
		t.Fatal(err)
	}
	if first, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err != nil || first < logStart {
		t.Errorf("kcat -o 0 read offset %q first, want the log start %d or later", out, logStart)
	}

	fc := newClient(t, b.Addr(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for {
		fs := fc.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("franz-go read nothing after asking for offset 0: %v", ctx.Err())
		}
		if recs := fs.Records(); len(recs) > 0 {
			if recs[0].Offset < logStart {
				t.Errorf("franz-go read offset %d first, want the log start %d or later", recs[0].Offset, logStart)
			}
			break
		}
	}
}
