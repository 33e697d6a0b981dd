package compat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzGoReadsKcat produces with kcat (librdkafka) and reads with
// franz-go: the bytes, the null/empty distinction of keys and header values,
// header order and the timestamps must match what kcat itself reads back.
func TestFranzGoReadsKcat(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	for _, codec := range []string{"none", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			topic := "kcat-to-franz-" + codec
			createTopic(t, b.Addr(), topic, 2)
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			want, input := kcatLines(rand.New(rand.NewPCG(seed, 3)), 400)
			before := time.Now().UnixMilli()
			args := append([]string{"-b", b.Addr(), "-P", "-t", topic, "-K", ":", "-z", codec}, kcatHeaderArgs...)
			if _, err := runTool(t, kcatTimeout, input, kcat, args...); err != nil {
				t.Fatal(err)
			}
			after := time.Now().UnixMilli()

			viaKcat := kcatConsume(t, kcat, b.Addr(), topic)
			checkKcatRecords(t, viaKcat, want, before, after)
			kcatTS := map[[2]int64]int64{}
			for _, r := range viaKcat {
				kcatTS[[2]int64{int64(r.Partition), r.Offset}] = r.Timestamp
			}

			wantHeaders := []kgo.RecordHeader{
				{Key: "trace", Value: []byte("abc-123")},
				{Key: "nullh", Value: nil},
				{Key: "empty", Value: []byte{}},
				{Key: "dup", Value: []byte("1")},
				{Key: "dup", Value: []byte("2")},
			}
			got := readAll(t, b.Addr(), topic, 30*time.Second)
			n := 0
			for p, recs := range got {
				for _, r := range recs {
					n++
					var i int
					if _, err := fmt.Sscanf(string(r.Value), "value-%d-", &i); err != nil || i < 0 || i >= len(want) {
						t.Fatalf("partition %d offset %d: value %q is none of the produced ones", p, r.Offset, r.Value)
					}
					if !equalNullable(r.Key, want[i].key) || !equalNullable(r.Value, want[i].value) {
						t.Errorf("record %d: key %q value %q, want key %q value %q", i, r.Key, r.Value, want[i].key, want[i].value)
					}
					checkHeaders(t, i, r.Headers, wantHeaders)
					if ts, ok := kcatTS[[2]int64{int64(p), r.Offset}]; !ok || ts != r.Timestamp.UnixMilli() {
						t.Errorf("record %d: franz-go timestamp %d, kcat %d (read %v)", i, r.Timestamp.UnixMilli(), ts, ok)
					}
				}
			}
			if n != len(want) {
				t.Fatalf("franz-go read %d records, want %d", n, len(want))
			}
		})
	}
}

func checkHeaders(t testing.TB, i int, got, want []kgo.RecordHeader) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("record %d: headers %v, want %v", i, got, want)
		return
	}
	for h := range want {
		if got[h].Key != want[h].Key || !equalNullable(got[h].Value, want[h].Value) {
			t.Errorf("record %d header %d = %q=%q (null %v), want %q=%q (null %v)", i, h,
				got[h].Key, got[h].Value, got[h].Value == nil, want[h].Key, want[h].Value, want[h].Value == nil)
		}
	}
}

// TestKcatReadsFranzGo produces with franz-go in every compression codec,
// with explicit partitions and timestamps, and reads with kcat.
func TestKcatReadsFranzGo(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	for _, tc := range []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()},
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "franz-to-kcat-" + tc.name
			const partitions = 3
			createTopic(t, b.Addr(), topic, partitions)
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 4))
			cl := newClient(t, b.Addr(),
				kgo.DefaultProduceTopic(topic),
				kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.ProducerBatchCompression(tc.codec),
				kgo.ProducerLinger(2*time.Millisecond))

			const n = 600
			base := time.UnixMilli(1_700_000_000_000)
			recs := make([]*kgo.Record, n)
			for i := range recs {
				r := &kgo.Record{
					Partition: int32(i % partitions),
					Timestamp: base.Add(time.Duration(i) * time.Second),
					Value:     fmt.Appendf(nil, "value-%d-", i),
				}
				// Random bytes compress poorly, repeated ones well: mix both.
				for range rng.IntN(300) {
					r.Value = append(r.Value, byte(rng.IntN(256)))
				}
				r.Value = append(r.Value, make([]byte, rng.IntN(300))...)
				switch i % 4 {
				case 0:
					r.Key = nil
				case 1:
					r.Key = []byte{}
				default:
					r.Key = []byte{byte(rng.IntN(256)), '|', '\n', byte(i)}
				}
				switch i % 3 {
				case 0:
				case 1:
					r.Headers = []kgo.RecordHeader{{Key: "a", Value: fmt.Appendf(nil, "v%d", i)}}
				case 2:
					r.Headers = []kgo.RecordHeader{{Key: "n", Value: nil}, {Key: "e", Value: []byte{}}, {Key: "a", Value: []byte("x=y")}}
				}
				recs[i] = r
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			// ProduceSync filled in each record's offset.
			byPos := map[[2]int64]*kgo.Record{}
			for _, r := range recs {
				byPos[[2]int64{int64(r.Partition), r.Offset}] = r
			}

			got := kcatConsume(t, kcat, b.Addr(), topic)
			if len(got) != n {
				t.Fatalf("kcat read %d records, want %d", len(got), n)
			}
			next := map[int32]int64{}
			for _, g := range got {
				if g.Offset != next[g.Partition] {
					t.Fatalf("partition %d: offset %d, want %d", g.Partition, g.Offset, next[g.Partition])
				}
				next[g.Partition]++
				w, ok := byPos[[2]int64{int64(g.Partition), g.Offset}]
				if !ok {
					t.Fatalf("partition %d offset %d: no record was acknowledged there", g.Partition, g.Offset)
				}
				if !equalNullable(g.Key, w.Key) || !equalNullable(g.Value, w.Value) {
					t.Errorf("partition %d offset %d: key %q value %q, want key %q value %q", g.Partition, g.Offset, g.Key, g.Value, w.Key, w.Value)
				}
				if g.Timestamp != w.Timestamp.UnixMilli() {
					t.Errorf("partition %d offset %d: timestamp %d, want %d", g.Partition, g.Offset, g.Timestamp, w.Timestamp.UnixMilli())
				}
				if h := kcatHeaderString(w.Headers); g.Headers != h {
					t.Errorf("partition %d offset %d: headers %q, want %q", g.Partition, g.Offset, g.Headers, h)
				}
			}
		})
	}
}

// kcatHeaderString is how kcat's %h prints headers.
func kcatHeaderString(hs []kgo.RecordHeader) string {
	var parts []string
	for _, h := range hs {
		v := string(h.Value)
		if h.Value == nil {
			v = "NULL"
		}
		parts = append(parts, h.Key+"="+v)
	}
	return strings.Join(parts, ",")
}
