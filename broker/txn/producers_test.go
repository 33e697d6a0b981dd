package txn_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func openProducers(t *testing.T, dataDir string) *txn.Producers {
	t.Helper()
	p, err := txn.OpenProducers(txn.Config{DataDir: dataDir, SnapshotInterval: time.Hour})
	if err != nil {
		t.Fatalf("OpenProducers: %v", err)
	}
	return p
}

func initID(t *testing.T, p *txn.Producers) int64 {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = 4
	resp := p.InitProducerID(context.Background(), req)
	if resp.ErrorCode != 0 || resp.ProducerEpoch != 0 {
		t.Fatalf("InitProducerID = %+v", resp)
	}
	return resp.ProducerID
}

func TestProducerIDsNeverReused(t *testing.T) {
	dir := t.TempDir()
	seen := map[int64]bool{}
	for round := range 3 {
		p := openProducers(t, dir)
		for range 5 {
			id := initID(t, p)
			if seen[id] {
				t.Fatalf("round %d: producer id %d given twice", round, id)
			}
			seen[id] = true
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	p := openProducers(t, dir)
	defer p.Close()
	req := kmsg.NewPtrInitProducerIDRequest()
	tid := "tx"
	req.TransactionalID = &tid
	if got := p.InitProducerID(context.Background(), req).ErrorCode; got != kerr.InvalidRequest.Code {
		t.Fatalf("transactional InitProducerID = %v, want INVALID_REQUEST until transactions exist", kerr.ErrorForCode(got))
	}
}

// produce appends an idempotent batch of n records through the state, as
// the produce path does, and returns the offset the client is told.
func produce(t *testing.T, st *txn.PartitionState, l *storage.Log, pid int64, seq, n int32) (int64, error) {
	t.Helper()
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = record.Record{Timestamp: time.Now().UnixMilli(), Value: []byte{byte(seq), byte(i)}}
	}
	b := record.Batch{ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq, PartitionLeaderEpoch: -1, Records: recs}
	batch, err := b.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := record.Validate(batch)
	if err != nil {
		t.Fatal(err)
	}
	dupBase, dup, err := st.Check(h)
	if err != nil {
		return -1, err
	}
	if dup {
		return dupBase, nil
	}
	res, err := l.Append(batch)
	if err != nil {
		t.Fatal(err)
	}
	h.BaseOffset = res.BaseOffset
	st.Update(h, res.BaseOffset)
	return res.BaseOffset, nil
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}

func TestStateRebuiltFromEachSource(t *testing.T) {
	for _, source := range []string{"snapshot plus tail", "clean snapshot", "no snapshot"} {
		t.Run(source, func(t *testing.T) {
			root := t.TempDir()
			l, err := storage.Open(filepath.Join(root, "topic-0"), storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			data := filepath.Join(root, "data")
			p := openProducers(t, data)
			st, _ := p.Partition("topic", 0, l)
			produce(t, st, l, 7, 0, 2)
			produce(t, st, l, 8, 0, 1)
			produce(t, st, l, 7, 2, 3)
			if err := p.Snapshot(); err != nil {
				t.Fatal(err)
			}
			produce(t, st, l, 7, 5, 1) // offset 6
			produce(t, st, l, 8, 1, 2) // 7-8
			dir := data
			switch source {
			case "snapshot plus tail":
				dir = filepath.Join(root, "crashed")
				copyDir(t, data, dir)
			case "no snapshot":
				dir = filepath.Join(root, "fresh")
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			p = openProducers(t, dir)
			defer p.Close()
			st, err = p.Partition("topic", 0, l)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				pid     int64
				seq, n  int32
				want    int64
				wantErr error
				what    string
			}{
				{7, 5, 1, 6, nil, "retry of the batch after the snapshot"},
				{7, 2, 3, 3, nil, "retry of a batch before it"},
				{8, 1, 2, 7, nil, "other producer's retry"},
				{7, 7, 1, -1, kerr.OutOfOrderSequenceNumber, "gap"},
				{7, 6, 1, 9, nil, "next batch"},
			} {
				got, err := produce(t, st, l, c.pid, c.seq, c.n)
				if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) || (err == nil && got != c.want) {
					t.Fatalf("%s: offset %d err %v, want %d %v", c.what, got, err, c.want, c.wantErr)
				}
			}
		})
	}
}

func TestSnapshotIgnoredWhenLogLostItsTail(t *testing.T) {
	root := t.TempDir()
	logDir := filepath.Join(root, "topic-0")
	l, err := storage.Open(logDir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	p := openProducers(t, data)
	st, _ := p.Partition("topic", 0, l)
	produce(t, st, l, 7, 0, 2)
	if err := l.Sync(context.Background(), l.EndOffset()); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(root, "synced")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	copyDir(t, logDir, saved)
	l, _ = storage.Open(logDir, storage.Options{})
	produce(t, st, l, 7, 2, 2)        // lost in the "crash" below
	if err := p.Close(); err != nil { // snapshot remembers seq 2-3
		t.Fatal(err)
	}
	_ = l.Close()
	// The log comes back without the last batch.
	if err := os.RemoveAll(logDir); err != nil {
		t.Fatal(err)
	}
	copyDir(t, saved, logDir)
	l, err = storage.Open(logDir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p = openProducers(t, data)
	defer p.Close()
	st, _ = p.Partition("topic", 0, l)
	// The retry of the lost batch must be written, not called a duplicate.
	if off, err := produce(t, st, l, 7, 2, 2); err != nil || off != 2 {
		t.Fatalf("retry of the lost batch = %d %v, want written at 2", off, err)
	}
}

// TestRecreatedTopicStartsFresh: a topic deleted and created again has a
// new log; the producer state of the old one must not answer for it.
func TestRecreatedTopicStartsFresh(t *testing.T) {
	root := t.TempDir()
	p := openProducers(t, filepath.Join(root, "data"))
	defer p.Close()
	old, err := storage.Open(filepath.Join(root, "t-0"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := p.Partition("t", 0, old)
	produce(t, st, old, 7, 0, 5) // offsets 0-4
	produce(t, st, old, 7, 5, 5) // 5-9
	if err := old.Delete(); err != nil {
		t.Fatal(err)
	}
	fresh, err := storage.Open(filepath.Join(root, "t-0"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	st, err = p.Partition("t", 0, fresh)
	if err != nil {
		t.Fatal(err)
	}
	// The same producer starting over at 0 is written, not called a
	// duplicate of a batch in the deleted log.
	if off, err := produce(t, st, fresh, 7, 0, 5); err != nil || off != 0 {
		t.Fatalf("first batch in the new topic = %d %v, want written at 0", off, err)
	}
	if end := fresh.EndOffset(); end != 5 {
		t.Fatalf("new log end = %d, want 5", end)
	}
}

// TestSnapshotLogIsRewritten writes many snapshots of one partition (the
// snapshot log grows by one record each time it changes) and checks that
// the log is rewritten, while running and on open, without losing the
// latest state.
func TestSnapshotLogIsRewritten(t *testing.T) {
	root := t.TempDir()
	l, err := storage.Open(filepath.Join(root, "t-0"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := filepath.Join(root, "data")
	p := openProducers(t, data)
	st, _ := p.Partition("t", 0, l)
	var seq int32
	for range 1200 {
		produce(t, st, l, 7, seq, 1)
		seq++
		if err := p.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	snaps, err := storage.Open(filepath.Join(data, "__producer_snapshots"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := snaps.EndOffset(); n > 1000 {
		t.Errorf("snapshot log holds %d records after 1200 snapshots, want it rewritten", n)
	}
	_ = snaps.Close()

	p = openProducers(t, data)
	defer p.Close()
	st, err = p.Partition("t", 0, l)
	if err != nil {
		t.Fatal(err)
	}
	if off, err := produce(t, st, l, 7, seq-1, 1); err != nil || off != int64(seq-1) {
		t.Fatalf("retry of the last batch after reopening = %d %v, want duplicate at %d", off, err, seq-1)
	}
}
