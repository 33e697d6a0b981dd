package group

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"slices"
	"time"
)

// Clock tells the coordinator the time. Tests pass a manual clock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Coordinator is the deterministic group coordinator; see the package doc.
//
// A Coordinator is not safe for concurrent use: the caller serializes every
// method call (the [Service] does so with one mutex). Respond functions
// passed to JoinGroup and SyncGroup are called from inside later method
// calls, with the caller's serialization held, so they must not block or
// call back into the Coordinator; handing the response to a channel with
// room for it is the usual way.
type Coordinator struct {
	opts   Options
	clock  Clock
	log    *slog.Logger
	groups map[string]*group

	// records queues encoded changes for TakeRecords.
	records []Record

	nextExpiryCheck time.Time
	// newMemberID makes member ids; tests replace it for stable ids.
	newMemberID func(clientID string) string
}

// New returns a Coordinator with no groups. opts is copied and its zero
// fields defaulted; a nil logger discards logs.
func New(opts Options, clock Clock, log *slog.Logger) *Coordinator {
	opts.EnsureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = SystemClock{}
	}
	return &Coordinator{
		opts:        opts,
		clock:       clock,
		log:         log,
		groups:      make(map[string]*group),
		newMemberID: randomMemberID,
	}
}

// randomMemberID follows Kafka's form: the client id, a dash and a UUID.
func randomMemberID(clientID string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return clientID + "-" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// TakeRecords returns the records queued since the last call and forgets
// them. The caller owns the returned slice and must append the records to
// the internal log in this order.
func (c *Coordinator) TakeRecords() []Record {
	r := c.records
	c.records = nil
	return r
}

// Tick acts on every deadline that has passed: members whose session timed
// out are removed, rebalances whose timeout or initial delay ran out are
// completed, member ids handed out with MEMBER_ID_REQUIRED and never used
// are forgotten, and expired offsets are removed. Call it often (every
// 100ms-1s); how often bounds how late a timeout is noticed.
func (c *Coordinator) Tick() {
	now := c.clock.Now()
	for _, name := range c.sortedGroupNames() {
		g := c.groups[name]
		c.tickGroup(g, now)
	}
	if c.nextExpiryCheck.IsZero() {
		c.nextExpiryCheck = now.Add(c.opts.OffsetsRetentionCheckInterval)
	}
	if !now.Before(c.nextExpiryCheck) {
		c.nextExpiryCheck = now.Add(c.opts.OffsetsRetentionCheckInterval)
		c.expireOffsets(now)
	}
}

func (c *Coordinator) tickGroup(g *group, now time.Time) {
	for id, until := range g.pending {
		if !now.Before(until) {
			delete(g.pending, id)
		}
	}
	// Members waiting in a JoinGroup are held by the rebalance timeout,
	// not the session timeout, as in Kafka.
	g.each(func(m *member) {
		if m.awaitingJoin() || m.syncRespond != nil {
			return
		}
		if !now.Before(m.lastHeartbeat.Add(m.sessionTimeout)) {
			c.log.Info("group member session timed out", "group", g.name, "member", m.id, "timeout", m.sessionTimeout)
			c.removeMember(g, m, now)
		}
	})
	switch g.state {
	case PreparingRebalance:
		if !g.initialDelayUntil.IsZero() {
			if !now.Before(g.initialDelayUntil) {
				g.initialDelayUntil = time.Time{}
				c.completeJoin(g, now)
			}
			return
		}
		if !now.Before(g.rebalanceDeadline) {
			c.completeJoin(g, now)
		} else {
			c.tryCompleteJoin(g, now)
		}
	case CompletingRebalance:
		if !now.Before(g.rebalanceDeadline) {
			// The leader never sent its assignment: drop whoever did
			// not sync and start over.
			var late []*member
			g.each(func(m *member) {
				if !g.synced[m.id] {
					late = append(late, m)
				}
			})
			for _, m := range late {
				c.log.Info("group member did not sync in time", "group", g.name, "member", m.id)
				c.removeMember(g, m, now)
			}
			if g.state == CompletingRebalance {
				c.prepareRebalance(g, now)
			}
		}
	}
}

func (c *Coordinator) sortedGroupNames() []string {
	return slices.Sorted(maps.Keys(c.groups))
}

// getOrCreate returns the named group, creating an Empty one if needed.
func (c *Coordinator) getOrCreate(name string, now time.Time) *group {
	g, ok := c.groups[name]
	if !ok {
		g = newGroup(name, now)
		c.groups[name] = g
	}
	return g
}
