package kafka

import (
	"context"
	"errors"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/sdk/stream"
)

// partition delivers the records of one partition, one at a time: the next
// record goes out only after the one before it was acked. Its goroutine
// (run) is started by the member and ends after stop.
//
// Each message carries a [stream.CommitHold]. An acked record whose hold
// has outputs pending (the SDK published them asynchronously) no longer
// blocks the next record, but waits in held: the committable offset (acked)
// moves past a record only when it and every record before it are settled.
// An output that fails rewinds the partition to its record: that record and
// every later one held or in hand are queued again, in order.
type partition struct {
	m  *member
	id int32

	// wake is signalled (without blocking) when records are pushed.
	wake chan struct{}
	// stopc is closed by stop: deliver nothing new.
	stopc chan struct{}
	// expired is set before stopc is closed, and is closed when the wait
	// for a delivered message's ack is over.
	expired <-chan struct{}
	// done is closed when run returned.
	done chan struct{}
	// ctx ends the messages' contexts (newDelivery); it is canceled
	// once the wait for a delivered message after stop is over.
	ctx    context.Context
	cancel context.CancelFunc
	// msgParent is ctx without its cancellation, the parent of each
	// message's context (see newDelivery).
	msgParent context.Context
	// inCall is the context of the message whose handler call is in
	// progress (SubscribeHandler, SubscribeDeliveries), ended for a call
	// that ends in runtime.Goexit. Only the partition's goroutine uses it.
	inCall *recordContext

	// mu guards the fields below.
	mu sync.Mutex
	// last is the context of the message delivered last, which the end of
	// ctx ends.
	last  *recordContext
	queue []*kgo.Record
	// fetchPaused: the member paused fetching this partition because the
	// queue stayed full (member.waitRoom).
	fetchPaused bool
	// popped counts the records taken from the queue, so that the member
	// sees whether a full queue drains.
	popped uint64
	// released: the member let the partition go (unpause); its fetching
	// is not paused again.
	released bool
	// hw is the high watermark of the last fetch; first the offset of the
	// first record seen (-1: none yet); acked the offset after the last
	// acked record (-1: none); committed the last committed offset.
	hw, first, acked, committed int64
	epoch                       int32
	// held are the acked records whose offsets are not committable yet,
	// in offset order: their outputs, or those of a record before them,
	// are pending.
	held []*heldRecord
	// heldEmpty, when not nil, is closed once held is empty.
	heldEmpty chan struct{}
	// current is the record being handed out or awaited; rewinds counts
	// rewinds, so that a record put back by one is not acked again.
	current *kgo.Record
	rewinds uint64
	// rewound is closed (and replaced) by each rewind, so that a record
	// on its way to the handler when it was put back is not handed out.
	rewound chan struct{}
}

// heldRecord is an acked record waiting for its outputs.
type heldRecord struct {
	rec     *kgo.Record
	settled bool
	dropped bool // put back by a rewind
}

func newPartition(m *member, id int32) *partition {
	p := &partition{
		m: m, id: id,
		wake: make(chan struct{}, 1), stopc: make(chan struct{}), done: make(chan struct{}),
		first: -1, acked: -1, committed: -1, epoch: -1,
		rewound: make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(m.msgCtx)
	p.msgParent = context.WithoutCancel(p.ctx)
	context.AfterFunc(p.ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.last != nil {
			p.last.end()
		}
	})
	return p
}

// newDelivery returns the delivery of rec, whose message, when not nil, was
// made already. Its context holds the partition context's values and ends
// when the partition is done with it (recordContext.end) or the partition's
// context ends. Unlike a context.WithCancel of the partition's context it
// is not registered with it (a lock and a map entry for every message, both
// shared by the partition's messages): the partition ends the context of
// the message it delivered last itself.
func (p *partition) newDelivery(rec *kgo.Record, msg *message.Message) *delivery {
	d := &delivery{rc: recordContext{Context: p.msgParent, rec: rec}, msg: msg, dm: p.m.dm}
	if msg != nil {
		msg.SetContext(&d.rc)
	}
	p.mu.Lock()
	p.last = &d.rc
	p.mu.Unlock()
	if p.ctx.Err() != nil { // ended before last was set
		d.rc.end()
	}
	return d
}

// push queues fetched records. A queue that reaches MaxBufferedRecords
// holds up the member's next poll (member.waitRoom) until it drains below
// that, or until the member pauses fetching the partition; pop resumes a
// paused partition once half the queue is gone.
func (p *partition) push(recs []*kgo.Record, hw int64) {
	p.mu.Lock()
	if hw > p.hw {
		p.hw = hw
	}
	if len(recs) > 0 && p.first < 0 {
		p.first = recs[0].Offset
	}
	p.queue = append(p.queue, recs...)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pop takes the next record, waiting for one, and makes it current; nil
// after stop. seq identifies the rewind it belongs to.
func (p *partition) pop() (rec *kgo.Record, seq uint64) {
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			rec := p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			p.popped++
			limit := p.m.s.cfg.MaxBufferedRecords
			if p.fetchPaused && len(p.queue) <= limit/2 {
				p.fetchPaused = false
				p.m.cl.ResumeFetchPartitions(map[string][]int32{p.m.topic: {p.id}})
			} else if len(p.queue) == limit-1 {
				p.m.roomMade() // it may be what the poll loop waits for
			}
			p.current = rec
			seq := p.rewinds
			p.mu.Unlock()
			return rec, seq
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-p.stopc:
			return nil, 0
		}
	}
}

func (p *partition) run() { p.loop(false) }

// loop delivers records until stop; again: it follows a goroutine that
// ended in a handler's runtime.Goexit, and waits NackResendDelay first.
func (p *partition) loop(again bool) {
	returned := false
	defer func() {
		if !returned {
			if r := recover(); r != nil {
				panic(r) // not a handler's: handler panics are recovered in call
			}
			// A handler called runtime.Goexit (SubscribeHandler,
			// SubscribeDeliveries): this goroutine ends, the partition
			// goes on in a new one.
			if p.inCall != nil {
				p.inCall.end()
				p.inCall = nil
			}
			p.requeueCurrent()
			go p.loop(true)
			return
		}
		p.drainHeld()
		close(p.done)
		p.m.workers.Done()
	}()
	if again && !p.sleep(p.m.s.cfg.NackResendDelay) {
		returned = true
		return
	}
	for {
		rec, seq := p.pop()
		if rec == nil || !p.deliver(rec, seq) {
			returned = true
			return
		}
	}
}

// requeueCurrent puts the record in hand back at the head of the queue,
// after a handler's runtime.Goexit, as a nack would: it comes again after
// NackResendDelay.
func (p *partition) requeueCurrent() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current == nil {
		return
	}
	rec := p.current
	p.current = nil
	p.queue = append([]*kgo.Record{rec}, p.queue...)
	p.m.s.log.Error("kafka: the handler called runtime.Goexit; the message comes again",
		"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset)
}

// drainHeld waits, after stop, until every held record settled or the wait
// for delivered messages expired, so that the last commit covers them.
func (p *partition) drainHeld() {
	p.mu.Lock()
	if len(p.held) == 0 {
		p.mu.Unlock()
		return
	}
	if p.heldEmpty == nil {
		p.heldEmpty = make(chan struct{})
	}
	empty := p.heldEmpty
	p.mu.Unlock()
	select {
	case <-empty:
	case <-p.expired:
	}
}

// rewound reports whether a rewind put back the record popped with seq.
func (p *partition) isRewound(seq uint64) (bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rewinds != seq, p.rewound
}

// deliver sends rec until it is acked. It returns false when the partition
// was stopped.
func (p *partition) deliver(rec *kgo.Record, seq uint64) bool {
	cfg := &p.m.s.cfg
	for {
		again, rewound := p.isRewound(seq)
		if again {
			return true // rec is queued again
		}
		// A delivery's message is made when it is asked for, by the
		// DefaultMarshaler, which cannot fail.
		var msg *message.Message
		if p.m.dm == nil {
			var err error
			if msg, err = cfg.Unmarshaler.Unmarshal(rec); err == nil && msg == nil {
				err = errors.New("the unmarshaler returned no message")
			}
			if err != nil {
				// A record that can never become a message would block
				// the partition forever: log it and move past it.
				p.m.s.log.Error("kafka: cannot unmarshal record; skipping it",
					"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
				p.ack(rec, seq, nil, nil)
				return true
			}
		}
		d := p.newDelivery(rec, msg)
		rc := &d.rc
		hold := &rc.hold
		var acked, stopped bool
		if p.m.calls() {
			if ok, stop := p.enter(rewound); !ok {
				rc.end()
				if stop {
					return false
				}
				continue
			}
			p.inCall = rc
			acked = p.call(d)
			p.inCall = nil
			rc.end()
			select {
			case <-p.stopc:
				stopped = true
			default:
			}
		} else {
			if sent, stop := p.handOut(msg, rewound); !sent {
				rc.end()
				if stop {
					return false
				}
				continue
			}
			acked, stopped = p.await(msg)
			rc.end()
		}
		if acked {
			p.ack(rec, seq, hold, &rc.held)
		}
		if stopped {
			return false
		}
		if acked {
			return true
		}
		if !p.sleep(cfg.NackResendDelay) {
			return false
		}
	}
}

// sleep waits d; false when the partition was stopped first.
func (p *partition) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stopc:
		return false
	}
}

// handOut sends msg to the consumer while the subscriber is not paused. It
// gives up (sent false, stopped false) when a pause begins first, so that
// the caller waits for the resume and makes a fresh message, or when a
// rewind put msg's record back (rewound closed).
func (p *partition) handOut(msg *message.Message, rewound <-chan struct{}) (sent, stopped bool) {
	g := p.m.s.gate
	for {
		shut, ok := g.Enter()
		if !ok {
			select {
			case <-g.Wait():
				continue
			case <-rewound:
				return false, false
			case <-p.stopc:
				return false, true
			}
		}
		select {
		case p.m.out <- msg:
			g.Leave()
			return true, false
		case <-shut:
			g.Leave()
			return false, false
		case <-rewound:
			g.Leave()
			return false, false
		case <-p.stopc:
			g.Leave()
			return false, true
		}
	}
}

// enter waits until the subscriber is not paused, for a handler call
// (SubscribeHandler, SubscribeDeliveries). It gives up (ok false) when a
// rewind put the record back (rewound closed), and when the partition was
// stopped (stopped too).
// The call counts as handed out once enter returns: a Pause that returns
// after that does not hold it.
func (p *partition) enter(rewound <-chan struct{}) (ok, stopped bool) {
	g := p.m.s.gate
	for {
		select {
		case <-p.stopc:
			return false, true
		default:
		}
		if !g.IsShut() { // nothing is handed out here: no Enter and Leave
			return true, false
		}
		select {
		case <-g.Wait():
		case <-rewound:
			return false, false
		case <-p.stopc:
			return false, true
		}
	}
}

// call runs the member's handler on d: its message (SubscribeHandler), or
// d itself (SubscribeDeliveries). It acks or nacks d's message, if there is
// one, by the result: true when acked. A panic in the handler nacks it and
// is logged.
func (p *partition) call(d *delivery) (acked bool) {
	defer func() {
		if r := recover(); r != nil {
			id := ""
			if d.msg != nil {
				id = d.msg.UUID
				d.msg.Nack()
			}
			p.m.s.log.Error("kafka: the handler panicked; the message comes again",
				"topic", p.m.topic, "partition", p.id, "offset", d.rc.rec.Offset, "message", id, "panic", r, "stack", string(debug.Stack()))
			acked = false
		}
	}()
	var err error
	if h := p.m.deliveries; h != nil {
		err = h(d)
	} else {
		err = p.m.handler(d.msg)
	}
	if err != nil {
		if d.msg != nil {
			d.msg.Nack()
		}
		return false
	}
	return d.msg == nil || d.msg.Ack() // false when the chain nacked the message itself
}

// await waits for msg's ack or nack. After stop it waits until expired.
func (p *partition) await(msg *message.Message) (acked, stopped bool) {
	select {
	case <-msg.Acked():
		return true, false
	case <-msg.Nacked():
		return false, false
	case <-p.stopc:
	}
	select {
	case <-msg.Acked():
		return true, true
	case <-msg.Nacked():
	case <-p.expired:
	}
	return false, true
}

// stop ends delivery; a delivered message is waited for until expired.
func (p *partition) stop(expired <-chan struct{}) {
	p.expired = expired
	close(p.stopc)
	go func() {
		select {
		case <-expired:
		case <-p.done:
		}
		p.cancel()
	}()
}

// wait waits for run to end after stop. A handler call (SubscribeHandler,
// SubscribeDeliveries) still running when expired is closed is not waited
// for.
func (p *partition) wait(expired <-chan struct{}) {
	if !p.m.calls() {
		<-p.done // it ends soon after expired
		return
	}
	select {
	case <-p.done:
	case <-expired:
	}
}

// ack records that rec (popped with seq) was acked. Its offset becomes
// committable once hold (nil: none) settles and the records before it
// have; a failed output rewinds the partition to rec. h, when not nil, is
// the room for rec's place among the held records (its recordContext's).
func (p *partition) ack(rec *kgo.Record, seq uint64, hold *stream.CommitHold, h *heldRecord) {
	p.mu.Lock()
	if p.rewinds != seq {
		p.mu.Unlock()
		return // put back by a rewind: it comes again
	}
	p.current = nil
	if len(p.held) == 0 && (hold == nil || hold.Pending() == 0 && hold.Err() == nil) {
		p.acked = rec.Offset + 1
		p.epoch = rec.LeaderEpoch
		p.mu.Unlock()
		return
	}
	if h == nil {
		h = &heldRecord{}
	}
	h.rec = rec
	p.held = append(p.held, h)
	p.mu.Unlock()
	if hold == nil {
		p.settle(h, nil)
		return
	}
	hold.Settled(func(err error) { p.settle(h, err) })
}

// settle ends the wait of a held record: committable once those before it
// are, or, when its output failed, the start of a rewind.
func (p *partition) settle(h *heldRecord, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h.dropped {
		return
	}
	if err != nil {
		p.rewindLocked(h, err)
		return
	}
	h.settled = true
	i := 0
	for ; i < len(p.held) && p.held[i].settled; i++ {
		p.acked = p.held[i].rec.Offset + 1
		p.epoch = p.held[i].rec.LeaderEpoch
		p.held[i] = nil
	}
	p.held = p.held[i:]
	if len(p.held) == 0 && p.heldEmpty != nil {
		close(p.heldEmpty)
		p.heldEmpty = nil
	}
}

// rewindLocked queues h's record again, with the held records after it and
// the current one, ahead of what was fetched: they are delivered again in
// order, and nothing from h on is committed before they are acked again.
func (p *partition) rewindLocked(h *heldRecord, err error) {
	i := slices.Index(p.held, h)
	if i < 0 {
		return
	}
	recs := make([]*kgo.Record, 0, len(p.held)-i+1+len(p.queue))
	for _, x := range p.held[i:] {
		x.dropped = true
		recs = append(recs, x.rec)
	}
	clear(p.held[i:])
	p.held = p.held[:i]
	if p.current != nil {
		recs = append(recs, p.current)
		p.current = nil
	}
	p.queue = append(recs, p.queue...)
	p.rewinds++
	close(p.rewound)
	p.rewound = make(chan struct{})
	if len(p.held) == 0 && p.heldEmpty != nil {
		close(p.heldEmpty)
		p.heldEmpty = nil
	}
	p.m.s.log.Warn("kafka: an output of a message was not stored; delivering it again",
		"topic", h.rec.Topic, "partition", h.rec.Partition, "offset", h.rec.Offset, "again", len(recs), "err", err)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// uncommitted returns the offset to commit, if there is a new one.
func (p *partition) uncommitted() (kgo.EpochOffset, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.acked < 0 || p.acked <= p.committed {
		return kgo.EpochOffset{}, false
	}
	return kgo.EpochOffset{Epoch: p.epoch, Offset: p.acked}, true
}

func (p *partition) committedUpTo(off int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if off > p.committed {
		p.committed = off
	}
}

// queued returns how many records wait in the queue while fetching is not
// paused (0 while it is), and how many were taken from it so far.
func (p *partition) queued() (int, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fetchPaused {
		return 0, p.popped
	}
	return len(p.queue), p.popped
}

// pauseFetch pauses fetching the partition while its queue is full; pop
// resumes it once half the queue is gone.
func (p *partition) pauseFetch() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fetchPaused || p.released || len(p.queue) < p.m.s.cfg.MaxBufferedRecords {
		return
	}
	p.fetchPaused = true
	p.m.pauses.Add(1)
	p.m.cl.PauseFetchPartitions(map[string][]int32{p.m.topic: {p.id}})
}

// unpause clears the backpressure pause, for a partition the member lets
// go, and reports whether there was one. No pause comes after it: the
// client keeps a paused partition paused, should it be assigned again.
func (p *partition) unpause() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.fetchPaused
	p.fetchPaused = false
	p.released = true
	return was
}

// lag is the number of records after the last acked one.
func (p *partition) lag() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.acked
	if pos < 0 {
		pos = p.first
	}
	if pos < 0 {
		return 0
	}
	return max(p.hw-pos, 0)
}
