package compat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

const kcatTimeout = 30 * time.Second

// kcatMetadata is the part of `kcat -L -J` output the tests check.
type kcatMetadata struct {
	OriginatingBroker struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	} `json:"originating_broker"`
	Brokers []struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	} `json:"brokers"`
	Topics []struct {
		Topic      string `json:"topic"`
		Error      string `json:"error"`
		Partitions []struct {
			Partition int32                `json:"partition"`
			Leader    int32                `json:"leader"`
			Error     string               `json:"error"`
			Replicas  []struct{ ID int32 } `json:"replicas"`
			ISRs      []struct{ ID int32 } `json:"isrs"`
		} `json:"partitions"`
	} `json:"topics"`
}

func TestKcatListsBrokerAndTopics(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	createTopic(t, b.Addr(), "listed-three", 3)
	createTopic(t, b.Addr(), "listed-one", 1)

	out, err := runTool(t, kcatTimeout, nil, kcat, "-b", b.Addr(), "-L", "-J")
	if err != nil {
		t.Fatal(err)
	}
	var md kcatMetadata
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat -L -J output is not JSON: %v\n%s", err, out)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].Name != b.Addr() {
		t.Fatalf("kcat -L brokers = %+v, want one broker named %s", md.Brokers, b.Addr())
	}
	id := md.Brokers[0].ID
	want := map[string]int{"listed-three": 3, "listed-one": 1}
	for _, tp := range md.Topics {
		n, ok := want[tp.Topic]
		if !ok {
			continue
		}
		delete(want, tp.Topic)
		if tp.Error != "" {
			t.Errorf("topic %s: error %q", tp.Topic, tp.Error)
		}
		if len(tp.Partitions) != n {
			t.Errorf("topic %s: %d partitions, want %d", tp.Topic, len(tp.Partitions), n)
		}
		seen := map[int32]bool{}
		for _, p := range tp.Partitions {
			seen[p.Partition] = true
			if p.Error != "" || p.Leader != id {
				t.Errorf("topic %s partition %d: leader %d error %q, want leader %d", tp.Topic, p.Partition, p.Leader, p.Error, id)
			}
			if len(p.Replicas) != 1 || p.Replicas[0].ID != id || len(p.ISRs) != 1 || p.ISRs[0].ID != id {
				t.Errorf("topic %s partition %d: replicas %v isrs %v, want [%d]", tp.Topic, p.Partition, p.Replicas, p.ISRs, id)
			}
		}
		for i := range int32(n) {
			if !seen[i] {
				t.Errorf("topic %s: partition %d missing", tp.Topic, i)
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("kcat -L does not list topics %v:\n%s", want, out)
	}
}

// kcatRecord is a record as `kcat -C -f kcatFormat` prints it.
type kcatRecord struct {
	Partition int32
	Offset    int64
	Timestamp int64  // milliseconds
	Key       []byte // nil for a null key
	Value     []byte // nil for a null value
	Headers   string // name=value,... ; a null value prints as NULL
}

// kcatFormat prints lengths before the bytes, so keys and values may hold
// any byte, including the separators.
const kcatFormat = `%p %o %T %K %S|%k%s|%h\n`

// parseKcat parses the output of `kcat -C -f kcatFormat`.
func parseKcat(out []byte) ([]kcatRecord, error) {
	var recs []kcatRecord
	for len(out) > 0 {
		bar := bytes.IndexByte(out, '|')
		if bar < 0 {
			return nil, fmt.Errorf("record %d: no '|' in %q", len(recs), out)
		}
		f := bytes.Fields(out[:bar])
		if len(f) != 5 {
			return nil, fmt.Errorf("record %d: prefix %q, want 5 fields", len(recs), out[:bar])
		}
		var n [5]int64
		for i := range f {
			v, err := strconv.ParseInt(string(f[i]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("record %d: field %d: %w", len(recs), i, err)
			}
			n[i] = v
		}
		r := kcatRecord{Partition: int32(n[0]), Offset: n[1], Timestamp: n[2]}
		out = out[bar+1:]
		klen, vlen := max(n[3], 0), max(n[4], 0)
		if int64(len(out)) < klen+vlen+1 {
			return nil, fmt.Errorf("record %d: truncated", len(recs))
		}
		if n[3] >= 0 {
			r.Key = append([]byte{}, out[:klen]...)
		}
		if n[4] >= 0 {
			r.Value = append([]byte{}, out[klen:klen+vlen]...)
		}
		out = out[klen+vlen:]
		if out[0] != '|' {
			return nil, fmt.Errorf("record %d: want '|' after the value", len(recs))
		}
		nl := bytes.IndexByte(out, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("record %d: no newline after headers", len(recs))
		}
		r.Headers = string(out[1:nl])
		out = out[nl+1:]
		recs = append(recs, r)
	}
	return recs, nil
}

// kcatConsume reads a topic from the beginning to its current end.
func kcatConsume(t testing.TB, kcat, addr, topic string) []kcatRecord {
	t.Helper()
	out, err := runTool(t, kcatTimeout, nil, kcat, "-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", kcatFormat)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parseKcat(out)
	if err != nil {
		t.Fatalf("parse kcat -C output: %v", err)
	}
	return recs
}

// lineRecord is one input line for `kcat -P -K :`.
type lineRecord struct {
	key   []byte // nil: the line has no key separator
	value []byte
}

// kcatLines makes n records whose values hold every byte but the newline,
// including NUL, high bytes and the key separator (when a key is present).
func kcatLines(rng *rand.Rand, n int) ([]lineRecord, []byte) {
	var recs []lineRecord
	var in bytes.Buffer
	for i := range n {
		var r lineRecord
		noKey := i%7 == 3
		if !noKey {
			r.key = fmt.Appendf(nil, "key-%d", i%11)
		}
		r.value = fmt.Appendf(nil, "value-%d-", i)
		for range rng.IntN(200) {
			c := byte(rng.IntN(256))
			if c == '\n' || (noKey && c == ':') {
				continue
			}
			r.value = append(r.value, c)
		}
		if r.key != nil {
			in.Write(r.key)
			in.WriteByte(':')
		}
		in.Write(r.value)
		in.WriteByte('\n')
		recs = append(recs, r)
	}
	return recs, in.Bytes()
}

// kcatHeaderArgs are the headers every produced record carries, and
// kcatHeaders is how kcat prints them back: order kept, duplicates kept, a
// null value distinct from an empty one.
var (
	kcatHeaderArgs = []string{"-H", "trace=abc-123", "-H", "nullh", "-H", "empty=", "-H", "dup=1", "-H", "dup=2"}
	kcatHeaders    = "trace=abc-123,nullh=NULL,empty=,dup=1,dup=2"
)

func TestKcatProduceConsume(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	for _, tc := range []struct {
		name       string
		partitions int32 // 0: let kcat auto-create the topic
		codec      string
	}{
		{"auto-created", 0, "none"},
		{"three-partitions", 3, "none"},
		{"gzip", 1, "gzip"},
		{"snappy", 1, "snappy"},
		{"lz4", 1, "lz4"},
		{"zstd", 1, "zstd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "kcat-" + tc.name
			if tc.partitions > 0 {
				createTopic(t, b.Addr(), topic, tc.partitions)
			}
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			want, input := kcatLines(rand.New(rand.NewPCG(seed, 1)), 500)

			before := time.Now().UnixMilli()
			args := append([]string{"-b", b.Addr(), "-P", "-t", topic, "-K", ":", "-z", tc.codec,
				"-X", "linger.ms=5"}, kcatHeaderArgs...)
			if _, err := runTool(t, kcatTimeout, input, kcat, args...); err != nil {
				t.Fatal(err)
			}
			after := time.Now().UnixMilli()

			got := kcatConsume(t, kcat, b.Addr(), topic)
			checkKcatRecords(t, got, want, before, after)
			if tc.partitions > 1 {
				used := map[int32]bool{}
				for _, r := range got {
					used[r.Partition] = true
				}
				if int32(len(used)) != tc.partitions {
					t.Errorf("records landed in %d partitions, want all %d", len(used), tc.partitions)
				}
			}
		})
	}
}

// checkKcatRecords compares records read back by kcat with the lines
// produced: every record exactly once, byte for byte, in produce order within
// each partition, offsets contiguous from 0, timestamps in [before, after].
func checkKcatRecords(t testing.TB, got []kcatRecord, want []lineRecord, before, after int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	// Values start with "value-<i>-", which identifies the input line.
	nextOffset := map[int32]int64{}
	lastIndex := map[int32]int{}
	seen := make([]bool, len(want))
	for _, r := range got {
		var i int
		if _, err := fmt.Sscanf(string(r.Value), "value-%d-", &i); err != nil || i < 0 || i >= len(want) {
			t.Fatalf("partition %d offset %d: value %q is none of the produced ones", r.Partition, r.Offset, r.Value)
		}
		if seen[i] {
			t.Fatalf("record %d read twice (partition %d offset %d)", i, r.Partition, r.Offset)
		}
		seen[i] = true
		w := want[i]
		if !bytes.Equal(r.Value, w.value) {
			t.Errorf("record %d: value = %q, want %q", i, r.Value, w.value)
		}
		if (r.Key == nil) != (w.key == nil) || !bytes.Equal(r.Key, w.key) {
			t.Errorf("record %d: key = %q (null %v), want %q (null %v)", i, r.Key, r.Key == nil, w.key, w.key == nil)
		}
		if r.Headers != kcatHeaders {
			t.Errorf("record %d: headers = %q, want %q", i, r.Headers, kcatHeaders)
		}
		if r.Timestamp < before || r.Timestamp > after {
			t.Errorf("record %d: timestamp %d outside the produce window [%d, %d]", i, r.Timestamp, before, after)
		}
		if r.Offset != nextOffset[r.Partition] {
			t.Fatalf("record %d: partition %d offset = %d, want %d", i, r.Partition, r.Offset, nextOffset[r.Partition])
		}
		nextOffset[r.Partition]++
		if last, ok := lastIndex[r.Partition]; ok && i < last {
			t.Errorf("partition %d: record %d after record %d, want produce order", r.Partition, i, last)
		}
		lastIndex[r.Partition] = i
	}
}

// TestKcatManyPartitions produces keyed lines over a 256-partition topic and
// reads them back: librdkafka's Fetch then names every partition in one
// request, and kcat -L must list them all.
func TestKcatManyPartitions(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kcat waits for the end of 256 partitions; runs without -short")
	}
	kcat := requireKcat(t)
	b := startBroker(t)
	const (
		topic      = "many-partitions"
		partitions = 256
		lines      = 4096
	)
	createTopic(t, b.Addr(), topic, partitions)
	var in bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&in, "key-%d:value-%d\n", i, i)
	}
	if _, err := runTool(t, kcatTimeout, in.Bytes(), kcat, "-b", b.Addr(), "-P", "-t", topic, "-K", ":"); err != nil {
		t.Fatal(err)
	}
	got := kcatConsume(t, kcat, b.Addr(), topic)
	if len(got) != lines {
		t.Fatalf("kcat read %d records, want %d", len(got), lines)
	}
	seen := make([]bool, lines)
	used := map[int32]bool{}
	next := map[int32]int64{}
	for _, r := range got {
		var i int
		if _, err := fmt.Sscanf(string(r.Value), "value-%d", &i); err != nil || i < 0 || i >= lines || seen[i] || string(r.Key) != fmt.Sprintf("key-%d", i) {
			t.Fatalf("partition %d offset %d: key %q value %q: not a produced record, or read twice", r.Partition, r.Offset, r.Key, r.Value)
		}
		seen[i] = true
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
		used[r.Partition] = true
	}
	if len(used) < partitions/2 {
		t.Errorf("records landed in %d of %d partitions; the keyed partitioner should spread them", len(used), partitions)
	}

	out, err := runTool(t, kcatTimeout, nil, kcat, "-b", b.Addr(), "-L", "-J", "-t", topic)
	if err != nil {
		t.Fatal(err)
	}
	var md kcatMetadata
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat -L -J: %v", err)
	}
	if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != partitions {
		t.Fatalf("kcat -L -t %s lists %d topics, want one with %d partitions", topic, len(md.Topics), partitions)
	}
}
