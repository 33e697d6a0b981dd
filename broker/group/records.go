package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one change to persist: a key and a value in the encodings of
// Kafka's __consumer_offsets topic. A nil Value is a tombstone.
type Record struct {
	Key   []byte
	Value []byte
}

// Key and value versions written. Kafka's offset keys are versions 0 and 1
// (same layout), group keys version 2.
const (
	offsetKeyVersion   = 1
	offsetValueVersion = 3
	groupKeyVersion    = 2
	groupValueVersion  = 3
)

// ErrBadRecord is returned by Restore for a record it cannot decode.
var ErrBadRecord = errors.New("group: bad record")

func (c *Coordinator) queueOffset(groupName, topic string, partition int32, o *Offset) {
	k := kmsg.NewOffsetCommitKey()
	k.Version = offsetKeyVersion
	k.Group, k.Topic, k.Partition = groupName, topic, partition
	r := Record{Key: k.AppendTo(nil)}
	if o != nil {
		v := kmsg.NewOffsetCommitValue()
		v.Version = offsetValueVersion
		v.Offset = o.Offset
		v.LeaderEpoch = o.LeaderEpoch
		v.Metadata = o.Metadata
		v.CommitTimestamp = o.CommitTime.UnixMilli()
		r.Value = v.AppendTo(nil)
	}
	c.records = append(c.records, r)
}

func groupKey(name string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version = groupKeyVersion
	k.Group = name
	return k.AppendTo(nil)
}

func (c *Coordinator) queueGroupTombstone(name string) {
	c.records = append(c.records, Record{Key: groupKey(name)})
}

// queueGroupMetadata records the group's generation, protocol and members
// with their assignments, so that after a restart the members carry on
// without rejoining.
func (c *Coordinator) queueGroupMetadata(g *group, now time.Time) {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		p := g.protocol
		v.Protocol = &p
	}
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = now.UnixMilli()
	g.each(func(m *member) {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		vm.InstanceID = m.instanceID
		vm.ClientID = m.client.ID
		vm.ClientHost = m.client.Host
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout / time.Millisecond)
		vm.SessionTimeoutMillis = int32(m.sessionTimeout / time.Millisecond)
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	})
	c.records = append(c.records, Record{Key: groupKey(g.name), Value: v.AppendTo(nil)})
}

// Restore applies one record read back from the internal log. Replaying a
// log's records in order rebuilds the state that wrote them: committed
// offsets, and each group's generation, protocol and members (whose
// sessions start afresh at the time of the replay). Call it before any
// request is handled.
func (c *Coordinator) Restore(key, value []byte) error {
	if len(key) < 2 {
		return fmt.Errorf("%w: key of %d bytes", ErrBadRecord, len(key))
	}
	now := c.clock.Now()
	switch v := int16(binary.BigEndian.Uint16(key)); v {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return fmt.Errorf("%w: offset key: %w", ErrBadRecord, err)
		}
		tp := topicPartition{k.Topic, k.Partition}
		if value == nil {
			if g := c.groups[k.Group]; g != nil {
				delete(g.offsets, tp)
			}
			return nil
		}
		var ov kmsg.OffsetCommitValue
		if err := ov.ReadFrom(value); err != nil {
			return fmt.Errorf("%w: offset value for group %q: %w", ErrBadRecord, k.Group, err)
		}
		epoch := ov.LeaderEpoch
		if ov.Version < 3 {
			epoch = -1
		}
		g := c.getOrCreate(k.Group, now)
		g.offsets[tp] = Offset{Offset: ov.Offset, LeaderEpoch: epoch, Metadata: ov.Metadata, CommitTime: time.UnixMilli(ov.CommitTimestamp)}
		return nil
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return fmt.Errorf("%w: group key: %w", ErrBadRecord, err)
		}
		if value == nil {
			delete(c.groups, k.Group)
			return nil
		}
		var gv kmsg.GroupMetadataValue
		if err := gv.ReadFrom(value); err != nil {
			return fmt.Errorf("%w: group value for %q: %w", ErrBadRecord, k.Group, err)
		}
		c.restoreGroup(k.Group, &gv, now)
		return nil
	default:
		return fmt.Errorf("%w: unknown key version %d", ErrBadRecord, v)
	}
}

func (c *Coordinator) restoreGroup(name string, gv *kmsg.GroupMetadataValue, now time.Time) {
	old := c.groups[name]
	g := newGroup(name, now)
	if old != nil {
		g.offsets = old.offsets
	}
	c.groups[name] = g
	g.protocolType = gv.ProtocolType
	g.generation = gv.Generation
	if gv.Protocol != nil {
		g.protocol = *gv.Protocol
	}
	for _, vm := range gv.Members {
		m := &member{
			id:               vm.MemberID,
			instanceID:       vm.InstanceID,
			client:           Client{ID: vm.ClientID, Host: vm.ClientHost},
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocolType:     gv.ProtocolType,
			protocols:        []kmsg.JoinGroupRequestProtocol{{Name: g.protocol, Metadata: vm.Subscription}},
			assignment:       vm.Assignment,
			lastHeartbeat:    now,
		}
		g.add(m)
	}
	if gv.Leader != nil {
		if _, ok := g.members[*gv.Leader]; ok {
			g.leader = *gv.Leader
		}
	}
	if len(g.members) > 0 {
		g.transition(Stable, now)
	} else if gv.CurrentStateTimestamp > 0 {
		g.stateSince = time.UnixMilli(gv.CurrentStateTimestamp)
	}
}

// Snapshot returns records that rebuild the current state from nothing:
// one per committed offset and one per group with a generation. Writing
// them to a fresh log compacts the old one.
func (c *Coordinator) Snapshot() []Record {
	saved := c.records
	c.records = nil
	now := c.clock.Now()
	for _, name := range slices.Sorted(maps.Keys(c.groups)) {
		g := c.groups[name]
		if g.generation > 0 || len(g.members) > 0 {
			since := now
			if len(g.members) == 0 {
				since = g.stateSince
			}
			c.queueGroupMetadata(g, since)
		}
		for _, tp := range sortedPartitions(g.offsets) {
			o := g.offsets[tp]
			c.queueOffset(name, tp.topic, tp.partition, &o)
		}
	}
	out := c.records
	c.records = saved
	return out
}
