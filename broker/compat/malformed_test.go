package compat_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// frame prefixes body with its length.
func frame(body []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(len(body)))
}

// header is a request header v1: api key, version, correlation id, client id.
func header(key, version int16, corr int32) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 3)
	return append(b, "bad"...)
}

func withSize(size uint32, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, size), body...)
}

// TestMalformedFramesCloseTheConnection sends frames no client should send.
// The broker must close that connection (or answer it with an error) within
// a few seconds, never hang it, and keep serving everyone else: a
// connection opened before the abuse, new connections, and a franz-go client.
func TestMalformedFramesCloseTheConnection(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	good, err := dialRaw(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	pingOn(t, good)

	metadataV1 := header(kmsg.Metadata.Int16(), 1, 7)
	for _, tc := range []struct {
		name string
		send []byte
		// closeOnly: the broker cannot know the correlation id or the frame
		// end, so the only answer is to hang up.
		closeOnly bool
	}{
		{"size of 2 GiB", withSize(0x7fffffff, metadataV1), true},
		{"size of 200 MiB, above the 100 MiB limit", withSize(200<<20, metadataV1), true},
		{"negative size", withSize(0xffffffff, metadataV1), true},
		{"zero size", withSize(0, nil), true},
		{"frame shorter than a header", withSize(3, []byte{0, 3, 0}), true},
		{"unknown api key", append(frame(header(9999, 0, 1)), header(9999, 0, 1)...), false},
		{"unsupported metadata version", append(frame(header(3, 99, 1)), header(3, 99, 1)...), false},
		{"negative client id length", func() []byte {
			h := header(kmsg.Metadata.Int16(), 1, 1)
			binary.BigEndian.PutUint16(h[8:], 0xfff0)
			return append(frame(h), h...)
		}(), false},
		{"metadata with a topic array of 2^31-1 entries", func() []byte {
			body := binary.BigEndian.AppendUint32(metadataV1, 0x7fffffff)
			return append(frame(body), body...)
		}(), false},
		{"produce with a truncated record batch", func() []byte {
			req := kmsg.NewPtrProduceRequest()
			req.Version = 7
			req.Acks = -1
			req.TimeoutMillis = 1000
			tp := kmsg.NewProduceRequestTopic()
			tp.Topic = "malformed"
			p := kmsg.NewProduceRequestTopicPartition()
			p.Records = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0xde, 0xad}
			tp.Partitions = append(tp.Partitions, p)
			req.Topics = append(req.Topics, tp)
			return kmsg.NewRequestFormatter(kmsg.FormatterClientID("bad")).AppendRequest(nil, req, 1)
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dialRaw(b.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send); err != nil && !isClosed(err) {
				t.Fatalf("write: %v", err)
			}
			if tc.closeOnly {
				if err := c.waitClosed(5 * time.Second); err != nil {
					t.Fatalf("broker did not close the connection: %v", err)
				}
			} else if err := closedOrAnswered(c, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := b.Alive(); err != nil {
				t.Fatal(err)
			}
			if err := pingApiVersions(b.Addr()); err != nil {
				t.Fatalf("a new connection after the bad frame: %v", err)
			}
		})
	}

	t.Run("half a frame, then hang up", func(t *testing.T) {
		for range 20 {
			c, err := dialRaw(b.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c.Write(withSize(100, metadataV1))
			c.Close()
		}
		if err := pingApiVersions(b.Addr()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("random frames", func(t *testing.T) {
		seed := rand.Uint64()
		if s := os.Getenv("MILLSTREAM_COMPAT_SEED"); s != "" {
			// Replays a failed run: the seed is in its log.
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("MILLSTREAM_COMPAT_SEED=%q: %v", s, err)
			}
			seed = v
		}
		t.Logf("seed %d (replay with MILLSTREAM_COMPAT_SEED)", seed)
		rng := rand.New(rand.NewPCG(seed, 7))
		valid := validRequests()
		for i := range 300 {
			var msg []byte
			if i%2 == 0 {
				// A valid request with a few bytes after the size flipped.
				msg = append([]byte{}, valid[rng.IntN(len(valid))]...)
				for range 1 + rng.IntN(4) {
					msg[4+rng.IntN(len(msg)-4)] ^= byte(1 + rng.IntN(255))
				}
			} else {
				body := make([]byte, rng.IntN(64))
				for j := range body {
					body[j] = byte(rng.Uint32())
				}
				msg = append(frame(body), body...)
			}
			c, err := dialRaw(b.Addr())
			if err != nil {
				t.Fatalf("frame %d: dial: %v", i, err)
			}
			c.Write(msg)
			within := answerWithin(msg)
			err = closedOrAnswered(c, min(within, 20*time.Second))
			c.Close()
			if err != nil && within <= 20*time.Second {
				t.Fatalf("frame %d (% x): %v", i, msg, err)
			}
			// Otherwise the flips made a valid Fetch that asks for a long
			// poll, or a valid Produce with acks=0: waiting is the right
			// answer, and the broker must still be alive below.
			if err := b.Alive(); err != nil {
				t.Fatalf("after frame %d (% x): %v", i, msg, err)
			}
		}
	})

	// Everyone else is still served.
	pingOn(t, good)
	topic := "after-malformed"
	createTopic(t, b.Addr(), topic, 1)
	cl := newClient(t, b.Addr(), kgo.DefaultProduceTopic(topic))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("still serving")}).FirstErr(); err != nil {
		t.Fatalf("produce after the malformed frames: %v", err)
	}
	got := readAll(t, b.Addr(), topic, 20*time.Second)
	if len(got[0]) != 1 || string(got[0][0].Value) != "still serving" {
		t.Fatalf("read back %v, want one record", got[0])
	}
}

// validRequests are well-formed framed requests to mutate.
func validRequests() [][]byte {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 4
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("fuzzed")
	meta.Topics = append(meta.Topics, mt)
	meta9 := kmsg.NewPtrMetadataRequest()
	meta9.Version = 9
	meta9.Topics = meta.Topics
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "fuzz", "1"
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Version = 5
	ctt := kmsg.NewCreateTopicsRequestTopic()
	ctt.Topic, ctt.NumPartitions, ctt.ReplicationFactor = "fuzzed", 1, 1
	ct.Topics = append(ct.Topics, ctt)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = 11
	fetch.MaxWaitMillis = 10
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "fuzzed"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	prod := kmsg.NewPtrProduceRequest()
	prod.Version = 7
	prod.Acks = 1
	prod.TimeoutMillis = 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzzed"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = validBatch()
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)
	var out [][]byte
	for i, r := range []kmsg.Request{meta, meta9, av, ct, fetch, prod} {
		out = append(out, f.AppendRequest(nil, r, int32(i)))
	}
	return out
}

// validBatch is a record batch v2 with one record, encoded by kmsg.
func validBatch() []byte {
	rec := kmsg.NewRecord()
	rec.Value = []byte("fuzz")
	// The record's length prefix counts the bytes after it; with Length 0
	// the prefix is the single varint byte 0.
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	recBytes := rec.AppendTo(nil)
	batch := kmsg.NewRecordBatch()
	batch.Magic = 2
	batch.NumRecords = 1
	batch.FirstTimestamp = time.Now().UnixMilli()
	batch.MaxTimestamp = batch.FirstTimestamp
	batch.ProducerID = -1
	batch.ProducerEpoch = -1
	batch.FirstSequence = -1
	batch.Records = recBytes
	raw := batch.AppendTo(nil)
	batch.Length = int32(len(raw) - 12)
	raw = batch.AppendTo(nil)
	// CRC-32C over attributes to the end.
	binary.BigEndian.PutUint32(raw[17:], crc32c(raw[21:]))
	return raw
}

// closedOrAnswered waits for the broker to close the connection or to send a
// whole response frame; silence until the timeout is a failure.
func closedOrAnswered(c *rawConn, timeout time.Duration) error {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.readFrame()
	if err == nil || isClosed(err) {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("broker neither answered nor closed the connection")
	}
	return nil
}

// answerWithin returns how long the broker may rightly take to answer or
// close the connection after a framed request: 5s, plus the max wait of a
// well-formed Fetch, plus 50ms a partition for a well-formed CreateTopics
// (each is created on disk, with fsyncs); forever for a well-formed Produce
// with acks=0 (Kafka sends no response to those). It reads the request
// header (v1, or v2 with tagged fields for flexible versions) the way the
// broker does, then lets kmsg decode the body.
func answerWithin(msg []byte) time.Duration {
	const base = 5 * time.Second
	req, ok := decodeRequest(msg)
	if !ok {
		return base
	}
	switch r := req.(type) {
	case *kmsg.FetchRequest:
		return base + time.Duration(max(r.MaxWaitMillis, 0))*time.Millisecond
	case *kmsg.CreateTopicsRequest:
		var partitions int64
		for _, t := range r.Topics {
			partitions += int64(max(t.NumPartitions, 0))
		}
		return base + time.Duration(partitions)*50*time.Millisecond
	case *kmsg.ProduceRequest:
		if r.Acks == 0 {
			return time.Duration(math.MaxInt64)
		}
	}
	return base
}

// decodeRequest decodes a framed request as the broker does, reporting
// whether it is well formed.
func decodeRequest(msg []byte) (kmsg.Request, bool) {
	if len(msg) < 14 {
		return nil, false
	}
	b := msg[4:]
	req := kmsg.RequestForKey(int16(binary.BigEndian.Uint16(b)))
	if req == nil {
		return nil, false
	}
	req.SetVersion(int16(binary.BigEndian.Uint16(b[2:])))
	rest := b[8:]
	n := int(int16(binary.BigEndian.Uint16(rest)))
	rest = rest[2:]
	if n > 0 {
		if n > len(rest) {
			return nil, false
		}
		rest = rest[n:]
	}
	if req.IsFlexible() {
		tags, k := binary.Uvarint(rest)
		if k <= 0 || tags > uint64(len(rest)) {
			return nil, false
		}
		rest = rest[k:]
		for range tags {
			if _, k = binary.Uvarint(rest); k <= 0 {
				return nil, false
			}
			rest = rest[k:]
			size, k := binary.Uvarint(rest)
			if k <= 0 || size > uint64(len(rest)-k) {
				return nil, false
			}
			rest = rest[k+int(size):]
		}
	}
	if err := req.ReadFrom(rest); err != nil {
		return nil, false
	}
	return req, true
}

func isClosed(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || (err != nil && !(errors.As(err, &ne) && ne.Timeout()))
}

func pingOn(t testing.TB, c *rawConn) {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "compat", "1"
	resp, err := c.roundTrip(req, 5*time.Second)
	if err != nil {
		t.Fatalf("ApiVersions on an established connection: %v", err)
	}
	if ec := resp.(*kmsg.ApiVersionsResponse).ErrorCode; ec != 0 {
		t.Fatalf("ApiVersions v3 error code %d", ec)
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func TestAnswerWithinReadsTheRequest(t *testing.T) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	for _, version := range []int16{4, 11, 12} {
		fetch := kmsg.NewPtrFetchRequest()
		fetch.Version = version
		fetch.MaxWaitMillis = 58_000
		msg := f.AppendRequest(nil, fetch, 1)
		if got := answerWithin(msg); got != 63*time.Second {
			t.Errorf("answerWithin(Fetch v%d, max wait 58s) = %v, want 63s", version, got)
		}
	}
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 4
	if got := answerWithin(f.AppendRequest(nil, meta, 1)); got != 5*time.Second {
		t.Errorf("answerWithin(Metadata) = %v, want 5s", got)
	}
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = 11
	fetch.MaxWaitMillis = 58_000
	msg := f.AppendRequest(nil, fetch, 1)
	if got := answerWithin(msg[:len(msg)-3]); got != 5*time.Second {
		t.Errorf("answerWithin(truncated Fetch) = %v, want 5s", got)
	}
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Version = 5
	for _, n := range []int32{200, -1} {
		ctt := kmsg.NewCreateTopicsRequestTopic()
		ctt.Topic, ctt.NumPartitions, ctt.ReplicationFactor = "t", n, 1
		ct.Topics = append(ct.Topics, ctt)
	}
	if got := answerWithin(f.AppendRequest(nil, ct, 1)); got != 15*time.Second {
		t.Errorf("answerWithin(CreateTopics of 200 and -1 partitions) = %v, want 15s", got)
	}
	for _, acks := range []int16{0, 1, -1} {
		produce := kmsg.NewPtrProduceRequest()
		produce.Version = 7
		produce.Acks = acks
		produce.TimeoutMillis = 1000
		got := answerWithin(f.AppendRequest(nil, produce, 1))
		if want := acks == 0; (got == time.Duration(math.MaxInt64)) != want {
			t.Errorf("answerWithin(Produce acks=%d) = %v, want forever: %t", acks, got, want)
		}
	}
}
