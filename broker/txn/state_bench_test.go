package txn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/txn"
)

// BenchmarkCheckUpdate measures the idempotence check and update of the
// produce path, with 100 producers writing to one partition in random
// order and batches of random sizes; ns/op is per batch (there are no
// bytes to count: only headers are looked at).
func BenchmarkCheckUpdate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const producers = 100
	seqs := make([]int32, producers)
	st := txn.NewPartitionState()
	var end int64
	b.ReportAllocs()
	for b.Loop() {
		pid := rng.IntN(producers)
		n := int32(1 + rng.IntN(50))
		h := record.Header{ProducerID: int64(pid), BaseSequence: seqs[pid], LastOffsetDelta: n - 1, NumRecords: n}
		if _, dup, err := st.Check(h); err != nil || dup {
			b.Fatalf("Check = %v %v", dup, err)
		}
		st.Update(h, end)
		end += int64(n)
		seqs[pid] += n
	}
}

// BenchmarkSnapshot measures writing the state of 1,000 producers.
func BenchmarkSnapshot(b *testing.B) {
	st := txn.NewPartitionState()
	var end int64
	for pid := range int64(1000) {
		for s := range int32(5) {
			st.Update(record.Header{ProducerID: pid, BaseSequence: s * 10, LastOffsetDelta: 9, NumRecords: 10}, end)
			end += 10
		}
	}
	snap, _ := st.MarshalBinary()
	b.SetBytes(int64(len(snap)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}
