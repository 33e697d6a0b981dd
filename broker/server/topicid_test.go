package server_test

import (
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTopicIDs: Metadata v10+ can name a topic by id, and DeleteTopics v6
// can delete by id; an unknown id gets UNKNOWN_TOPIC_ID.
func TestTopicIDs(t *testing.T) {
	b := brokertest.Start(t)
	created, err := newAdmin(t, b.Addr()).CreateTopic(testCtx(t), 2, 1, nil, "byid")
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())

	md := kmsg.NewPtrMetadataRequest()
	md.Version = 11
	md.Topics = []kmsg.MetadataRequestTopic{{TopicID: created.ID}, {TopicID: [16]byte{1, 2, 3}}}
	c.send(md, 1)
	mr := kmsg.NewPtrMetadataResponse()
	mr.Version = 11
	c.read(1, mr)
	if len(mr.Topics) != 2 {
		t.Fatalf("%d topics in the response, want 2", len(mr.Topics))
	}
	if got := mr.Topics[0]; got.ErrorCode != 0 || got.Topic == nil || *got.Topic != "byid" || len(got.Partitions) != 2 {
		t.Errorf("by id: error %d, topic %v, %d partitions", got.ErrorCode, got.Topic, len(got.Partitions))
	}
	if got := mr.Topics[1]; got.ErrorCode != kerr.UnknownTopicID.Code {
		t.Errorf("unknown id: error %v, want UNKNOWN_TOPIC_ID", kerr.ErrorForCode(got.ErrorCode))
	}

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version = 6
	del.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: created.ID}, {TopicID: [16]byte{9}}}
	c.send(del, 2)
	dr := kmsg.NewPtrDeleteTopicsResponse()
	dr.Version = 6
	c.read(2, dr)
	if got := dr.Topics[0]; got.ErrorCode != 0 || got.Topic == nil || *got.Topic != "byid" || got.TopicID != created.ID {
		t.Errorf("delete by id: error %d, topic %v, id %x", got.ErrorCode, got.Topic, got.TopicID)
	}
	if got := dr.Topics[1]; got.ErrorCode != kerr.UnknownTopicID.Code {
		t.Errorf("delete unknown id: %v, want UNKNOWN_TOPIC_ID", kerr.ErrorForCode(got.ErrorCode))
	}
	topics, err := newAdmin(t, b.Addr()).ListTopics(testCtx(t))
	if err != nil || topics.Has("byid") {
		t.Fatalf("topic still there after delete by id: %v %v", err, topics.Names())
	}
}
