package server_test

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/record"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func buildBatch(t *testing.T, values ...[]byte) []byte {
	t.Helper()
	var recs []record.Record
	for _, v := range values {
		recs = append(recs, record.Record{Timestamp: 1700000000000, Value: v})
	}
	b, err := record.Build(0, recs...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProduceErrors(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("2048")}, "strict"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())

	good := buildBatch(t, []byte("ok"))
	corrupt := buildBatch(t, []byte("flip"))
	corrupt[len(corrupt)-1] ^= 0xff // the CRC no longer matches
	legacy := buildBatch(t, []byte("old"))
	legacy[16] = 1 // magic 1
	big := make([]byte, 4096)
	_, _ = rand.Read(big)
	truncated := good[:len(good)-3]
	badDelta := buildBatch(t, []byte("a"), []byte("b"))
	binary.BigEndian.PutUint32(badDelta[23:], 5) // lastOffsetDelta 5 for 2 records
	binary.BigEndian.PutUint32(badDelta[17:], crc32.Checksum(badDelta[21:], crc32.MakeTable(crc32.Castagnoli)))

	cases := []struct {
		name      string
		topic     string
		partition int32
		records   []byte
		want      error
	}{
		{"good", "strict", 0, good, nil},
		{"unknown topic", "nope", 0, good, kerr.UnknownTopicOrPartition},
		{"unknown partition", "strict", 7, good, kerr.UnknownTopicOrPartition},
		{"crc", "strict", 0, corrupt, kerr.CorruptMessage},
		{"torn", "strict", 0, truncated, kerr.CorruptMessage},
		{"legacy magic", "strict", 0, legacy, kerr.UnsupportedForMessageFormat},
		{"offset delta", "strict", 0, badDelta, kerr.InvalidRecord},
		{"too large", "strict", 0, buildBatch(t, big), kerr.MessageTooLarge},
		{"empty", "strict", 0, nil, kerr.InvalidRecord},
	}
	for i, tc := range cases {
		err := produceRaw(t, c, int32(i), tc.topic, tc.partition, tc.records)
		if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("%s: produce error %v, want %v", tc.name, err, tc.want)
		}
	}
	end, err := adm.ListEndOffsets(ctx, "strict")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := end.Lookup("strict", 0); o.Offset != 1 {
		t.Fatalf("end offset = %d, want 1: only the good batch may be stored", o.Offset)
	}
}
