package compat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// pyHeader is a header as [name, base64 value or null]; encoding/json
// turns []byte into base64 and nil into null, which is what the script wants.
type pyHeader [2]any

// pyRecord is a record in the script's JSON (byte fields in base64).
type pyRecord struct {
	Key       []byte     `json:"key"`
	Value     []byte     `json:"value"`
	Headers   []pyHeader `json:"headers"`
	Timestamp *int64     `json:"timestamp,omitempty"`
	Partition int32      `json:"partition"`
	Offset    int64      `json:"offset"`
}

type pyJob struct {
	Bootstrap  string     `json:"bootstrap"`
	Topic      string     `json:"topic"`
	Partitions int32      `json:"partitions"`
	Records    []pyRecord `json:"records"`
}

// pyResult is what the script prints.
type pyResult struct {
	CreateErrors [][]any `json:"create_errors"` // [topic, error code]
	Listed       []string
	Described    []struct {
		Topic      string    `json:"topic"`
		ErrorCode  int16     `json:"error_code"`
		Partitions [][]int32 `json:"partitions"` // [partition, leader, error code]
	}
	Acks []struct {
		Partition int32 `json:"partition"`
		Offset    int64 `json:"offset"`
		Timestamp int64 `json:"timestamp"`
	}
	Consumed           []pyRecordOut    `json:"consumed"`
	EndOffsets         map[string]int64 `json:"end_offsets"`
	ConsumerTopics     []string         `json:"consumer_topics"`
	ConsumerPartitions []int32          `json:"consumer_partitions"`
}

// pyRecords makes records with binary keys and values, null keys, null and
// empty values, empty header values, duplicate header names, and explicit
// timestamps on some of them.
func pyRecords(rng *rand.Rand, n int) []pyRecord {
	randBytes := func(max int) []byte {
		b := make([]byte, rng.IntN(max+1))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	recs := make([]pyRecord, n)
	for i := range recs {
		r := &recs[i]
		switch i % 6 {
		case 0:
			r.Key = nil
			r.Value = fmt.Appendf(randBytes(100), "#%d", i)
		case 1:
			r.Key = fmt.Appendf(nil, "k%d", i)
			r.Value = nil
		case 2:
			r.Key = fmt.Appendf(nil, "k%d", i)
			r.Value = []byte{}
		default:
			r.Key = append(randBytes(20), byte(i), byte(i>>8))
			r.Value = randBytes(500)
		}
		// kafka-python's producer refuses null header values.
		for h := range i % 4 {
			var v any
			switch h {
			case 0, 1:
				v = randBytes(30)
			case 2:
				v = []byte{}
			}
			r.Headers = append(r.Headers, pyHeader{"h" + strconv.Itoa(h%2), v})
		}
		if r.Headers == nil {
			r.Headers = []pyHeader{}
		}
		if i%5 == 0 {
			ts := int64(1_600_000_000_000 + i*1000)
			r.Timestamp = &ts
		}
	}
	return recs
}

func TestKafkaPythonAdminProduceConsume(t *testing.T) {
	t.Parallel()
	requireKafkaPython(t)
	b := startBroker(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	const topic = "python-roundtrip"
	job := pyJob{Bootstrap: b.Addr(), Topic: topic, Partitions: 3, Records: pyRecords(rand.New(rand.NewPCG(seed, 2)), 300)}
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixMilli()
	out, err := runTool(t, 2*time.Minute, in, python, "testdata/kafka_python_roundtrip.py")
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixMilli()
	var res pyResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("script output is not JSON: %v\n%s", err, out)
	}

	// Admin: created without error, listed, described with three led partitions.
	if len(res.CreateErrors) != 1 || res.CreateErrors[0][0] != topic || res.CreateErrors[0][1] != float64(0) {
		t.Errorf("create_topics errors = %v, want [[%s 0]]", res.CreateErrors, topic)
	}
	if !slices.Contains(res.Listed, topic) {
		t.Errorf("list_topics() = %v, want it to contain %s", res.Listed, topic)
	}
	if len(res.Described) != 1 || res.Described[0].Topic != topic || res.Described[0].ErrorCode != 0 || len(res.Described[0].Partitions) != 3 {
		t.Errorf("describe_topics([%s]) = %+v, want the topic with 3 partitions and no error", topic, res.Described)
	} else {
		for i, p := range res.Described[0].Partitions {
			if p[0] != int32(i) || p[1] < 0 || p[2] != 0 {
				t.Errorf("describe_topics partition %d = [partition leader error] %v", i, p)
			}
		}
	}

	if !slices.Contains(res.ConsumerTopics, topic) || !slices.Equal(res.ConsumerPartitions, []int32{0, 1, 2}) {
		t.Errorf("KafkaConsumer.topics() = %v, partitions_for_topic = %v; want %s with partitions [0 1 2]", res.ConsumerTopics, res.ConsumerPartitions, topic)
	}

	// Producer acks: one per record, offsets contiguous per partition.
	if len(res.Acks) != len(job.Records) {
		t.Fatalf("%d acks, want %d", len(res.Acks), len(job.Records))
	}
	byPos := map[[2]int64]int{}
	perPart := map[int32][]int64{}
	for i, a := range res.Acks {
		pos := [2]int64{int64(a.Partition), a.Offset}
		if j, dup := byPos[pos]; dup {
			t.Fatalf("records %d and %d both acknowledged at partition %d offset %d", j, i, a.Partition, a.Offset)
		}
		byPos[pos] = i
		perPart[a.Partition] = append(perPart[a.Partition], a.Offset)
		job.Records[i].Partition, job.Records[i].Offset = a.Partition, a.Offset
	}
	for p, offs := range perPart {
		slices.Sort(offs)
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d: acknowledged offsets %v, want 0..%d", p, offs, len(offs)-1)
			}
		}
		if got := res.EndOffsets[strconv.Itoa(int(p))]; got != int64(len(offs)) {
			t.Errorf("partition %d: end offset (kafka-python) = %d, want %d", p, got, len(offs))
		}
	}
	if len(perPart) != 3 {
		t.Errorf("records landed in %d partitions, want 3", len(perPart))
	}

	// Consumer: every record once, at its acknowledged position, byte for byte.
	if len(res.Consumed) != len(job.Records) {
		t.Fatalf("kafka-python consumed %d records, want %d", len(res.Consumed), len(job.Records))
	}
	seen := map[int]bool{}
	for _, c := range res.Consumed {
		i, ok := byPos[[2]int64{int64(c.Partition), c.Offset}]
		if !ok {
			t.Fatalf("consumed partition %d offset %d, which no ack names", c.Partition, c.Offset)
		}
		if seen[i] {
			t.Fatalf("record %d consumed twice", i)
		}
		seen[i] = true
		comparePyRecord(t, i, job.Records[i], c, res.Acks[i].Timestamp, before, after)
	}

	// franz-go reads the same bytes kafka-python wrote.
	got := readAll(t, b.Addr(), topic, 30*time.Second)
	n := 0
	for p, recs := range got {
		for _, r := range recs {
			n++
			i, ok := byPos[[2]int64{int64(p), r.Offset}]
			if !ok {
				t.Fatalf("franz-go read partition %d offset %d, which no ack names", p, r.Offset)
			}
			w := job.Records[i]
			if !equalNullable(r.Key, w.Key) || !equalNullable(r.Value, w.Value) {
				t.Errorf("franz-go record %d: key %q value %q, want key %q value %q", i, r.Key, r.Value, w.Key, w.Value)
			}
			if len(r.Headers) != len(w.Headers) {
				t.Errorf("franz-go record %d: %d headers, want %d", i, len(r.Headers), len(w.Headers))
				continue
			}
			for h, wh := range w.Headers {
				wv, _ := wh[1].([]byte)
				if r.Headers[h].Key != wh[0] || !equalNullable(r.Headers[h].Value, wv) {
					t.Errorf("franz-go record %d header %d = %q=%q, want %q=%q", i, h, r.Headers[h].Key, r.Headers[h].Value, wh[0], wv)
				}
			}
			if ts := r.Timestamp.UnixMilli(); ts != res.Acks[i].Timestamp {
				t.Errorf("franz-go record %d: timestamp %d, want %d", i, ts, res.Acks[i].Timestamp)
			}
		}
	}
	if n != len(job.Records) {
		t.Errorf("franz-go read %d records, want %d", n, len(job.Records))
	}
}

// pyRecordOut is a consumed record as the script prints it.
type pyRecordOut struct {
	Partition int32         `json:"partition"`
	Offset    int64         `json:"offset"`
	Timestamp int64         `json:"timestamp"`
	Key       []byte        `json:"key"`
	Value     []byte        `json:"value"`
	Headers   []pyHeaderOut `json:"headers"`
}

// pyHeaderOut decodes ["name", base64 or null].
type pyHeaderOut struct {
	Name  string
	Value []byte // nil for null
}

func (h *pyHeaderOut) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if err := json.Unmarshal(pair[0], &h.Name); err != nil {
		return err
	}
	if string(pair[1]) == "null" {
		h.Value = nil
		return nil
	}
	var v []byte
	if err := json.Unmarshal(pair[1], &v); err != nil {
		return err
	}
	if v == nil {
		v = []byte{}
	}
	h.Value = v
	return nil
}

func comparePyRecord(t testing.TB, i int, w pyRecord, c pyRecordOut, ackTS, before, after int64) {
	t.Helper()
	if !equalNullable(c.Key, w.Key) {
		t.Errorf("record %d: key = %q (null %v), want %q (null %v)", i, c.Key, c.Key == nil, w.Key, w.Key == nil)
	}
	if !equalNullable(c.Value, w.Value) {
		t.Errorf("record %d: value = %q (null %v), want %q (null %v)", i, c.Value, c.Value == nil, w.Value, w.Value == nil)
	}
	if len(c.Headers) != len(w.Headers) {
		t.Errorf("record %d: %d headers, want %d", i, len(c.Headers), len(w.Headers))
	} else {
		for h, wh := range w.Headers {
			wv, _ := wh[1].([]byte)
			if c.Headers[h].Name != wh[0] || !equalNullable(c.Headers[h].Value, wv) {
				t.Errorf("record %d header %d = %q=%q, want %q=%q", i, h, c.Headers[h].Name, c.Headers[h].Value, wh[0], wv)
			}
		}
	}
	if w.Timestamp != nil {
		if c.Timestamp != *w.Timestamp {
			t.Errorf("record %d: timestamp = %d, want the producer's %d", i, c.Timestamp, *w.Timestamp)
		}
	} else if c.Timestamp < before || c.Timestamp > after {
		t.Errorf("record %d: timestamp %d outside the produce window [%d, %d]", i, c.Timestamp, before, after)
	}
	if c.Timestamp != ackTS {
		t.Errorf("record %d: consumed timestamp %d, acknowledged %d", i, c.Timestamp, ackTS)
	}
}

// equalNullable compares bytes, telling null from empty.
func equalNullable(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}
