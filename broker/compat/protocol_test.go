package compat_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestPipelinedRequestsAnsweredInOrder writes several requests on one
// connection without waiting, as librdkafka does: a Fetch that long-polls an
// empty partition, an acks=0 Produce (which gets no response), ApiVersions
// and Metadata. The answers must come back in request order, the Fetch
// first although it is the slowest, and nothing for the acks=0 Produce.
func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const topic = "pipelined"
	createTopic(t, b.Addr(), topic, 1)
	createTopic(t, b.Addr(), "pipelined-acks0", 1)
	c, err := dialRaw(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = 11
	fetch.ReplicaID = -1
	fetch.MaxWaitMillis = 1500
	fetch.MinBytes = 1
	fetch.MaxBytes = 1 << 20
	fetch.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset = 0
	fp.PartitionMaxBytes = 1 << 20
	fp.CurrentLeaderEpoch = -1
	fp.LogStartOffset = -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)

	prod := kmsg.NewPtrProduceRequest()
	prod.Version = 7
	prod.Acks = 0
	prod.TimeoutMillis = 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "pipelined-acks0"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = validBatch()
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)

	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "compat", "1"

	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 4
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)

	reqs := []kmsg.Request{fetch, prod, av, meta}
	var wire []byte
	for i, r := range reqs {
		// AppendRequest sizes the frame from the start of dst: one at a time.
		wire = append(wire, c.fmt.AppendRequest(nil, r, int32(100+i))...)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	if _, err := c.Write(wire); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int32{100, 102, 103} {
		body, err := c.readFrame()
		if err != nil {
			t.Fatalf("read the response to request %d: %v", want, err)
		}
		if got := int32(binary.BigEndian.Uint32(body)); got != want {
			t.Fatalf("response correlation id %d, want %d: responses out of request order (acks=0 produce must get none)", got, want)
		}
		if want == 100 {
			if waited := time.Since(start); waited < time.Second {
				t.Errorf("empty long-poll Fetch answered after %v, want about its 1.5 s max wait", waited)
			}
		}
	}
	// The acks=0 produce was written all the same.
	eventually(t, 10*time.Second, "acks=0 record written", func() error {
		got := readAll(t, b.Addr(), "pipelined-acks0", 10*time.Second)
		if len(got[0]) != 1 || string(got[0][0].Value) != "fuzz" {
			return fmt.Errorf("partition 0 holds %d records, want the one acks=0 record", len(got[0]))
		}
		return nil
	})
}

// TestApiVersionsUnknownVersion sends ApiVersions at a version the broker
// cannot know. It must answer in the v0 shape with UNSUPPORTED_VERSION and
// its key list, so that clients retry with a version it has.
func TestApiVersionsUnknownVersion(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	c, err := dialRaw(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 99
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(c.fmt.AppendRequest(nil, req, 7)); err != nil {
		t.Fatal(err)
	}
	body, err := c.readFrame()
	if err != nil {
		t.Fatalf("ApiVersions v99: %v", err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != 7 {
		t.Fatalf("correlation id %d, want 7", corr)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatalf("ApiVersions v99 answer does not decode as v0: %v", err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions v99 = error %d with %d keys, want UNSUPPORTED_VERSION (35) and the key list", resp.ErrorCode, len(resp.ApiKeys))
	}
	// And the connection still serves a version it knows.
	pingOn(t, c)
}

// TestAcksZeroProduceErrorClosesConnection sends acks=0 produce requests
// that fail: an unknown topic, a partition the topic does not have, a batch
// with a bad CRC. Kafka answers nothing but closes the connection, so the
// client learns that something went wrong and refreshes its metadata
// (KafkaApis.handleProduceRequest); a broker that drops the records silently
// leaves an acks=0 producer writing into the void until its next periodic
// metadata refresh.
func TestAcksZeroProduceErrorClosesConnection(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withArgs("--auto-create-topics=false"))
	createTopic(t, b.Addr(), "acks0", 1)
	corrupt := validBatch()
	corrupt[len(corrupt)-1] ^= 1
	for _, tc := range []struct {
		name      string
		topic     string
		partition int32
		batch     []byte
	}{
		{"unknown topic", "acks0-missing", 0, validBatch()},
		{"unknown partition", "acks0", 5, validBatch()},
		{"corrupt batch", "acks0", 0, corrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prod := kmsg.NewPtrProduceRequest()
			prod.Version = 7
			prod.Acks = 0
			prod.TimeoutMillis = 1000
			pt := kmsg.NewProduceRequestTopic()
			pt.Topic = tc.topic
			pp := kmsg.NewProduceRequestTopicPartition()
			pp.Partition = tc.partition
			pp.Records = tc.batch
			pt.Partitions = append(pt.Partitions, pp)
			prod.Topics = append(prod.Topics, pt)
			c, err := dialRaw(b.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(c.fmt.AppendRequest(nil, prod, 1)); err != nil {
				t.Fatal(err)
			}
			if err := c.waitClosed(5 * time.Second); err != nil {
				t.Fatalf("failed acks=0 produce: %v; want the connection closed", err)
			}
		})
	}
}

// TestFetchErrorsAnswerAtOnce asks a long-polling Fetch for partitions it
// cannot serve: an offset below the log start, past the end, an unknown
// topic, an unknown partition. Kafka answers such a fetch at once; waiting
// out MaxWaitMillis stalls every consumer reset (franz-go waits 5 s by
// default, librdkafka 500 ms). A fetch at the end of the log still waits.
func TestFetchErrorsAnswerAtOnce(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withArgs("--auto-create-topics=false"))
	const topic = "fetch-errors"
	createTopic(t, b.Addr(), topic, 1)
	c, err := dialRaw(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	produce := kmsg.NewPtrProduceRequest()
	produce.Version = 7
	produce.Acks = -1
	produce.TimeoutMillis = 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = topic
	for range 2 {
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Records = validBatch()
		pt.Partitions = []kmsg.ProduceRequestTopicPartition{pp}
		produce.Topics = []kmsg.ProduceRequestTopic{pt}
		if _, err := c.roundTrip(produce, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	del := kmsg.NewPtrDeleteRecordsRequest()
	del.TimeoutMillis = 5000
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = topic
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 1
	dt.Partitions = append(dt.Partitions, dp)
	del.Topics = append(del.Topics, dt)
	if _, err := c.roundTrip(del, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		topic     string
		partition int32
		offset    int64
		want      error
		wait      bool
	}{
		{"below the log start", topic, 0, 0, kerr.OffsetOutOfRange, false},
		{"past the end", topic, 0, 100, kerr.OffsetOutOfRange, false},
		{"unknown topic", "fetch-errors-missing", 0, 0, kerr.UnknownTopicOrPartition, false},
		{"unknown partition", topic, 3, 0, kerr.UnknownTopicOrPartition, false},
		{"at the end: waits", topic, 0, 2, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A long poll is waited out; a failed fetch asks for a long
			// one, so that answering at once stands out on a slow machine.
			maxWait := 20 * time.Second
			if tc.wait {
				maxWait = 3 * time.Second
			}
			fetch := kmsg.NewPtrFetchRequest()
			fetch.Version = 11
			fetch.ReplicaID = -1
			fetch.MaxWaitMillis = int32(maxWait.Milliseconds())
			fetch.MinBytes = 1
			fetch.MaxBytes = 1 << 20
			fetch.SessionEpoch = -1
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic = tc.topic
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.Partition = tc.partition
			fp.FetchOffset = tc.offset
			fp.PartitionMaxBytes = 1 << 20
			fp.CurrentLeaderEpoch = -1
			fp.LogStartOffset = -1
			ft.Partitions = append(ft.Partitions, fp)
			fetch.Topics = append(fetch.Topics, ft)
			start := time.Now()
			resp, err := c.roundTrip(fetch, 2*maxWait)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			got := kerr.ErrorForCode(resp.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode)
			if got != tc.want {
				t.Errorf("error = %v, want %v", got, tc.want)
			}
			if tc.wait && took < maxWait-100*time.Millisecond {
				t.Errorf("answered after %v, want the %v long-poll", took, maxWait)
			}
			if !tc.wait && took > maxWait/2 {
				t.Errorf("answered after %v, want at once (Kafka does not long-poll a fetch that failed)", took)
			}
		})
	}
}
