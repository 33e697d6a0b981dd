package group

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client identifies the connection a request came from; DescribeGroups
// reports it for each member.
type Client struct {
	ID   string // the request header's client id
	Host string // the peer address, conventionally "/ip"
}

// member is one member of a group.
type member struct {
	id         string
	instanceID *string // static membership (KIP-345); nil for dynamic members
	client     Client

	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	assignment       []byte

	// lastHeartbeat is when the member last proved it was alive.
	lastHeartbeat time.Time

	// joinRespond is set while the member waits for a rebalance to finish;
	// syncRespond while it waits for the leader's assignment.
	joinRespond func(*kmsg.JoinGroupResponse)
	joinVersion int16
	syncRespond func(*kmsg.SyncGroupResponse)
	syncVersion int16
}

func (m *member) awaitingJoin() bool { return m.joinRespond != nil }

// metadataFor returns the member's metadata for protocol name.
func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.Name == name {
			return p.Metadata
		}
	}
	return nil
}

// sameProtocols reports whether a rejoin changes nothing the leader assigns by.
func (m *member) sameProtocols(protocolType string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if m.protocolType != protocolType || len(m.protocols) != len(ps) {
		return false
	}
	for i := range ps {
		if m.protocols[i].Name != ps[i].Name || string(m.protocols[i].Metadata) != string(ps[i].Metadata) {
			return false
		}
	}
	return true
}

// topicPartition names a partition.
type topicPartition struct {
	topic     string
	partition int32
}

// Offset is a committed offset as stored and returned by OffsetFetch.
type Offset struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitTime  time.Time
}

// group is one group's state.
type group struct {
	name         string
	state        State
	stateSince   time.Time
	protocolType string
	protocol     string
	generation   int32
	leader       string

	members map[string]*member
	// order keeps member ids in join order so that every choice that
	// depends on iteration (leader election, member lists) is deterministic.
	order []string
	// statics maps a group.instance.id to the member id that holds it.
	statics map[string]string
	// pending holds member ids handed out with MEMBER_ID_REQUIRED that have
	// not joined yet, with the time after which they are forgotten.
	pending map[string]time.Time

	// rebalanceDeadline ends PreparingRebalance (members that have not
	// rejoined are removed) and CompletingRebalance (members that have
	// not synced are removed).
	rebalanceDeadline time.Time
	// initialDelayUntil, when set, holds the first rebalance of an empty
	// group open until then (group.initial.rebalance.delay.ms);
	// initialDelayLimit caps the extensions.
	initialDelayUntil time.Time
	initialDelayLimit time.Time
	// synced holds the members that sent SyncGroup this generation.
	synced map[string]bool

	offsets map[topicPartition]Offset
}

func newGroup(name string, now time.Time) *group {
	return &group{
		name:       name,
		state:      Empty,
		stateSince: now,
		members:    make(map[string]*member),
		statics:    make(map[string]string),
		pending:    make(map[string]time.Time),
		synced:     make(map[string]bool),
		offsets:    make(map[topicPartition]Offset),
	}
}

func (g *group) transition(s State, now time.Time) {
	g.state = s
	g.stateSince = now
}

func (g *group) add(m *member) {
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if m.instanceID != nil {
		g.statics[*m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
	delete(g.pending, m.id)
}

func (g *group) remove(id string) {
	m, ok := g.members[id]
	if !ok {
		return
	}
	delete(g.members, id)
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == id })
	if m.instanceID != nil && g.statics[*m.instanceID] == id {
		delete(g.statics, *m.instanceID)
	}
	delete(g.synced, id)
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// replace gives a static member a new member id, keeping its place.
func (g *group) replace(oldID, newID string) *member {
	m := g.members[oldID]
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	for i, id := range g.order {
		if id == oldID {
			g.order[i] = newID
		}
	}
	g.statics[*m.instanceID] = newID
	if g.leader == oldID {
		g.leader = newID
	}
	if g.synced[oldID] {
		delete(g.synced, oldID)
		g.synced[newID] = true
	}
	return m
}

// each calls fn for every member in join order.
func (g *group) each(fn func(*member)) {
	for _, id := range slices.Clone(g.order) {
		if m, ok := g.members[id]; ok {
			fn(m)
		}
	}
}

// supports reports whether a member joining with protocolType and protocols
// can be part of the group: the type matches and at least one protocol is
// one every current member also supports.
func (g *group) supports(protocolType string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if protocolType == "" || len(ps) == 0 {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range ps {
		if g.allSupport(p.Name) {
			return true
		}
	}
	return false
}

func (g *group) allSupport(name string) bool {
	for _, m := range g.members {
		if !hasProtocol(m.protocols, name) {
			return false
		}
	}
	return true
}

func hasProtocol(ps []kmsg.JoinGroupRequestProtocol, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol every member supports that most
// members list first among those candidates; ties go to the one the leader
// prefers.
func (g *group) selectProtocol() string {
	lead := g.members[g.leader]
	if lead == nil {
		return ""
	}
	var candidates []string
	for _, p := range lead.protocols {
		if g.allSupport(p.Name) {
			candidates = append(candidates, p.Name)
		}
	}
	votes := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best, bestVotes := "", -1
	for _, c := range candidates {
		if votes[c] > bestVotes {
			best, bestVotes = c, votes[c]
		}
	}
	return best
}

// rebalanceTimeout is the longest rebalance timeout of any member.
func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

func (g *group) allJoined() bool {
	if len(g.pending) > 0 {
		return false
	}
	for _, m := range g.members {
		if !m.awaitingJoin() {
			return false
		}
	}
	return true
}

// fenced reports whether a request naming instanceID comes from a member
// id other than the one that holds the instance id now.
func (g *group) fenced(memberID string, instanceID *string) bool {
	if instanceID == nil {
		return false
	}
	holder, ok := g.statics[*instanceID]
	return ok && holder != memberID
}

// joinMembers is the member list the leader receives.
func (g *group) joinMembers() []kmsg.JoinGroupResponseMember {
	var out []kmsg.JoinGroupResponseMember
	g.each(func(m *member) {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.InstanceID = m.instanceID
		jm.ProtocolMetadata = m.metadataFor(g.protocol)
		out = append(out, jm)
	})
	return out
}
