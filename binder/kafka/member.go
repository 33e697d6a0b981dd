package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/millstream/millstream/sdk/stream"
)

// member is one consumer: the result of one Subscribe call. It owns a kgo
// client, a poll goroutine (run), a committer goroutine and one goroutine per
// partition it holds.
//
// Three ways to get partitions:
//   - group: the Kafka group protocol assigns them (SubscriberConfig.Group
//     set, Partitions empty); offsets are committed through the group.
//   - assigned: SubscriberConfig.Partitions, or without a group every
//     partition of the topic, are consumed directly; with a group, offsets
//     are read from and committed to it with the admin API.
type member struct {
	s     *Subscriber
	topic string
	cl    *kgo.Client
	adm   *kadm.Client
	group bool // the group protocol assigns partitions
	out   chan *message.Message
	// handler, when not nil, is called with each message on its
	// partition's goroutine (SubscribeHandler); out is then unused. So is
	// deliveries, with each message's delivery (SubscribeDeliveries).
	handler    func(*message.Message) error
	deliveries func(stream.Delivery) error
	// dm is the DefaultMarshaler that makes the messages of deliveries on
	// demand; nil when the subscriber's Unmarshaler is another (the
	// messages are then made before delivery).
	dm *DefaultMarshaler
	// msgCtx carries the Subscribe context's values to messages, without
	// its cancellation.
	msgCtx   context.Context
	pollCtx  context.Context
	stopPoll context.CancelFunc
	done     chan struct{}

	// mu guards parts and closing. Lock order: member.mu before
	// partition.mu (lag takes both).
	mu      sync.Mutex
	parts   map[int32]*partition
	closing bool
	// workers counts the partition goroutines.
	workers sync.WaitGroup
	// assigned is closed after the first assignment of a group member.
	assigned     chan struct{}
	assignedOnce sync.Once
	// assignments counts group assignments (rebalances seen), for tests.
	assignments atomic.Int32
	// pauses counts the partitions paused for a full queue, for tests.
	pauses atomic.Int32
	// claims are the partitions an assigned member took (Subscriber.claim).
	claims []int32
	// room is signalled (without blocking) when a full partition queue
	// drains below MaxBufferedRecords or a partition goes: waitRoom waits
	// for it.
	room chan struct{}
}

// roomStall is the tick of waitRoom: a partition whose queue is full and
// that takes no record for one to two ticks has its fetching paused rather
// than waited for. A variable for tests.
var roomStall = 50 * time.Millisecond

func newMember(ctx context.Context, s *Subscriber, adm *kadm.Client, topic string, h func(*message.Message) error, hd func(stream.Delivery) error) (_ *member, err error) {
	cfg := &s.cfg
	m := &member{
		s:          s,
		topic:      topic,
		adm:        adm,
		handler:    h,
		deliveries: hd,
		group:      cfg.Group != "" && len(cfg.Partitions) == 0,
		out:        make(chan *message.Message),
		msgCtx:     context.WithoutCancel(ctx),
		done:       make(chan struct{}),
		parts:      make(map[int32]*partition),

		assigned: make(chan struct{}),
		room:     make(chan struct{}, 1),
	}
	if hd != nil {
		switch dm := cfg.Unmarshaler.(type) {
		case DefaultMarshaler:
			m.dm = &dm
		case *DefaultMarshaler:
			m.dm = dm
		}
	}
	m.pollCtx, m.stopPoll = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			m.stopPoll()
			s.unclaim(topic, m.claims)
		}
	}()
	opts, err := cfg.kgoOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.FetchMaxWait(cfg.FetchMaxWait))
	if m.group {
		reset := kgo.NewOffset().AtStart()
		if cfg.StartOffset == Latest {
			reset = kgo.NewOffset().AtEnd()
		}
		opts = append(opts,
			kgo.ConsumerGroup(cfg.Group),
			kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(reset),
			kgo.DisableAutoCommit(),
			// The Java client's default: range first (eager), so that a
			// new member gets its partitions in one rebalance.
			kgo.Balancers(kgo.RangeBalancer(), kgo.CooperativeStickyBalancer()),
			kgo.HeartbeatInterval(cfg.HeartbeatInterval),
			kgo.OnPartitionsAssigned(m.onAssigned),
			kgo.OnPartitionsRevoked(m.onRevoked),
			kgo.OnPartitionsLost(m.onLost),
		)
		if cfg.SessionTimeout > 0 {
			opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout))
		}
	}
	var offsets map[int32]kgo.Offset
	if !m.group {
		offsets, err = m.startOffsets(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	}
	m.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("new consumer client: %w", err)
	}
	if s.gate.IsShut() {
		m.cl.PauseFetchTopics(topic)
	}
	if !m.group {
		m.mu.Lock()
		for p := range offsets {
			m.startPartition(p)
		}
		m.mu.Unlock()
	}
	return m, nil
}

// startOffsets picks the partitions of an assigned member and where each
// starts: the group's committed offset if there is one, else the start
// offset. "latest" is resolved to a number now, so that a message sent
// after Subscribe returns is never missed.
func (m *member) startOffsets(ctx context.Context) (map[int32]kgo.Offset, error) {
	cfg := &m.s.cfg
	var ends kadm.ListedOffsets
	// A topic created a moment ago may not be known to every broker (or to
	// the client's metadata cache) yet: retry for a while.
	err := retryUnknownTopic(ctx, func() error {
		var err error
		if cfg.StartOffset == Latest {
			ends, err = m.adm.ListEndOffsets(ctx, m.topic)
		} else {
			ends, err = m.adm.ListStartOffsets(ctx, m.topic)
		}
		if err == nil {
			err = ends.Error()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	parts := cfg.Partitions
	if len(parts) == 0 {
		ends.Each(func(o kadm.ListedOffset) { parts = append(parts, o.Partition) })
		slices.Sort(parts)
	}
	for _, p := range parts {
		if _, ok := ends.Lookup(m.topic, p); !ok {
			return nil, fmt.Errorf("topic %s has no partition %d", m.topic, p)
		}
	}
	parts = m.s.claim(m.topic, parts)
	m.claims = parts
	var committed kadm.OffsetResponses
	if cfg.Group != "" {
		committed, err = m.adm.FetchOffsetsForTopics(ctx, cfg.Group, m.topic)
		if err == nil {
			err = committed.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("fetch offsets of group %s: %w", cfg.Group, err)
		}
	}
	out := make(map[int32]kgo.Offset, len(parts))
	for _, p := range parts {
		end, _ := ends.Lookup(m.topic, p)
		out[p] = kgo.NewOffset().At(end.Offset)
		if c, ok := committed.Lookup(m.topic, p); ok && c.At >= 0 {
			out[p] = kgo.NewOffset().At(c.At)
		}
	}
	return out, nil
}

// run polls until the Subscribe context ends or stop is called, then shuts
// the member down.
func (m *member) run() {
	defer close(m.done)
	defer m.s.removeMember(m)
	commitDone := make(chan struct{})
	go m.commitLoop(commitDone)
	for {
		m.waitRoom()
		fetches := m.cl.PollFetches(m.pollCtx)
		if m.pollCtx.Err() != nil || fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				m.s.log.Warn("kafka: fetch", "topic", t, "partition", p, "group", m.s.cfg.Group, "err", err)
			}
		})
		fetches.EachPartition(m.dispatch)
	}
	m.shutdown(commitDone)
}

// waitRoom holds up the next poll while a partition's queue is full, so
// that fetching follows the handlers without pausing partitions that keep
// up: a partition whose fetching is paused and resumed waits, once resumed,
// for any fetch in flight to return, and a fetch of idle partitions is held
// by the broker for up to FetchMaxWait. While the poll loop waits, the
// member's other partitions are not fetched either, so it waits only for
// partitions that will soon drain. Every roomStall it pauses (pop resumes
// it when half its queue is gone) each full partition that took no record
// since the last tick, or that at the rate it took them since then would
// still be full when the wait reaches FetchMaxWait; and every full
// partition once it has. So a partition that holds the others up for more
// than two ticks is one expected to drain before FetchMaxWait.
func (m *member) waitRoom() {
	var (
		tick     *time.Ticker
		deadline time.Time
		seen     map[*partition]uint64 // records taken by the last tick
	)
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	limit := m.s.cfg.MaxBufferedRecords
	for {
		full := m.fullPartitions()
		if len(full) == 0 {
			return
		}
		if tick == nil {
			tick = time.NewTicker(roomStall)
			deadline = time.Now().Add(m.s.cfg.FetchMaxWait)
			seen = make(map[*partition]uint64, len(full))
		}
		select {
		case <-m.room:
		case <-m.pollCtx.Done():
			return
		case now := <-tick.C:
			left := deadline.Sub(now)
			for _, p := range full {
				queued, n := p.queued()
				if queued < limit {
					continue
				}
				last, ok := seen[p]
				seen[p] = n
				if !ok && left > 0 {
					continue // no rate yet
				}
				// Records it would take before the deadline at the rate
				// of the last tick, against those it must take.
				rate := float64(n-last) / roomStall.Seconds()
				if left <= 0 || n == last || rate*left.Seconds() < float64(queued-limit+1) {
					p.pauseFetch()
				}
			}
		}
	}
}

// fullPartitions returns the partitions whose queues are full while their
// fetching is not paused.
func (m *member) fullPartitions() []*partition {
	m.mu.Lock()
	defer m.mu.Unlock()
	var full []*partition
	for _, p := range m.parts {
		if queued, _ := p.queued(); queued >= m.s.cfg.MaxBufferedRecords {
			full = append(full, p)
		}
	}
	return full
}

// roomMade wakes waitRoom.
func (m *member) roomMade() {
	select {
	case m.room <- struct{}{}:
	default:
	}
}

// stop makes run end. It does not wait: <-m.done does.
func (m *member) stop() { m.stopPoll() }

func (m *member) dispatch(ftp kgo.FetchTopicPartition) {
	if ftp.Topic != m.topic || (len(ftp.Records) == 0 && ftp.HighWatermark == 0) {
		return
	}
	m.mu.Lock()
	p := m.parts[ftp.Partition]
	m.mu.Unlock()
	if p == nil {
		return // revoked since the fetch
	}
	p.push(ftp.Records, ftp.HighWatermark)
}

// startPartition starts the goroutine of partition id. m.mu is held.
func (m *member) startPartition(id int32) {
	if m.closing || m.parts[id] != nil {
		return
	}
	p := newPartition(m, id)
	m.parts[id] = p
	m.workers.Add(1)
	go p.run()
}

func (m *member) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range assigned[m.topic] {
		m.startPartition(id)
	}
	m.assignments.Add(1)
	m.assignedOnce.Do(func() { close(m.assigned) })
}

// waitAssigned waits for a group member's first assignment, at most d.
func (m *member) waitAssigned(ctx context.Context, d time.Duration) {
	if !m.group || d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.assigned:
	case <-ctx.Done():
	case <-m.done:
	case <-t.C:
		m.s.log.Warn("kafka: group member has no partitions yet (the group may be waiting out a dead member's session timeout); going on, delivery starts once they arrive",
			"topic", m.topic, "group", m.s.cfg.Group, "waited", d)
	}
}

func (m *member) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	m.release(ctx, revoked[m.topic], true)
}

func (m *member) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	m.release(ctx, lost[m.topic], false)
}

// release stops the partitions ids and waits for them; with commit, it
// waits up to RevokeTimeout for delivered messages and commits what was
// acked.
func (m *member) release(ctx context.Context, ids []int32, commit bool) {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return
	}
	var ps []*partition
	for _, id := range ids {
		if p := m.parts[id]; p != nil {
			ps = append(ps, p)
			delete(m.parts, id)
		}
	}
	m.mu.Unlock()
	if len(ps) == 0 {
		return
	}
	m.roomMade() // the poll loop no longer waits for them
	expired := make(chan struct{})
	if !commit {
		close(expired)
	} else {
		t := time.AfterFunc(m.s.cfg.RevokeTimeout, func() { close(expired) })
		defer t.Stop()
	}
	for _, p := range ps {
		p.stop(expired)
	}
	resume := make(map[string][]int32)
	for _, p := range ps {
		p.wait(expired)
		if p.unpause() {
			resume[m.topic] = append(resume[m.topic], p.id)
		}
	}
	if len(resume) > 0 {
		m.cl.ResumeFetchPartitions(resume)
	}
	if commit {
		m.commit(ctx, ps)
	}
}

// shutdown stops every partition, waits up to CloseTimeout for delivered
// messages, commits, and closes the client and the channel.
func (m *member) shutdown(commitDone chan struct{}) {
	m.mu.Lock()
	m.closing = true
	ps := make([]*partition, 0, len(m.parts))
	for _, p := range m.parts {
		ps = append(ps, p)
	}
	m.mu.Unlock()
	expired := make(chan struct{})
	wait := m.s.cfg.CloseTimeout
	crashed := m.s.crashed.Load()
	if crashed {
		wait = 0
	}
	t := time.AfterFunc(wait, func() { close(expired) })
	for _, p := range ps {
		p.stop(expired)
	}
	m.waitWorkers(expired)
	t.Stop()
	<-commitDone
	if !crashed {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m.commit(ctx, ps)
		cancel()
	}
	m.cl.Close()
	close(m.out)
}

// calls reports whether the member calls a handler (SubscribeHandler,
// SubscribeDeliveries) rather than handing messages out.
func (m *member) calls() bool { return m.handler != nil || m.deliveries != nil }

// waitWorkers waits for the partition goroutines to end. A handler call
// (SubscribeHandler, SubscribeDeliveries) that has not returned when
// expired is closed is left running: its message context is canceled, and
// its ack comes too late to be committed.
func (m *member) waitWorkers(expired <-chan struct{}) {
	if !m.calls() {
		m.workers.Wait() // they end soon after expired
		return
	}
	done := make(chan struct{})
	go func() {
		m.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-expired:
	}
}

// commitLoop commits acked offsets every CommitInterval until the poll
// context ends; it closes done when it returns.
func (m *member) commitLoop(done chan struct{}) {
	defer close(done)
	if m.s.cfg.Group == "" {
		return
	}
	tick := time.NewTicker(m.s.cfg.CommitInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.pollCtx.Done():
			return
		case <-tick.C:
		}
		m.mu.Lock()
		ps := make([]*partition, 0, len(m.parts))
		for _, p := range m.parts {
			ps = append(ps, p)
		}
		m.mu.Unlock()
		m.commit(m.pollCtx, ps)
	}
}

// commit commits the acked offsets of ps that are not committed yet.
func (m *member) commit(ctx context.Context, ps []*partition) {
	if m.s.cfg.Group == "" {
		return
	}
	type pending struct {
		p  *partition
		eo kgo.EpochOffset
	}
	var todo []pending
	for _, p := range ps {
		if eo, ok := p.uncommitted(); ok {
			todo = append(todo, pending{p, eo})
		}
	}
	if len(todo) == 0 {
		return
	}
	var err error
	if m.group {
		offsets := make(map[int32]kgo.EpochOffset, len(todo))
		for _, t := range todo {
			offsets[t.p.id] = t.eo
		}
		m.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{m.topic: offsets},
			func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, e error) {
				err = e
				if e != nil {
					return
				}
				for _, t := range resp.Topics {
					for _, p := range t.Partitions {
						if pe := kerr.ErrorForCode(p.ErrorCode); pe != nil {
							err = fmt.Errorf("partition %d: %w", p.Partition, pe)
						}
					}
				}
			})
	} else {
		os := make(kadm.Offsets)
		for _, t := range todo {
			os.Add(kadm.Offset{Topic: m.topic, Partition: t.p.id, At: t.eo.Offset, LeaderEpoch: t.eo.Epoch})
		}
		var resps kadm.OffsetResponses
		resps, err = m.adm.CommitOffsets(ctx, m.s.cfg.Group, os)
		if err == nil {
			err = resps.Error()
		}
	}
	if err != nil {
		ids := make([]int32, len(todo))
		for i, t := range todo {
			ids[i] = t.p.id
		}
		slices.Sort(ids)
		m.s.log.Warn("kafka: commit offsets", "topic", m.topic, "group", m.s.cfg.Group, "partitions", ids, "err", err)
		return
	}
	for _, t := range todo {
		t.p.committedUpTo(t.eo.Offset)
	}
}

// lag returns the lag of each partition the member holds.
func (m *member) lag() map[int32]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[int32]int64, len(m.parts))
	for id, p := range m.parts {
		out[id] = p.lag()
	}
	return out
}

// retryUnknownTopic calls fn until it does not fail with an unknown topic or
// a missing leader, for up to 10s.
func retryUnknownTopic(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	wait := 10 * time.Millisecond
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) ||
			!(errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, kerr.LeaderNotAvailable) || errors.Is(err, kerr.NotLeaderForPartition)) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}
