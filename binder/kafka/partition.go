package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"
)

// partition delivers the records of one partition, one at a time: the next
// record goes out only after the one before it was acked. Its goroutine
// (run) is started by the member and ends after stop.
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

	// mu guards the fields below.
	mu    sync.Mutex
	queue []*kgo.Record
	// fetchPaused: the member paused fetching this partition because the
	// queue is full.
	fetchPaused bool
	// hw is the high watermark of the last fetch; first the offset of the
	// first record seen (-1: none yet); acked the offset after the last
	// acked record (-1: none); committed the last committed offset.
	hw, first, acked, committed int64
	epoch                       int32
}

func newPartition(m *member, id int32) *partition {
	return &partition{
		m: m, id: id,
		wake: make(chan struct{}, 1), stopc: make(chan struct{}), done: make(chan struct{}),
		first: -1, acked: -1, committed: -1, epoch: -1,
	}
}

// push queues fetched records. Past MaxBufferedRecords it pauses fetching
// the partition; pop resumes it once half the queue is gone.
func (p *partition) push(recs []*kgo.Record, hw int64) {
	p.mu.Lock()
	if hw > p.hw {
		p.hw = hw
	}
	if len(recs) > 0 && p.first < 0 {
		p.first = recs[0].Offset
	}
	p.queue = append(p.queue, recs...)
	if len(p.queue) >= p.m.s.cfg.MaxBufferedRecords && !p.fetchPaused {
		p.fetchPaused = true
		p.m.cl.PauseFetchPartitions(map[string][]int32{p.m.topic: {p.id}})
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pop takes the next record, waiting for one; nil after stop.
func (p *partition) pop() *kgo.Record {
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			rec := p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			if p.fetchPaused && len(p.queue) <= p.m.s.cfg.MaxBufferedRecords/2 {
				p.fetchPaused = false
				p.m.cl.ResumeFetchPartitions(map[string][]int32{p.m.topic: {p.id}})
			}
			p.mu.Unlock()
			return rec
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-p.stopc:
			return nil
		}
	}
}

func (p *partition) run() {
	defer p.m.workers.Done()
	defer close(p.done)
	for {
		rec := p.pop()
		if rec == nil {
			return
		}
		if !p.deliver(rec) {
			return
		}
	}
}

// deliver sends rec until it is acked. It returns false when the partition
// was stopped.
func (p *partition) deliver(rec *kgo.Record) bool {
	cfg := &p.m.s.cfg
	for {
		msg, err := cfg.Unmarshaler.Unmarshal(rec)
		if err != nil {
			// A record that can never become a message would block the
			// partition forever: log it and move past it.
			p.m.s.log.Error("kafka: cannot unmarshal record; skipping it",
				"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
			p.markAcked(rec)
			return true
		}
		ctx, cancel := context.WithCancel(p.m.msgCtx)
		msg.SetContext(ctx)
		if sent, stopped := p.handOut(msg); !sent {
			cancel()
			if stopped {
				return false
			}
			continue
		}
		acked, stopped := p.await(msg)
		cancel()
		if acked {
			p.markAcked(rec)
		}
		if stopped {
			return false
		}
		if acked {
			return true
		}
		if d := cfg.NackResendDelay; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-p.stopc:
				t.Stop()
				return false
			}
		}
	}
}

// handOut sends msg to the consumer while the subscriber is not paused. It
// gives up (sent false, stopped false) when a pause begins first, so that
// the caller waits for the resume and makes a fresh message.
func (p *partition) handOut(msg *message.Message) (sent, stopped bool) {
	g := p.m.s.gate
	for {
		shut, ok := g.enter()
		if !ok {
			select {
			case <-g.wait():
				continue
			case <-p.stopc:
				return false, true
			}
		}
		select {
		case p.m.out <- msg:
			g.leave()
			return true, false
		case <-shut:
			g.leave()
			return false, false
		case <-p.stopc:
			g.leave()
			return false, true
		}
	}
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
}

func (p *partition) markAcked(rec *kgo.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acked = rec.Offset + 1
	p.epoch = rec.LeaderEpoch
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

// unpause clears the backpressure pause and reports whether there was one.
func (p *partition) unpause() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.fetchPaused
	p.fetchPaused = false
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
