package server_test

import (
	"fmt"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestGroupAPIsAtEveryVersion walks a consumer's life — find the
// coordinator, join, sync, heartbeat, commit, fetch, describe, list, leave —
// over a raw connection at every advertised version of each group API,
// from v0 (what old librdkafka and kafka-python need) to the Kafka 2.8
// maxima, decoding each response at its version.
func TestGroupAPIsAtEveryVersion(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, "versions"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())
	corr := int32(0)
	call := func(req kmsg.Request) kmsg.Response {
		t.Helper()
		corr++
		c.send(req, corr)
		resp := req.ResponseKind()
		resp.SetVersion(req.GetVersion())
		c.read(corr, resp)
		return resp
	}
	must := func(what string, code int16) {
		t.Helper()
		if code != 0 {
			t.Fatalf("%s: %v", what, kerr.ErrorForCode(code))
		}
	}
	// Each step uses version min(v, the API's maximum).
	maxima := map[string]int16{"find": 3, "join": 7, "sync": 5, "hb": 4, "leave": 4, "commit": 8, "fetch": 7, "describe": 5, "list": 4}
	for v := int16(0); v <= 8; v++ {
		at := func(api string) int16 { return min(v, maxima[api]) }
		g := fmt.Sprintf("g-v%d", v)
		t.Run(g, func(t *testing.T) {
			find := kmsg.NewPtrFindCoordinatorRequest()
			find.Version, find.CoordinatorKey = at("find"), g
			fr := call(find).(*kmsg.FindCoordinatorResponse)
			must("FindCoordinator", fr.ErrorCode)
			if fr.NodeID != 0 || fr.Port == 0 {
				t.Fatalf("FindCoordinator = node %d port %d, want this broker", fr.NodeID, fr.Port)
			}

			join := kmsg.NewPtrJoinGroupRequest()
			join.Version, join.Group, join.ProtocolType = at("join"), g, "consumer"
			join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 10000, 10000
			meta := (&kmsg.ConsumerMemberMetadata{Topics: []string{"versions"}}).AppendTo(nil)
			join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta}}
			jr := call(join).(*kmsg.JoinGroupResponse)
			if jr.ErrorCode == kerr.MemberIDRequired.Code {
				join.MemberID = jr.MemberID
				jr = call(join).(*kmsg.JoinGroupResponse)
			}
			must("JoinGroup", jr.ErrorCode)
			if jr.LeaderID != jr.MemberID || len(jr.Members) != 1 || jr.Generation != 1 {
				t.Fatalf("JoinGroup = %+v, want leader of generation 1", jr)
			}

			sync := kmsg.NewPtrSyncGroupRequest()
			sync.Version, sync.Group, sync.Generation, sync.MemberID = at("sync"), g, jr.Generation, jr.MemberID
			assignment := (&kmsg.ConsumerMemberAssignment{Topics: []kmsg.ConsumerMemberAssignmentTopic{{Topic: "versions", Partitions: []int32{0}}}}).AppendTo(nil)
			sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: jr.MemberID, MemberAssignment: assignment}}
			sr := call(sync).(*kmsg.SyncGroupResponse)
			must("SyncGroup", sr.ErrorCode)
			if string(sr.MemberAssignment) != string(assignment) {
				t.Fatalf("SyncGroup assignment = %x, want %x", sr.MemberAssignment, assignment)
			}

			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Version, hb.Group, hb.Generation, hb.MemberID = at("hb"), g, jr.Generation, jr.MemberID
			must("Heartbeat", call(hb).(*kmsg.HeartbeatResponse).ErrorCode)

			// OffsetCommit v0 carries no generation or member id (a simple
			// commit, refused while the group has members): members commit
			// from v1.
			commit := kmsg.NewPtrOffsetCommitRequest()
			commit.Version, commit.Group, commit.Generation, commit.MemberID = max(at("commit"), 1), g, jr.Generation, jr.MemberID
			md := fmt.Sprintf("v%d", v)
			commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "versions", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: int64(10 + v), LeaderEpoch: -1, Metadata: &md}}}}
			must("OffsetCommit", call(commit).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode)

			fetch := kmsg.NewPtrOffsetFetchRequest()
			fetch.Version, fetch.Group = at("fetch"), g
			fetch.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "versions", Partitions: []int32{0}}}
			ofr := call(fetch).(*kmsg.OffsetFetchResponse)
			must("OffsetFetch", ofr.ErrorCode)
			p := ofr.Topics[0].Partitions[0]
			if p.Offset != int64(10+v) || p.Metadata == nil || *p.Metadata != md {
				t.Fatalf("OffsetFetch = %d %v, want %d %q", p.Offset, p.Metadata, 10+v, md)
			}

			desc := kmsg.NewPtrDescribeGroupsRequest()
			desc.Version, desc.Groups = at("describe"), []string{g}
			dg := call(desc).(*kmsg.DescribeGroupsResponse).Groups[0]
			if dg.State != "Stable" || len(dg.Members) != 1 || dg.Members[0].ClientID != "raw" {
				t.Fatalf("DescribeGroups = %+v", dg)
			}

			list := kmsg.NewPtrListGroupsRequest()
			list.Version = at("list")
			found := false
			for _, lg := range call(list).(*kmsg.ListGroupsResponse).Groups {
				found = found || lg.Group == g
			}
			if !found {
				t.Fatalf("ListGroups lacks %s", g)
			}

			leave := kmsg.NewPtrLeaveGroupRequest()
			leave.Version, leave.Group = at("leave"), g
			if leave.Version < 3 {
				leave.MemberID = jr.MemberID
			} else {
				leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: jr.MemberID}}
			}
			lr := call(leave).(*kmsg.LeaveGroupResponse)
			must("LeaveGroup", lr.ErrorCode)
			for _, m := range lr.Members {
				must("LeaveGroup member", m.ErrorCode)
			}
		})
	}
}

// TestGroupAndProducerIDAPIsAdvertiseV0 checks the ApiVersions entries that
// old clients need to turn consumer groups and idempotence on (librdkafka
// 2.0 wants JoinGroup v0 and InitProducerId v0 offered), and answers
// InitProducerId at every version with a new id.
func TestGroupAndProducerIDAPIsAdvertiseV0(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
	c.send(req, 1)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 3
	c.read(1, resp)
	want := map[int16]int16{8: 8, 9: 7, 10: 3, 11: 7, 12: 4, 13: 4, 14: 5, 15: 5, 16: 4, 22: 4, 42: 2, 47: 0}
	got := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	for key, maxV := range want {
		if v, ok := got[key]; !ok || v[0] != 0 || v[1] != maxV {
			t.Errorf("%s (key %d) advertised %v, want [0 %d]", kmsg.NameForKey(key), key, v, maxV)
		}
	}
	seen := map[int64]bool{}
	for v := int16(0); v <= 4; v++ {
		ip := kmsg.NewPtrInitProducerIDRequest()
		ip.Version = v
		c.send(ip, int32(10+v))
		r := kmsg.NewPtrInitProducerIDResponse()
		r.Version = v
		c.read(int32(10+v), r)
		if r.ErrorCode != 0 || r.ProducerEpoch != 0 || r.ProducerID < 0 || seen[r.ProducerID] {
			t.Fatalf("InitProducerId v%d = %+v, want a new id with epoch 0", v, r)
		}
		seen[r.ProducerID] = true
	}
}
