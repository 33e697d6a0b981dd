package server_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOversizedFrameClosesConnection(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) { c.MaxRequestSize = 1 << 20 }))
	c := dialRaw(t, b.Addr())
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], 1<<20+1)
	c.write(size[:])
	c.expectClosed()

	// The broker still serves new connections.
	c2 := dialRaw(t, b.Addr())
	c2.send(kmsg.NewPtrApiVersionsRequest(), 1)
	c2.read(1, kmsg.NewPtrApiVersionsResponse())
}

func TestNegativeFrameSizeClosesConnection(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	c.write([]byte{0xff, 0xff, 0xff, 0xfe})
	c.expectClosed()
}

func TestUnknownAPIKeyClosesConnection(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	req := kmsg.NewPtrDescribeACLsRequest() // key 29, not implemented
	c.send(req, 1)
	c.expectClosed()
}

func TestUnsupportedVersionClosesConnection(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	req := kmsg.NewPtrProduceRequest()
	req.Version = 2 // below the minimum of 3 (no record batch v2)
	c.send(req, 1)
	c.expectClosed()
}

func TestGarbageBodyClosesConnection(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	f := frame(kmsg.NewPtrMetadataRequest(), 1)
	f = append(f[:len(f)-1], 0xff, 0xff, 0xff) // array length now bogus
	binary.BigEndian.PutUint32(f, uint32(len(f)-4))
	c.write(f)
	c.expectClosed()
}

// TestPipelinedResponsesInOrder sends a fetch that long-polls an empty
// partition and, behind it on the same connection, requests that are
// answered at once. The responses must still come back in request order.
func TestPipelinedResponsesInOrder(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, "pipe"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = 11
	fetch.MaxWaitMillis = 300
	fetch.MinBytes = 1
	fetch.MaxBytes = 1 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "pipe"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)

	c.send(fetch, 1)
	c.send(kmsg.NewPtrApiVersionsRequest(), 2)
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 4
	c.send(md, 3)

	fr := kmsg.NewPtrFetchResponse()
	fr.Version = 11
	c.read(1, fr) // fails on any other correlation id
	if got := fr.Topics[0].Partitions[0]; got.ErrorCode != 0 || len(got.RecordBatches) != 0 {
		t.Fatalf("long-poll on an empty partition: error %d, %d bytes", got.ErrorCode, len(got.RecordBatches))
	}
	c.read(2, kmsg.NewPtrApiVersionsResponse())
	mr := kmsg.NewPtrMetadataResponse()
	mr.Version = 4
	c.read(3, mr)
}

// TestProduceAcksZeroNoResponse: acks=0 writes the data and answers
// nothing; the next request's response is the next thing on the wire.
func TestProduceAcksZeroNoResponse(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "fire"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())
	batch, err := record.Build(0, record.Record{Timestamp: 1, Value: []byte("forget me not")})
	if err != nil {
		t.Fatal(err)
	}
	c.send(produceReq("fire", 0, 0, batch), 1)
	c.send(kmsg.NewPtrApiVersionsRequest(), 2)
	c.read(2, kmsg.NewPtrApiVersionsResponse())
	end, err := adm.ListEndOffsets(ctx, "fire")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := end.Lookup("fire", 0); o.Offset != 1 {
		t.Fatalf("end offset after acks=0 produce = %d, want 1", o.Offset)
	}
}

// TestProduceAcksZeroErrorClosesConnection: an acks=0 produce that fails
// (here, to a topic that does not exist) has no response to carry the error,
// so the broker closes the connection, as Kafka does; the client reconnects
// and refreshes its metadata.
func TestProduceAcksZeroErrorClosesConnection(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	batch, err := record.Build(0, record.Record{Timestamp: 1, Value: []byte("lost")})
	if err != nil {
		t.Fatal(err)
	}
	c.send(produceReq("no-such-topic", 0, 0, batch), 1)
	c.expectClosed()
}

func produceReq(topic string, partition int32, acks int16, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 7
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// produceRaw sends one produce request and returns the partition's error.
func produceRaw(t *testing.T, c *rawConn, corr int32, topic string, partition int32, records []byte) error {
	t.Helper()
	c.send(produceReq(topic, partition, -1, records), corr)
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 7
	c.read(corr, resp)
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// TestResponseNotHeldBehindLongPoll: a response that is ready goes out
// even when the request behind it on the connection is a long-poll that
// will not be answered for a minute.
func TestResponseNotHeldBehindLongPoll(t *testing.T) {
	b := brokertest.Start(t)
	if _, err := newAdmin(t, b.Addr()).CreateTopic(testCtx(t), 1, 1, nil, "idle"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())
	// A short long-poll first, so both requests behind it are queued by
	// the time it is answered.
	c.send(fetchReq("idle", 0, 0, 200, 1, 1<<20, 1<<20), 1)
	c.send(kmsg.NewPtrApiVersionsRequest(), 2)
	c.send(fetchReq("idle", 0, 0, 60000, 1, 1<<20, 1<<20), 3)
	_ = c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	fr := kmsg.NewPtrFetchResponse()
	fr.Version = 12
	c.read(1, fr)
	c.read(2, kmsg.NewPtrApiVersionsResponse()) // fails on timeout
}
