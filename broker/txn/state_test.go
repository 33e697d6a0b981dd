package txn_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
)

// hdr is a batch header of n records from producer pid.
func hdr(pid int64, epoch int16, seq int32, n int32) record.Header {
	return record.Header{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, LastOffsetDelta: n - 1, NumRecords: n, MaxTimestamp: 1000}
}

// appendTo runs Check and, if it passes, Update as the produce path does,
// with the log end offset in *end. It returns the offset the producer is
// told and the error.
func appendTo(s *txn.PartitionState, end *int64, h record.Header) (int64, error) {
	dupBase, dup, err := s.Check(h)
	if err != nil {
		return -1, err
	}
	if dup {
		return dupBase, nil
	}
	base := *end
	*end += int64(h.LastOffsetDelta) + 1
	s.Update(h, base)
	return base, nil
}

func TestCheckRules(t *testing.T) {
	type step struct {
		h        record.Header
		wantOff  int64
		wantErr  error
		describe string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{hdr(1, 0, 0, 3), 0, nil, "first"},
			{hdr(1, 0, 3, 2), 3, nil, "next"},
			{hdr(1, 0, 5, 1), 5, nil, "next"},
		}},
		{"duplicates return the original offset", []step{
			{hdr(1, 0, 0, 3), 0, nil, "first"},
			{hdr(1, 0, 3, 2), 3, nil, "second"},
			{hdr(1, 0, 0, 3), 0, nil, "retry of first"},
			{hdr(1, 0, 3, 2), 3, nil, "retry of second"},
			{hdr(1, 0, 5, 1), 5, nil, "continues"},
		}},
		{"gap", []step{
			{hdr(1, 0, 0, 3), 0, nil, "first"},
			{hdr(1, 0, 4, 1), -1, kerr.OutOfOrderSequenceNumber, "skips 3"},
			{hdr(1, 0, 3, 1), 3, nil, "the right one still works"},
		}},
		{"unknown producer mid-stream", []step{
			// Kafka 2.5+: a producer without state (its batches deleted,
			// or expired) is accepted at any sequence, and checked from
			// there on.
			{hdr(7, 0, 12, 1), 0, nil, "no state"},
			{hdr(7, 0, 12, 1), 0, nil, "its retry is a duplicate"},
			{hdr(7, 0, 14, 1), -1, kerr.OutOfOrderSequenceNumber, "then gaps are refused"},
			{hdr(7, 0, 13, 1), 1, nil, "and the next one follows"},
		}},
		{"stale epoch", []step{
			{hdr(1, 2, 0, 1), 0, nil, "epoch 2"},
			{hdr(1, 1, 1, 1), -1, kerr.InvalidProducerEpoch, "epoch 1"},
		}},
		{"new epoch restarts at 0", []step{
			{hdr(1, 0, 0, 5), 0, nil, "epoch 0"},
			{hdr(1, 1, 5, 1), -1, kerr.OutOfOrderSequenceNumber, "epoch 1 not at 0"},
			{hdr(1, 1, 0, 1), 5, nil, "epoch 1 at 0"},
			{hdr(1, 0, 5, 1), -1, kerr.InvalidProducerEpoch, "old epoch fenced"},
		}},
		{"only five batches remembered", []step{
			{hdr(1, 0, 0, 1), 0, nil, "b0"},
			{hdr(1, 0, 1, 1), 1, nil, "b1"},
			{hdr(1, 0, 2, 1), 2, nil, "b2"},
			{hdr(1, 0, 3, 1), 3, nil, "b3"},
			{hdr(1, 0, 4, 1), 4, nil, "b4"},
			{hdr(1, 0, 5, 1), 5, nil, "b5"},
			{hdr(1, 0, 1, 1), 1, nil, "b1 still remembered"},
			{hdr(1, 0, 0, 1), -1, kerr.OutOfOrderSequenceNumber, "b0 forgotten"},
		}},
		{"producers are independent", []step{
			{hdr(1, 0, 0, 2), 0, nil, "p1"},
			{hdr(2, 0, 0, 2), 2, nil, "p2"},
			{hdr(1, 0, 2, 1), 4, nil, "p1 again"},
			{hdr(2, 0, 0, 2), 2, nil, "p2 dup"},
		}},
		{"no producer id", []step{
			{hdr(-1, -1, -1, 2), 0, nil, "plain"},
			{hdr(-1, -1, -1, 2), 2, nil, "same again is not a duplicate"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := txn.NewPartitionState()
			var end int64
			for i, st := range tt.steps {
				off, err := appendTo(s, &end, st.h)
				if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
					t.Fatalf("step %d (%s): err = %v, want %v", i, st.describe, err, st.wantErr)
				}
				if err == nil && off != st.wantOff {
					t.Fatalf("step %d (%s): offset = %d, want %d", i, st.describe, off, st.wantOff)
				}
			}
		})
	}
}

func TestSequenceWrap(t *testing.T) {
	s := txn.NewPartitionState()
	var end int64
	// A producer far into its sequence space: accepted as a new epoch would
	// not be, so seed state with a batch at the top.
	if _, err := appendTo(s, &end, hdr(1, 0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	s.Update(hdr(1, 0, math.MaxInt32-2, 2), end) // last seq MaxInt32-1
	end += 2
	if _, err := appendTo(s, &end, hdr(1, 0, math.MaxInt32, 3)); err != nil {
		t.Fatalf("batch across the wrap: %v", err)
	}
	// It covered MaxInt32, 0, 1: next is 2.
	if _, err := appendTo(s, &end, hdr(1, 0, 2, 1)); err != nil {
		t.Fatalf("batch after the wrap: %v", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := txn.NewPartitionState()
	var end int64
	for i := range int32(8) {
		appendTo(s, &end, hdr(int64(i%3), 0, (i/3)*2, 2))
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := txn.NewPartitionState()
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	if r.NextOffset() != s.NextOffset() || r.Producers() != 3 {
		t.Fatalf("restored next %d producers %d, want %d, 3", r.NextOffset(), r.Producers(), s.NextOffset())
	}
	b2, _ := r.MarshalBinary()
	if string(b2) != string(b) {
		t.Fatalf("snapshot of the restored state differs")
	}
	// Behaviour is the same: a retry is a duplicate, the next is accepted.
	if off, dup, err := r.Check(hdr(2, 0, 2, 2)); err != nil || !dup || off != 10 {
		t.Fatalf("retry after restore = %d %v %v, want dup at 10", off, dup, err)
	}
	if _, dup, err := r.Check(hdr(2, 0, 4, 1)); err != nil || dup {
		t.Fatalf("next batch after restore = %v %v, want accepted", dup, err)
	}
	b[len(b)-1] ^= 1
	if err := r.UnmarshalBinary(b); !errors.Is(err, txn.ErrBadSnapshot) {
		t.Fatalf("corrupt snapshot: %v, want ErrBadSnapshot", err)
	}
}

func TestExpire(t *testing.T) {
	s := txn.NewPartitionState()
	old := hdr(1, 0, 0, 1)
	old.MaxTimestamp = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	recent := hdr(2, 0, 0, 1)
	recent.MaxTimestamp = time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC).UnixMilli()
	s.Update(old, 0)
	s.Update(recent, 1)
	if n := s.Expire(time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), 7*24*time.Hour); n != 1 {
		t.Fatalf("Expire removed %d, want 1", n)
	}
	// As in Kafka 2.5+, the expired producer is accepted where it goes on,
	// not refused (which clients take for data loss).
	if _, dup, err := s.Check(hdr(1, 0, 1, 1)); err != nil || dup {
		t.Fatalf("expired producer continuing = dup %v, %v; want accepted", dup, err)
	}
	if _, _, err := s.Check(hdr(2, 0, 5, 1)); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("producer kept by Expire sending a gap = %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
}

func FuzzUnmarshalSnapshot(f *testing.F) {
	s := txn.NewPartitionState()
	var end int64
	for i := range int32(6) {
		appendTo(s, &end, hdr(int64(i%2), 0, (i/2)*2, 2))
	}
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := txn.NewPartitionState()
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		out, _ := s.MarshalBinary()
		r := txn.NewPartitionState()
		if err := r.UnmarshalBinary(out); err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
	})
}

// TestCheckBatches: the batches of one produce are checked as a sequence
// (each accepted one counted before the next), and the state is left as
// it was.
func TestCheckBatches(t *testing.T) {
	s := txn.NewPartitionState()
	var end int64
	if _, err := appendTo(s, &end, hdr(1, 0, 0, 3)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		hs   []record.Header
		want error
	}{
		{"two in order", []record.Header{hdr(1, 0, 3, 2), hdr(1, 0, 5, 1)}, nil},
		{"a retry, then the next", []record.Header{hdr(1, 0, 0, 3), hdr(1, 0, 3, 1)}, nil},
		{"a gap after the first", []record.Header{hdr(1, 0, 3, 2), hdr(1, 0, 9, 1)}, kerr.OutOfOrderSequenceNumber},
		{"the same batch twice", []record.Header{hdr(1, 0, 3, 1), hdr(1, 0, 3, 1)}, nil},
		{"a new producer, then a stale epoch", []record.Header{hdr(2, 3, 0, 1), hdr(2, 2, 1, 1)}, kerr.InvalidProducerEpoch},
		{"no producer ids", []record.Header{hdr(-1, -1, -1, 4), hdr(-1, -1, -1, 4)}, nil},
	} {
		if err := s.CheckBatches(c.hs); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("CheckBatches(%s) = %v, want %v", c.what, err, c.want)
		}
	}
	// Nothing was recorded: the state still expects sequence 3 of
	// producer 1 and knows no producer 2.
	if _, dup, err := s.Check(hdr(1, 0, 3, 1)); err != nil || dup {
		t.Fatalf("Check(seq 3) after CheckBatches = dup %v, %v; want accepted", dup, err)
	}
	if n := s.Producers(); n != 1 {
		t.Fatalf("Producers() after CheckBatches = %d, want 1", n)
	}
}
