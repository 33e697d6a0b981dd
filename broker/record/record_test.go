package record_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/millstream/millstream/broker/record"
)

// kmsgBatch encodes records the way a franz-go producer does, through kmsg,
// independently of record.Build.
func kmsgBatch(t testing.TB, attrs int16, recs ...kmsg.Record) []byte {
	t.Helper()
	var body []byte
	for i := range recs {
		r := recs[i]
		r.OffsetDelta = int32(i)
		r.Length = 0
		enc := r.AppendTo(nil)
		r.Length = int32(len(enc) - 1)
		body = r.AppendTo(body)
	}
	b := kmsg.RecordBatch{
		Length:               int32(49 + len(body)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      int32(len(recs) - 1),
		FirstTimestamp:       1700000000000,
		MaxTimestamp:         1700000000000 + int64(len(recs)),
		ProducerID:           7,
		ProducerEpoch:        1,
		FirstSequence:        100,
		NumRecords:           int32(len(recs)),
		Records:              body,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

func sampleRecords(n int, seed uint64) []kmsg.Record {
	rng := rand.New(rand.NewPCG(seed, seed))
	var out []kmsg.Record
	for i := range n {
		val := make([]byte, rng.IntN(200))
		for j := range val {
			val[j] = byte(rng.Uint32())
		}
		r := kmsg.Record{TimestampDelta64: int64(i), Value: val}
		if i%2 == 0 {
			r.Key = []byte{byte(i), 'k'}
		}
		if i%3 == 0 {
			r.Headers = []kmsg.Header{{Key: "h", Value: []byte("v")}, {Key: "n", Value: nil}}
		}
		out = append(out, r)
	}
	return out
}

func TestValidateAcceptsKmsgBatches(t *testing.T) {
	for _, n := range []int{1, 2, 17, 300} {
		b := kmsgBatch(t, 0, sampleRecords(n, uint64(n))...)
		h, err := record.Validate(b)
		if err != nil {
			t.Fatalf("Validate(%d records) = %v", n, err)
		}
		if h.NumRecords != int32(n) || h.LastOffsetDelta != int32(n-1) || h.ProducerID != 7 || h.BaseSequence != 100 || h.Magic != 2 {
			t.Fatalf("header = %+v", h)
		}
		if h.Size() != len(b) || h.Compression() != record.CompressionNone || h.TimestampType() != record.CreateTime {
			t.Fatalf("header helpers: size %d codec %v type %v", h.Size(), h.Compression(), h.TimestampType())
		}
	}
}

func TestValidateRejects(t *testing.T) {
	good := kmsgBatch(t, 0, sampleRecords(3, 1)...)
	recrc := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
		return b
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, record.ErrCorrupt},
		{"short header", good[:40], record.ErrCorrupt},
		{"magic 0", edit(func(b []byte) []byte { b[16] = 0; return b }), record.ErrLegacyFormat},
		{"magic 1", edit(func(b []byte) []byte { b[16] = 1; return b }), record.ErrLegacyFormat},
		{"magic 3", edit(func(b []byte) []byte { b[16] = 3; return b }), record.ErrCorrupt},
		{"crc", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), record.ErrCorrupt},
		{"length too big", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], uint32(len(b))); return b }), record.ErrCorrupt},
		{"truncated", recrc(bytes.Clone(good[:len(good)-1])), record.ErrCorrupt},
		{"trailing byte", func() []byte {
			b := append(bytes.Clone(good), 0)
			binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
			return recrc(b)
		}(), record.ErrCorrupt},
		{"zero records", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[57:], 0); return recrc(b) }), record.ErrInvalidRecord},
		{"count too high", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 4)
			binary.BigEndian.PutUint32(b[23:], 3)
			return recrc(b)
		}), record.ErrCorrupt},
		{"lastOffsetDelta", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[23:], 5); return recrc(b) }), record.ErrInvalidRecord},
		{"codec 6", edit(func(b []byte) []byte { b[22] |= 6; return recrc(b) }), record.ErrUnsupportedCompression},
		{"offset deltas", kmsgBatchDeltas(t, recrc), record.ErrInvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := record.Validate(tt.b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

// kmsgBatchDeltas returns a batch whose records carry offset deltas 0, 2.
func kmsgBatchDeltas(t *testing.T, recrc func([]byte) []byte) []byte {
	var body []byte
	for i, d := range []int32{0, 2} {
		r := kmsg.Record{OffsetDelta: d, Value: []byte{byte(i)}}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		body = r.AppendTo(body)
	}
	b := kmsg.RecordBatch{Length: int32(49 + len(body)), Magic: 2, LastOffsetDelta: 1, NumRecords: 2, Records: body}
	return recrc(b.AppendTo(nil))
}

func TestValidateCompressedChecksFrameOnly(t *testing.T) {
	// A snappy batch: the body is opaque, only the frame is checked.
	b := kmsgBatch(t, 2, sampleRecords(4, 9)...)
	if _, err := record.Validate(b); err != nil {
		t.Fatalf("Validate(snappy-flagged) = %v", err)
	}
}

func TestBuildRoundTrip(t *testing.T) {
	recs := []record.Record{
		{Timestamp: 1000, Key: []byte("k1"), Value: []byte("v1"), Headers: []kmsg.Header{{Key: "a", Value: []byte("b")}}},
		{Timestamp: 999, Key: nil, Value: []byte{}},
		{Timestamp: 1500, Key: []byte{}, Value: nil, Headers: []kmsg.Header{{Key: "x", Value: nil}, {Key: "x", Value: []byte("2")}}},
	}
	b, err := record.Build(42, recs...)
	if err != nil {
		t.Fatal(err)
	}
	h, err := record.Validate(b)
	if err != nil {
		t.Fatalf("Validate(Build) = %v", err)
	}
	if h.BaseOffset != 42 || h.LastOffset() != 44 || h.BaseTimestamp != 1000 || h.MaxTimestamp != 1500 || h.ProducerID != -1 {
		t.Fatalf("header = %+v", h)
	}
	var got []record.Record
	for r, err := range record.Records(b) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != len(recs) {
		t.Fatalf("Records yielded %d, want %d", len(got), len(recs))
	}
	for i, r := range got {
		w := recs[i]
		if r.Offset != 42+int64(i) || r.Timestamp != w.Timestamp {
			t.Errorf("record %d: offset %d ts %d", i, r.Offset, r.Timestamp)
		}
		if !bytes.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) || !bytes.Equal(r.Value, w.Value) || (r.Value == nil) != (w.Value == nil) {
			t.Errorf("record %d: key %q value %q, want %q %q", i, r.Key, r.Value, w.Key, w.Value)
		}
		if len(r.Headers) != len(w.Headers) {
			t.Fatalf("record %d: headers %v want %v", i, r.Headers, w.Headers)
		}
		for j := range r.Headers {
			if r.Headers[j].Key != w.Headers[j].Key || !bytes.Equal(r.Headers[j].Value, w.Headers[j].Value) || (r.Headers[j].Value == nil) != (w.Headers[j].Value == nil) {
				t.Errorf("record %d header %d = %v, want %v", i, j, r.Headers[j], w.Headers[j])
			}
		}
	}
	// kmsg decodes what Build encodes.
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(b); err != nil || kb.NumRecords != 3 {
		t.Fatalf("kmsg ReadFrom = %v, %d records", err, kb.NumRecords)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := record.Build(0); !errors.Is(err, record.ErrInvalidRecord) {
		t.Errorf("Build() = %v, want ErrInvalidRecord", err)
	}
	b := record.Batch{Attributes: 1, Records: []record.Record{{}}}
	if _, err := b.AppendTo(nil); !errors.Is(err, record.ErrUnsupportedCompression) {
		t.Errorf("AppendTo(gzip) = %v, want ErrUnsupportedCompression", err)
	}
}

func TestEdits(t *testing.T) {
	b, err := record.Build(0, record.Record{Timestamp: 5, Value: []byte("x")}, record.Record{Timestamp: 6, Value: []byte("y")})
	if err != nil {
		t.Fatal(err)
	}
	record.SetBaseOffset(b, 1<<40)
	record.SetPartitionLeaderEpoch(b, 9)
	record.SetLogAppendTime(b, 123456)
	h, err := record.Validate(b)
	if err != nil {
		t.Fatalf("Validate after edits = %v", err)
	}
	if h.BaseOffset != 1<<40 || h.PartitionLeaderEpoch != 9 || h.MaxTimestamp != 123456 || h.TimestampType() != record.LogAppendTime {
		t.Fatalf("header = %+v", h)
	}
	for r, err := range record.Records(b) {
		if err != nil || r.Timestamp != 123456 {
			t.Fatalf("record under LogAppendTime: %+v, %v", r, err)
		}
	}
}

func TestSplit(t *testing.T) {
	a := kmsgBatch(t, 0, sampleRecords(2, 1)...)
	b, _ := record.Build(0, record.Record{Value: []byte("hello")})
	c := kmsgBatch(t, 0, sampleRecords(5, 2)...)
	all := slices.Concat(a, b, c)
	parts, err := record.Split(all)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 || !bytes.Equal(parts[0], a) || !bytes.Equal(parts[1], b) || !bytes.Equal(parts[2], c) {
		t.Fatalf("Split = %d parts", len(parts))
	}
	if &parts[1][0] != &all[len(a)] {
		t.Error("Split copied; want sub-slices")
	}
	for _, cut := range []int{1, 11, 12, len(a) + 30, len(all) - 1} {
		if _, err := record.Split(all[:cut]); !errors.Is(err, record.ErrCorrupt) {
			t.Errorf("Split(first %d bytes) = %v, want ErrCorrupt", cut, err)
		}
	}
	if parts, err := record.Split(nil); err != nil || parts != nil {
		t.Errorf("Split(nil) = %v, %v", parts, err)
	}
}

func TestRecordsErrors(t *testing.T) {
	b := kmsgBatch(t, 3, sampleRecords(2, 1)...)
	for _, err := range record.Records(b) {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Records(lz4) error = %v", err)
		}
	}
	good, _ := record.Build(0, record.Record{Value: []byte("v")})
	good[len(good)-1] ^= 0xff
	n := 0
	for _, err := range record.Records(good) {
		n++
		if !errors.Is(err, record.ErrCorrupt) {
			t.Fatalf("Records(bad crc) = %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("Records(bad crc) yielded %d times", n)
	}
}
