package server

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch sessions (KIP-227, Fetch v7+) let a consumer stop repeating every
// partition in every fetch. A fetch with session id 0 and epoch 0 is a full
// fetch that opens a session: the broker remembers the partitions and
// their fetch offsets and answers with the session id. The client then
// sends incremental fetches (the session id and the next epoch, counting
// from 1) listing only partitions that are new or whose fetch offset or
// max bytes changed, and ForgottenTopics for those it drops; the answer
// lists only partitions with records, an error, or a high watermark, last
// stable offset or log start offset that changed since the session last
// reported them. Epoch -1 (with id 0) asks for a full fetch without a
// session and closes the named session, if any.
//
//	| request                 | broker                                          |
//	|-------------------------|-------------------------------------------------|
//	| id 0, epoch -1          | full fetch, no session                          |
//	| id 0, epoch 0           | full fetch, opens a session (id 0 if none free) |
//	| id N, epoch 0 or -1     | closes N, then as above                         |
//	| id N, epoch E > 0       | incremental fetch if N expects E                |
//	| unknown N               | FETCH_SESSION_ID_NOT_FOUND                      |
//	| N expects another epoch | INVALID_FETCH_SESSION_EPOCH                     |
//
// At most maxFetchSessions are kept (Kafka's
// max.incremental.fetch.session.cache.slots); opening one more evicts the
// least recently used, whose client then gets FETCH_SESSION_ID_NOT_FOUND
// and starts over with a full fetch.

// maxFetchSessions bounds the fetch session cache.
const maxFetchSessions = 1000

// fetchTarget is one partition a fetch reads.
type fetchTarget struct {
	topic     string
	partition int32
	offset    int64
	maxBytes  int32
}

// sessionPart is a partition of a fetch session and what the session last
// reported for it.
type sessionPart struct {
	target            fetchTarget
	hw, lso, logStart int64
	reported          bool
}

// fetchSession is one client's fetch session.
type fetchSession struct {
	id int32
	// mu guards the fields below. A client sends one fetch of a session at
	// a time; the lock only keeps a misbehaving one from corrupting it.
	mu       sync.Mutex
	epoch    int32 // the epoch the next incremental fetch must carry
	parts    []*sessionPart
	lastUsed time.Time
}

// fetchSessions is the broker's session cache.
type fetchSessions struct {
	// mu guards next and byID. Lock order: fetchSessions.mu before a
	// session's mu.
	mu   sync.Mutex
	next int32
	byID map[int32]*fetchSession
}

// open creates a session over targets, evicting the least recently used
// session when the cache is full.
func (c *fetchSessions) open(targets []fetchTarget, now time.Time) *fetchSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = map[int32]*fetchSession{}
	}
	if len(c.byID) >= maxFetchSessions {
		var oldest *fetchSession
		for _, s := range c.byID {
			if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
				oldest = s
			}
		}
		delete(c.byID, oldest.id)
	}
	for {
		c.next++
		if c.next <= 0 {
			c.next = 1
		}
		if _, used := c.byID[c.next]; !used {
			break
		}
	}
	s := &fetchSession{id: c.next, epoch: 1, lastUsed: now}
	for _, t := range targets {
		s.parts = append(s.parts, &sessionPart{target: t})
	}
	c.byID[s.id] = s
	return s
}

// get returns the session with id, or nil.
func (c *fetchSessions) get(id int32, now time.Time) *fetchSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.byID[id]
	if s != nil {
		s.lastUsed = now
	}
	return s
}

// close forgets the session with id.
func (c *fetchSessions) close(id int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byID, id)
}

// count returns how many sessions are open.
func (c *fetchSessions) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}

// fetchPlan is what one fetch reads and, with a session, how its answer is
// cut down and recorded.
type fetchPlan struct {
	targets     []fetchTarget
	session     *fetchSession // nil: no session
	incremental bool
}

// requestTargets lists the partitions a fetch request names, in order.
func requestTargets(req *kmsg.FetchRequest) []fetchTarget {
	var out []fetchTarget
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			out = append(out, fetchTarget{topic: rt.Topic, partition: rp.Partition, offset: rp.FetchOffset, maxBytes: rp.PartitionMaxBytes})
		}
	}
	return out
}

// planFetch resolves a fetch request against the session cache. A non-nil
// error code is a session error to answer with at once.
func (s *Server) planFetch(req *kmsg.FetchRequest) (fetchPlan, *kerr.Error) {
	targets := requestTargets(req)
	if req.Version < 7 {
		return fetchPlan{targets: targets}, nil
	}
	now := time.Now()
	switch {
	case req.SessionEpoch == -1 || req.SessionEpoch == 0:
		if req.SessionID != 0 {
			s.sessions.close(req.SessionID)
		}
		if req.SessionEpoch == -1 {
			return fetchPlan{targets: targets}, nil
		}
		return fetchPlan{targets: targets, session: s.sessions.open(targets, now)}, nil
	case req.SessionEpoch < -1:
		return fetchPlan{}, kerr.InvalidFetchSessionEpoch
	}
	sess := s.sessions.get(req.SessionID, now)
	if sess == nil {
		return fetchPlan{}, kerr.FetchSessionIDNotFound
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if req.SessionEpoch != sess.epoch {
		return fetchPlan{}, kerr.InvalidFetchSessionEpoch
	}
	if sess.epoch == math.MaxInt32 {
		sess.epoch = 1
	} else {
		sess.epoch++
	}
	forgotten := map[fetchTarget]bool{}
	for _, ft := range req.ForgottenTopics {
		for _, p := range ft.Partitions {
			forgotten[fetchTarget{topic: ft.Topic, partition: p}] = true
		}
	}
	kept := sess.parts[:0]
	for _, p := range sess.parts {
		if !forgotten[fetchTarget{topic: p.target.topic, partition: p.target.partition}] {
			kept = append(kept, p)
		}
	}
	sess.parts = kept
	index := make(map[fetchTarget]*sessionPart, len(sess.parts))
	for _, p := range sess.parts {
		index[fetchTarget{topic: p.target.topic, partition: p.target.partition}] = p
	}
	for _, t := range targets {
		if p := index[fetchTarget{topic: t.topic, partition: t.partition}]; p != nil {
			p.target = t
		} else {
			// After the topic's other partitions, so that the response
			// names each topic once.
			at := len(sess.parts)
			for i, p := range sess.parts {
				if p.target.topic == t.topic {
					at = i + 1
				}
			}
			p := &sessionPart{target: t}
			sess.parts = slices.Insert(sess.parts, at, p)
			index[fetchTarget{topic: t.topic, partition: t.partition}] = p
		}
	}
	plan := fetchPlan{session: sess, incremental: true}
	for _, p := range sess.parts {
		plan.targets = append(plan.targets, p.target)
	}
	return plan, nil
}

// finish sets the session id of resp and, for an incremental fetch, drops
// the partitions with nothing new; it records what the session reported.
func (f fetchPlan) finish(resp *kmsg.FetchResponse) *kmsg.FetchResponse {
	if f.session == nil {
		return resp
	}
	sess := f.session
	sess.mu.Lock()
	defer sess.mu.Unlock()
	resp.SessionID = sess.id
	byKey := make(map[fetchTarget]*sessionPart, len(sess.parts))
	for _, p := range sess.parts {
		byKey[fetchTarget{topic: p.target.topic, partition: p.target.partition}] = p
	}
	topics := resp.Topics[:0]
	for _, t := range resp.Topics {
		parts := t.Partitions[:0]
		for _, rp := range t.Partitions {
			sp := byKey[fetchTarget{topic: t.Topic, partition: rp.Partition}]
			changed := sp == nil || !sp.reported || len(rp.RecordBatches) > 0 || rp.ErrorCode != 0 ||
				rp.HighWatermark != sp.hw || rp.LastStableOffset != sp.lso || rp.LogStartOffset != sp.logStart
			if sp != nil {
				sp.hw, sp.lso, sp.logStart, sp.reported = rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset, true
			}
			if changed || !f.incremental {
				parts = append(parts, rp)
			}
		}
		if len(parts) > 0 {
			t.Partitions = parts
			topics = append(topics, t)
		}
	}
	resp.Topics = topics
	return resp
}
