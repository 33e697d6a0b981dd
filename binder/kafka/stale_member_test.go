package kafka_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/sdk/stream"
)

// joinStale makes a group member that owns every partition of topic and
// then never heartbeats again, as a member killed with -9 would: the group
// keeps it until its session timeout.
func joinStale(t *testing.T, addr, group, topic string, partitions int32, session time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = group
	join.SessionTimeoutMillis = int32(session / time.Millisecond)
	join.RebalanceTimeoutMillis = join.SessionTimeoutMillis
	join.ProtocolType = "consumer"
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name = "range"
	proto.Metadata = meta.AppendTo(nil)
	join.Protocols = append(join.Protocols, proto)
	var jr *kmsg.JoinGroupResponse
	for range 2 { // the first answer asks for a member ID
		if jr, err = join.RequestWith(ctx, cl); err != nil {
			t.Fatal(err)
		}
		if jr.ErrorCode != kerr.MemberIDRequired.Code {
			break
		}
		join.MemberID = jr.MemberID
	}
	if err := kerr.ErrorForCode(jr.ErrorCode); err != nil {
		t.Fatalf("join group %s: %v", group, err)
	}
	assign := kmsg.NewConsumerMemberAssignment()
	at := kmsg.NewConsumerMemberAssignmentTopic()
	at.Topic = topic
	for p := range partitions {
		at.Partitions = append(at.Partitions, p)
	}
	assign.Topics = append(assign.Topics, at)
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = group, jr.MemberID, jr.Generation
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	sa := kmsg.NewSyncGroupRequestGroupAssignment()
	sa.MemberID, sa.MemberAssignment = jr.MemberID, assign.AppendTo(nil)
	sync.GroupAssignment = append(sync.GroupAssignment, sa)
	sr, err := sync.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(sr.ErrorCode); err != nil {
		t.Fatalf("sync group %s: %v", group, err)
	}
}

// TestStartWithStaleMember: after an unclean stop (the member died with the
// broker, and the group still holds it after the broker's restart) an App
// starts within a few seconds instead of waiting out the dead member's
// session, and its messages flow once the dead member expires.
func TestStartWithStaleMember(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a session timeout")
	}
	const session = 12 * time.Second
	b := brokertest.Start(t)
	topic := newTopic(t)
	group := "g-" + topic
	if _, err := admin(t, []string{b.Addr()}).CreateTopic(context.Background(), 2, -1, nil, topic); err != nil {
		t.Fatal(err)
	}
	joinStale(t, b.Addr(), group, topic, 2, session)
	b.Restart()
	brokers := []string{b.Addr()}
	publishN(t, publisher(t, brokers, nil), topic, 0, 20)

	binder, err := kafka.New(context.Background(), kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { binder.Close() })
	app := stream.New(stream.Config{Application: "restart", Bindings: map[string]stream.BindingProperties{
		"sink-in-0": {Destination: topic, Group: group, Concurrency: 2},
	}}, stream.WithBinder("kafka", binder))
	var mu sync.Mutex
	got := map[string]int{}
	if err := app.Register(stream.Consumer("sink", func(_ context.Context, in string) error {
		mu.Lock()
		got[in]++
		mu.Unlock()
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	took := time.Since(start)
	t.Logf("start took %v with a stale member of session timeout %v", took, session)
	if took >= session-time.Second {
		t.Errorf("start took %v: it waited for the stale member's session timeout (%v)", took, session)
	}
	deadline := time.Now().Add(session + 15*time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handled %d of 20 messages %v after start", n, time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("all 20 messages handled %v after start", time.Since(start))
	mu.Lock()
	defer mu.Unlock()
	for i := range 20 {
		if got[strconv.Itoa(i)] != 1 {
			t.Errorf("message %d handled %d times, want 1", i, got[strconv.Itoa(i)])
		}
	}
}
