package group

import (
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit handles an OffsetCommit request (v0-v8) and returns the
// response. Accepted offsets are applied at once and queued as records;
// the caller must make those records durable before sending the response
// (see [Service]).
//
// A member of the group commits with its member id and the current
// generation (also while the group prepares a rebalance, so that a member
// can commit before it rejoins). A consumer that uses the group only to
// store offsets commits with generation -1 and an empty member id, which
// works while the group has no members.
//
// Versions: v1 adds generation and member id, v2-v4 a retention time
// (ignored, as in Kafka 2.1+), v6 leader epochs, v7 group.instance.id.
func (c *Coordinator) OffsetCommit(req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	now := c.clock.Now()
	resp := kmsg.NewPtrOffsetCommitResponse()
	resp.Version = req.Version
	if req.Version == 0 {
		req.Generation, req.MemberID = -1, ""
	}
	if req.Version < 7 {
		req.InstanceID = nil
	}
	code := c.checkCommit(req, now)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code
			if code == 0 {
				rp.ErrorCode = c.commitOne(req.Group, t.Topic, p, req.Version, now)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if g := c.groups[req.Group]; g != nil && len(g.members) == 0 && len(g.offsets) == 0 && g.generation == 0 && g.state == Empty {
		// A rejected simple commit must not leave an empty group behind.
		delete(c.groups, req.Group)
	}
	return resp
}

// checkCommit returns the error for the whole request, or 0.
func (c *Coordinator) checkCommit(req *kmsg.OffsetCommitRequest, now time.Time) int16 {
	if req.Group == "" {
		return kerr.InvalidGroupID.Code
	}
	g, ok := c.groups[req.Group]
	if !ok {
		if req.Generation >= 0 {
			return kerr.IllegalGeneration.Code
		}
		c.getOrCreate(req.Group, now)
		return 0
	}
	switch {
	case g.state == Dead:
		return kerr.CoordinatorNotAvailable.Code
	case g.fenced(req.MemberID, req.InstanceID):
		return kerr.FencedInstanceID.Code
	case req.Generation < 0 && g.state == Empty:
		return 0
	case g.state == CompletingRebalance:
		return kerr.RebalanceInProgress.Code
	}
	m, ok := g.members[req.MemberID]
	switch {
	case !ok:
		return kerr.UnknownMemberID.Code
	case req.Generation != g.generation:
		return kerr.IllegalGeneration.Code
	}
	m.lastHeartbeat = now
	return 0
}

func (c *Coordinator) commitOne(groupName, topic string, p kmsg.OffsetCommitRequestTopicPartition, version int16, now time.Time) int16 {
	meta := ""
	if p.Metadata != nil {
		meta = *p.Metadata
	}
	switch {
	case len(meta) > c.opts.MaxMetadataSize:
		return kerr.OffsetMetadataTooLarge.Code
	case !c.opts.PartitionExists(topic, p.Partition):
		return kerr.UnknownTopicOrPartition.Code
	}
	epoch := p.LeaderEpoch
	if version < 6 {
		epoch = -1
	}
	o := Offset{Offset: p.Offset, LeaderEpoch: epoch, Metadata: meta, CommitTime: now}
	g := c.groups[groupName]
	g.offsets[topicPartition{topic, p.Partition}] = o
	c.queueOffset(groupName, topic, p.Partition, &o)
	return 0
}

// OffsetFetch handles an OffsetFetch request (v0-v8) and returns the
// response. With no topics named (v2+, a null list) it returns every
// committed offset of the group. A partition without a committed offset
// gets offset -1 and no error.
//
// Versions: v2 adds the top-level error and null topics meaning all, v5
// leader epochs, v7 require-stable (offsets here are always stable), v8
// several groups per request.
func (c *Coordinator) OffsetFetch(req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := kmsg.NewPtrOffsetFetchResponse()
	resp.Version = req.Version
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			var topics []kmsg.OffsetFetchRequestTopic
			if rg.Topics != nil {
				topics = []kmsg.OffsetFetchRequestTopic{}
				for _, t := range rg.Topics {
					topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
				}
			}
			code, fetched := c.fetchOffsets(rg.Group, topics)
			og := kmsg.NewOffsetFetchResponseGroup()
			og.Group = rg.Group
			og.ErrorCode = code
			for _, t := range fetched {
				ot := kmsg.NewOffsetFetchResponseGroupTopic()
				ot.Topic = t.Topic
				for _, p := range t.Partitions {
					ot.Partitions = append(ot.Partitions, kmsg.OffsetFetchResponseGroupTopicPartition{
						Partition: p.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, ErrorCode: p.ErrorCode,
					})
				}
				og.Topics = append(og.Topics, ot)
			}
			resp.Groups = append(resp.Groups, og)
		}
		return resp
	}
	topics := req.Topics
	if req.Version < 2 && topics == nil {
		topics = []kmsg.OffsetFetchRequestTopic{}
	}
	code, fetched := c.fetchOffsets(req.Group, topics)
	resp.ErrorCode = code
	resp.Topics = fetched
	return resp
}

// fetchOffsets answers for one group; topics nil means all.
func (c *Coordinator) fetchOffsets(groupName string, topics []kmsg.OffsetFetchRequestTopic) (int16, []kmsg.OffsetFetchResponseTopic) {
	if groupName == "" {
		return kerr.InvalidGroupID.Code, nil
	}
	g := c.groups[groupName]
	if topics == nil {
		if g == nil {
			return 0, []kmsg.OffsetFetchResponseTopic{}
		}
		byTopic := make(map[string][]int32)
		for tp := range g.offsets {
			byTopic[tp.topic] = append(byTopic[tp.topic], tp.partition)
		}
		for _, t := range slices.Sorted(maps.Keys(byTopic)) {
			ps := byTopic[t]
			slices.Sort(ps)
			topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t, Partitions: ps})
		}
	}
	out := []kmsg.OffsetFetchResponseTopic{}
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition = p
			rp.Offset = -1
			rp.LeaderEpoch = -1
			empty := ""
			rp.Metadata = &empty
			if g != nil {
				if o, ok := g.offsets[topicPartition{t.Topic, p}]; ok {
					rp.Offset = o.Offset
					rp.LeaderEpoch = o.LeaderEpoch
					meta := o.Metadata
					rp.Metadata = &meta
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		out = append(out, rt)
	}
	return 0, out
}

// OffsetDelete handles an OffsetDelete request (v0) and returns the
// response. Offsets of topics that a live consumer group subscribes to
// cannot be deleted (GROUP_SUBSCRIBED_TO_TOPIC).
func (c *Coordinator) OffsetDelete(req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	now := c.clock.Now()
	resp := kmsg.NewPtrOffsetDeleteResponse()
	resp.Version = req.Version
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g, ok := c.groups[req.Group]
	if !ok || g.state == Dead {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	var subscribed map[string]bool
	if g.state != Empty {
		var ok bool
		subscribed, ok = g.subscribedTopics()
		if !ok {
			resp.ErrorCode = kerr.NonEmptyGroup.Code
			return resp
		}
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			switch {
			case subscribed[t.Topic]:
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			case !c.opts.PartitionExists(t.Topic, p.Partition):
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				c.deleteOffset(g, topicPartition{t.Topic, p.Partition})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	c.maybeRemoveEmptyGroup(g, now)
	return resp
}

func (c *Coordinator) deleteOffset(g *group, tp topicPartition) {
	if _, ok := g.offsets[tp]; !ok {
		return
	}
	delete(g.offsets, tp)
	c.queueOffset(g.name, tp.topic, tp.partition, nil)
}

// subscribedTopics decodes the consumer-protocol subscriptions of the
// members; ok is false when the group does not use the consumer protocol.
func (g *group) subscribedTopics() (map[string]bool, bool) {
	if g.protocolType != "consumer" || g.protocol == "" {
		return nil, false
	}
	topics := make(map[string]bool)
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return nil, false
		}
		for _, t := range md.Topics {
			topics[t] = true
		}
	}
	return topics, true
}

// expireOffsets removes offsets kept past the retention: for an empty group,
// counted from when it became empty or from the commit, whichever is later;
// for a group without a protocol (offsets only), from the commit.
func (c *Coordinator) expireOffsets(now time.Time) {
	for _, name := range slices.Sorted(maps.Keys(c.groups)) {
		g := c.groups[name]
		if g.state != Empty {
			continue
		}
		for _, tp := range sortedPartitions(g.offsets) {
			o := g.offsets[tp]
			base := o.CommitTime
			if g.protocolType != "" && g.stateSince.After(base) {
				base = g.stateSince
			}
			if !now.Before(base.Add(c.opts.OffsetsRetention)) {
				c.log.Info("committed offset expired", "group", name, "topic", tp.topic, "partition", tp.partition)
				c.deleteOffset(g, tp)
			}
		}
		c.maybeRemoveEmptyGroup(g, now)
	}
}

// maybeRemoveEmptyGroup forgets a group with no members and no offsets, as
// Kafka does, writing a tombstone for its metadata.
func (c *Coordinator) maybeRemoveEmptyGroup(g *group, now time.Time) {
	if g.state != Empty || len(g.members) > 0 || len(g.offsets) > 0 {
		return
	}
	g.transition(Dead, now)
	delete(c.groups, g.name)
	c.queueGroupTombstone(g.name)
}

func sortedPartitions(m map[topicPartition]Offset) []topicPartition {
	out := make([]topicPartition, 0, len(m))
	for tp := range m {
		out = append(out, tp)
	}
	slices.SortFunc(out, func(a, b topicPartition) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return int(a.partition) - int(b.partition)
	})
	return out
}

// TopicDeleted removes every group's committed offsets for topic, as Kafka
// does when a topic is deleted, so that a topic created again under the
// same name is not read from stale positions. Groups left with no members
// and no offsets are removed.
func (c *Coordinator) TopicDeleted(topic string) {
	now := c.clock.Now()
	for _, name := range slices.Sorted(maps.Keys(c.groups)) {
		g := c.groups[name]
		for _, tp := range sortedPartitions(g.offsets) {
			if tp.topic == topic {
				c.deleteOffset(g, tp)
			}
		}
		c.maybeRemoveEmptyGroup(g, now)
	}
}
