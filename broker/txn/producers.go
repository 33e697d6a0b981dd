package txn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config configures [OpenProducers].
type Config struct {
	// DataDir is the broker's data directory; the internal logs are
	// DataDir/__producer_ids and DataDir/__producer_snapshots. Required.
	DataDir string
	// FS is the file system. Default vfs.Default.
	FS vfs.FS
	// SnapshotInterval is how often changed partition states are written
	// to the snapshot log. Default 30s.
	SnapshotInterval time.Duration
	// ProducerExpiration forgets producers that have not written to a
	// partition for this long (Kafka's transactional.id.expiration.ms).
	// Default 7 days.
	ProducerExpiration time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger. Default: discard.
	Logger *slog.Logger
}

// Producers is the broker's producer state: producer ids for
// InitProducerId and the idempotence state of every partition, with its
// snapshots. Open it with [OpenProducers]; it runs one goroutine (the
// snapshotter) until Close. Safe for concurrent use.
type Producers struct {
	cfg Config
	log *slog.Logger
	ids *IDs

	// mu guards parts, saved, snaps and sinceRewrite. Lock order: mu
	// before a PartitionState's own lock.
	mu           sync.Mutex
	parts        map[partitionKey]partitionEntry
	saved        map[partitionKey][]byte // last snapshot written (or loaded)
	snaps        *storage.Log
	sinceRewrite int
	closed       bool

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// partitionEntry is a loaded partition state and the log it describes: a
// topic deleted and created again has a new log, and its old state must
// not be used for it.
type partitionEntry struct {
	st  *PartitionState
	log *storage.Log
}

type partitionKey struct {
	topic     string
	partition int32
}

func (k partitionKey) encode() []byte {
	b := append([]byte(k.topic), 0)
	return binary.BigEndian.AppendUint32(b, uint32(k.partition))
}

func decodePartitionKey(b []byte) (partitionKey, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 || len(b)-i-1 != 4 {
		return partitionKey{}, fmt.Errorf("bad snapshot key %q", b)
	}
	return partitionKey{string(b[:i]), int32(binary.BigEndian.Uint32(b[i+1:]))}, nil
}

// OpenProducers opens (or creates) the internal logs under cfg.DataDir and
// starts the snapshotter.
func OpenProducers(cfg Config) (*Producers, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("txn: Config.DataDir is empty: set the broker's data directory")
	}
	if cfg.FS == nil {
		cfg.FS = vfs.Default
	}
	if cfg.SnapshotInterval <= 0 {
		cfg.SnapshotInterval = 30 * time.Second
	}
	if cfg.ProducerExpiration <= 0 {
		cfg.ProducerExpiration = 7 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Producers{
		cfg:   cfg,
		log:   cfg.Logger,
		parts: make(map[partitionKey]partitionEntry),
		saved: make(map[partitionKey][]byte),
		stop:  make(chan struct{}),
	}
	ids, err := OpenIDs(cfg.FS, filepath.Join(cfg.DataDir, "__producer_ids"), cfg.Logger)
	if err != nil {
		return nil, err
	}
	p.ids = ids
	if err := p.openSnapshots(); err != nil {
		_ = ids.Close()
		return nil, err
	}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

func (p *Producers) snapshotDir() string { return filepath.Join(p.cfg.DataDir, "__producer_snapshots") }

// openSnapshots loads the latest snapshot of every partition and rewrites
// the log with just those. p.mu held or not yet shared.
func (p *Producers) openSnapshots() error {
	clear(p.saved)
	wal, err := openKV(p.cfg.FS, p.snapshotDir(), p.log, func(key, value []byte) error {
		k, err := decodePartitionKey(key)
		if err != nil {
			return err
		}
		if value == nil {
			delete(p.saved, k)
		} else {
			p.saved[k] = append([]byte(nil), value...)
		}
		return nil
	}, func() []kv {
		out := make([]kv, 0, len(p.saved))
		for k, v := range p.saved {
			out = append(out, kv{k.encode(), v})
		}
		return out
	})
	if err != nil {
		return err
	}
	p.snaps = wal
	p.sinceRewrite = 0
	return nil
}

// InitProducerID answers an InitProducerId request. Without a
// transactional id it returns a new producer id with epoch 0 (as Kafka
// does, also when the request names its current id). Transactional ids are
// not supported yet: they get INVALID_REQUEST with a message in the log.
func (p *Producers) InitProducerID(ctx context.Context, req *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		p.log.Warn("InitProducerId with a transactional id: transactions are not supported yet", "transactional_id", *req.TransactionalID)
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	id, err := p.ids.Next(ctx)
	if err != nil {
		p.log.Error("allocate producer id", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}

// Partition returns the idempotence state of a partition whose log is l,
// loading it on first use from the last snapshot plus the batches of l
// after it (or from all of l when there is no usable snapshot). The
// produce path calls it for every produce to the partition, before the
// first Check, while holding the partition's append order.
func (p *Producers) Partition(topic string, partition int32, l *storage.Log) (*PartitionState, error) {
	k := partitionKey{topic, partition}
	p.mu.Lock()
	if e, ok := p.parts[k]; ok {
		if e.log == l {
			p.mu.Unlock()
			return e.st, nil
		}
		// The topic was deleted and created again: start from the new
		// log alone.
		delete(p.parts, k)
		delete(p.saved, k)
	}
	snap, haveSnap := p.saved[k]
	p.mu.Unlock()

	// Loading may read much of the log: do it without p.mu, so produces
	// to other partitions go on. The caller's append lock keeps out a
	// second loader of this partition.
	st := NewPartitionState()
	if haveSnap {
		if err := st.UnmarshalBinary(snap); err != nil || !snapshotMatches(st, l) {
			p.log.Warn("producer state snapshot does not match the log; rebuilding from the log", "topic", topic, "partition", partition, "err", err)
			st = NewPartitionState()
		}
	}
	from := max(st.NextOffset(), l.StartOffset())
	n, err := scanHeaders(l, from, func(h record.Header) { st.Update(h, h.BaseOffset) })
	if err != nil {
		return nil, fmt.Errorf("txn: rebuild producer state of %s/%d: %w", topic, partition, err)
	}
	if n > 0 || st.Producers() > 0 {
		p.log.Debug("producer state loaded", "topic", topic, "partition", partition, "scanned_batches", n, "producers", st.Producers())
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.parts[k]; ok && e.log == l {
		return e.st, nil // loaded meanwhile by a caller without the append lock
	}
	p.parts[k] = partitionEntry{st: st, log: l}
	return st, nil
}

// snapshotMatches reports whether l still holds the batch the snapshot was
// current up to: after an unclean stop the log may have lost its unsynced
// tail, and a snapshot that remembers lost batches would wrongly call
// their retries duplicates.
func snapshotMatches(st *PartitionState, l *storage.Log) bool {
	next := st.NextOffset()
	switch {
	case next == 0:
		return true
	case next > l.EndOffset():
		return false
	case next-1 < l.StartOffset():
		return true // retention took the batch; the state is still right
	}
	data, err := l.Read(next-1, 1)
	if err != nil || len(data) < record.HeaderSize {
		return false
	}
	h, err := record.ParseHeader(data)
	return err == nil && h.LastOffset() == next-1 && h.CRC == st.LastCRC()
}

// scanHeaders calls fn with the header of every batch of l from offset
// from to the end.
func scanHeaders(l *storage.Log, from int64, fn func(record.Header)) (int, error) {
	n := 0
	for {
		data, err := l.Read(from, 1<<20)
		if err != nil || len(data) == 0 {
			return n, err
		}
		for len(data) >= record.HeaderSize {
			h, err := record.ParseHeader(data)
			if err != nil {
				return n, err
			}
			if h.Size() > len(data) {
				break
			}
			if h.LastOffset() >= from {
				fn(h)
				n++
			}
			from = h.LastOffset() + 1
			data = data[h.Size():]
		}
	}
}

// Partitions returns how many partitions have producer state, loaded or
// kept as a snapshot.
func (p *Producers) Partitions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.saved)
	for k := range p.parts {
		if _, ok := p.saved[k]; !ok {
			n++
		}
	}
	return n
}

// Remove forgets a partition (its topic was deleted).
func (p *Producers) Remove(topic string, partition int32) {
	k := partitionKey{topic, partition}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.parts, k)
	if _, ok := p.saved[k]; ok {
		delete(p.saved, k)
		if _, err := appendKV(p.snaps, []kv{{k.encode(), nil}}); err != nil {
			p.log.Error("write producer snapshot tombstone", "topic", topic, "partition", partition, "err", err)
		}
	}
}

// run writes snapshots every SnapshotInterval until Close.
func (p *Producers) run() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.SnapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if err := p.Snapshot(); err != nil {
				p.log.Error("write producer state snapshots", "err", err)
			}
		}
	}
}

// Snapshot expires idle producers and writes the state of every partition
// that changed since its last snapshot.
func (p *Producers) Snapshot() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	now := p.cfg.Now()
	var recs []kv
	for k, e := range p.parts {
		e.st.Expire(now, p.cfg.ProducerExpiration)
		b, err := e.st.MarshalBinary()
		if err != nil {
			return err
		}
		if bytes.Equal(b, p.saved[k]) {
			continue
		}
		p.saved[k] = b
		recs = append(recs, kv{k.encode(), b})
	}
	for len(recs) > 0 {
		n := min(len(recs), 500)
		if _, err := appendKV(p.snaps, recs[:n]); err != nil {
			return fmt.Errorf("txn: write snapshots: %w", err)
		}
		recs = recs[n:]
		p.sinceRewrite += n
	}
	if p.sinceRewrite > 1000+20*len(p.saved) {
		if err := p.snaps.Close(); err != nil {
			return fmt.Errorf("txn: rewrite snapshots: %w", err)
		}
		saved := p.saved
		if err := p.openSnapshots(); err != nil {
			p.saved = saved
			return fmt.Errorf("txn: rewrite snapshots: %w", err)
		}
	}
	return nil
}

// Close writes a last round of snapshots, stops the snapshotter and closes
// the logs.
func (p *Producers) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *Producers) close() error {
	close(p.stop)
	p.wg.Wait()
	err := p.Snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var syncErr error
	if p.snaps != nil {
		syncErr = p.snaps.Sync(context.Background(), p.snaps.EndOffset())
	}
	return errors.Join(err, syncErr, p.snaps.Close(), p.ids.Close())
}
