package memory

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"sync"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

// topic is one destination: partitions and the groups reading them.
type topic struct {
	name      string
	retention int

	// mu guards everything below.
	mu     sync.Mutex
	parts  []*partition
	groups map[string]*group
	rr     int // round-robin cursor for messages without key or partition
	// changed, when a member waits on it, is closed (and dropped) when
	// something it may be waiting for happens: a message arrives, an offset
	// is committed, membership changes, the topic closes. It is made only
	// when someone waits, so that a busy topic does not allocate one per
	// message.
	changed chan struct{}
	closed  bool
}

// partition is an append-only log; base is the offset of log[0].
type partition struct {
	base int64
	log  []stored
}

func (p *partition) end() int64 { return p.base + int64(len(p.log)) }

type stored struct {
	uuid     string
	metadata message.Metadata
	payload  []byte
}

// group is a consumer group on one topic.
type group struct {
	name    string
	durable bool
	next    []int64 // per partition: the next offset to deliver
	busy    []bool  // per partition: a message is out, unacked
	members []*member
}

// member is one Subscribe call of a group.
type member struct {
	// allowed is nil, or the partitions this member may read (a
	// partitioned instance).
	allowed func(p int) bool
	// pause is shared by the members of one subscriber.
	pause *pauseState
	// handing (guarded by topic.mu) is set while a picked message is on its
	// way to the member's channel.
	handing bool
}

// pauseState is the paused flag of one subscriber; topic.mu guards it.
type pauseState struct{ paused bool }

func newTopic(name string, retention int) *topic {
	return &topic{name: name, retention: retention, groups: make(map[string]*group)}
}

// notifyLocked wakes every waiting member.
func (t *topic) notifyLocked() {
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
}

// waitLocked returns the channel that the next change closes.
func (t *topic) waitLocked() <-chan struct{} {
	if t.changed == nil {
		t.changed = make(chan struct{})
	}
	return t.changed
}

func (t *topic) partitionCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.parts)
}

func (t *topic) grow(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.parts) < n {
		t.parts = append(t.parts, &partition{})
		for _, g := range t.groups {
			g.next = append(g.next, 0)
			g.busy = append(g.busy, false)
		}
	}
	t.notifyLocked()
}

func (t *topic) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.notifyLocked()
}

// join returns the group of s, made if needed at its start offset.
func (t *topic) join(s stream.Subscription) *group {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.groups[s.Group]
	if ok {
		return g
	}
	g = &group{name: s.Group, durable: !s.Anonymous,
		next: make([]int64, len(t.parts)), busy: make([]bool, len(t.parts))}
	for i, p := range t.parts {
		if s.StartOffset == stream.Latest {
			g.next[i] = p.end()
		} else {
			g.next[i] = p.base
		}
	}
	t.groups[s.Group] = g
	return g
}

// addMember and removeMember change the group's membership; partitions are
// reassigned at once (a partition with a message out keeps it until it is
// acked, because busy is per group).
func (t *topic) addMember(g *group, m *member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g.members = append(g.members, m)
	t.notifyLocked()
}

func (t *topic) removeMember(g *group, m *member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g.members = slices.DeleteFunc(g.members, func(x *member) bool { return x == m })
	t.notifyLocked()
}

// leave deletes a non-durable group once it has no members.
func (t *topic) leave(g *group) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !g.durable && len(g.members) == 0 && t.groups[g.name] == g {
		delete(t.groups, g.name)
	}
}

// ownerLocked is the member of g that reads partition p, or nil.
func (g *group) ownerLocked(p int) *member {
	var eligible []*member
	for _, m := range g.members {
		if m.allowed == nil || m.allowed(p) {
			eligible = append(eligible, m)
		}
	}
	if len(eligible) == 0 {
		return nil
	}
	return eligible[p%len(eligible)]
}

// pick finds a message for member m of g: from a partition m owns that has
// one waiting and none out. It marks the partition busy. wait is the channel
// to wait on when there is nothing; closed reports a closed topic.
func (t *topic) pick(g *group, m *member, start int) (p int, off int64, s stored, ok bool, wait <-chan struct{}, closed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return 0, 0, stored{}, false, nil, true
	}
	n := len(t.parts)
	if m.pause.paused {
		n = 0 // a paused member takes nothing
	}
	for i := range n {
		p := (start + i) % n
		if g.busy[p] || g.ownerLocked(p) != m {
			continue
		}
		part := t.parts[p]
		if g.next[p] < part.base {
			g.next[p] = part.base // dropped by retention
		}
		if g.next[p] >= part.end() {
			continue
		}
		g.busy[p] = true
		m.handing = true
		off := g.next[p]
		return p, off, part.log[off-part.base], true, nil, false
	}
	return 0, 0, stored{}, false, t.waitLocked(), false
}

// handed records that the message pick returned to m reached m's channel,
// or never will.
func (t *topic) handed(m *member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m.handing = false
	if m.pause.paused {
		t.notifyLocked() // a Pause may be waiting for this
	}
}

// pause stops handing messages to the members of g that share ps, and waits
// until none has a message on its way to its channel.
func (t *topic) pause(ctx context.Context, g *group, ps *pauseState) error {
	t.mu.Lock()
	ps.paused = true
	for {
		handing := slices.ContainsFunc(g.members, func(m *member) bool { return m.pause == ps && m.handing })
		if !handing {
			t.mu.Unlock()
			return nil
		}
		wait := t.waitLocked()
		t.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
		t.mu.Lock()
	}
}

// resume undoes pause.
func (t *topic) resume(ps *pauseState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps.paused = false
	t.notifyLocked()
}

// settle ends the delivery of offset off of partition p to g: committed if
// acked, else left to be delivered again.
func (t *topic) settle(g *group, p int, off int64, acked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g.busy[p] = false
	if acked && g.next[p] == off {
		g.next[p] = off + 1
	}
	t.notifyLocked()
}

// rewind makes offset off of partition p the next one g gets, when an
// output of it (a [stream.CommitHold]) failed after it was acked: it and
// what followed come again.
func (t *topic) rewind(g *group, p int, off int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g.next[p] > off {
		g.next[p] = off
	}
	t.notifyLocked()
}

// append stores msgs, choosing each one's partition.
func (t *topic) append(msgs []*message.Message) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	n := len(t.parts)
	for _, m := range msgs {
		p := -1
		if s, ok := m.Metadata[cloudevent.MetadataPartition]; ok {
			if v, err := strconv.Atoi(s); err == nil && v >= 0 {
				p = v % n
			}
		}
		if k := m.Metadata[cloudevent.MetadataKey]; p < 0 && k != "" {
			p = stream.Partition(k, n)
		}
		if p < 0 {
			p = t.rr % n
			t.rr++
		}
		md := make(message.Metadata, len(m.Metadata))
		maps.Copy(md, m.Metadata)
		delete(md, cloudevent.MetadataPartition)
		part := t.parts[p]
		part.log = append(part.log, stored{uuid: m.UUID, metadata: md, payload: slices.Clone(m.Payload)})
		if over := len(part.log) - t.retention; over > 0 {
			clear(part.log[:over])
			part.log = part.log[over:]
			part.base += int64(over)
		}
	}
	t.notifyLocked()
	return nil
}
