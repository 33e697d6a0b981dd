// Package group is the group coordinator of the broker: Kafka's classic
// consumer-group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// DescribeGroups, ListGroups, DeleteGroups) and committed offsets
// (OffsetCommit, OffsetFetch, OffsetDelete).
//
// # Design
//
// [Coordinator] is a deterministic state machine in the style of etcd raft:
// it does no I/O, starts no goroutines and never reads the wall clock. Time
// comes from an injected [Clock]; deadlines (session timeouts, rebalance
// timeouts, the initial rebalance delay, offset expiry) are acted on only
// when the caller invokes [Coordinator.Tick]. JoinGroup and SyncGroup
// responses that must wait for other members are completed later by the
// state machine calling the respond function the request came with, from
// inside a later method call (another member's request or a Tick). Every
// change that must survive a restart is encoded as a key/value record in
// the format of Kafka's __consumer_offsets topic and queued; the caller
// drains the queue with [Coordinator.TakeRecords] and writes it to a log.
// [Coordinator.Restore] replays such records on start.
//
// [Service] is the part that does I/O: it owns a Coordinator, a mutex, a
// ticking goroutine and the internal log (a storage.Log in the data
// directory, compacted on open and in the background), and acknowledges an
// OffsetCommit only after its records are durable.
//
// # States
//
//	Empty ──join──► PreparingRebalance ──all joined / timeout──► CompletingRebalance
//	  ▲                    ▲      │                                  │ leader's SyncGroup
//	  │ last member left   │      └─ nobody rejoined ─► Empty         ▼
//	  └────────────────────┴───── join, leave, session timeout ──── Stable
//
// DeleteGroups moves an Empty group to Dead and removes it.
//
// # Records
//
// The internal log uses Kafka's own encodings (kmsg types):
//
//	| key                               | value                               | meaning            |
//	|-----------------------------------|-------------------------------------|--------------------|
//	| OffsetCommitKey v1 (group,topic,p)| OffsetCommitValue v3                | committed offset   |
//	| OffsetCommitKey v1                | nil (tombstone)                     | offset deleted     |
//	| GroupMetadataKey v2 (group)       | GroupMetadataValue v3               | generation/members |
//	| GroupMetadataKey v2               | nil (tombstone)                     | group deleted      |
//
// # Usage
//
//	c := group.New(group.Options{}, clock, logger)
//	c.JoinGroup(req, group.Client{ID: "c1", Host: "/127.0.0.1"}, func(resp *kmsg.JoinGroupResponse) {
//		// send resp; may be called now or during a later call
//	})
//	c.Tick()                 // periodically
//	recs := c.TakeRecords()  // write them to the log
package group
