package txn_test

import (
	"testing"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/txn"
)

// FuzzCheckUpdate feeds the state a producer's stream of batches decided by
// the fuzzer — in order, retries of recent batches, gaps, epoch bumps — and
// checks the promise the produce path relies on: a retry of any of the
// producer's last five appended batches is a duplicate with that batch's
// offset, and nothing else is.
func FuzzCheckUpdate(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 0, 3, 1, 4})
	f.Add([]byte{5, 5, 5, 1, 1, 1, 2, 2, 9, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		st := txn.NewPartitionState()
		type appended struct {
			h    record.Header
			base int64
		}
		var log []appended // this producer's batches in the current epoch
		var end int64
		var epoch int16
		var next int32
		for _, op := range ops {
			var h record.Header
			n := int32(op>>4) + 1
			switch op % 4 {
			case 0, 1: // next batch in order
				h = record.Header{ProducerID: 1, ProducerEpoch: epoch, BaseSequence: next, LastOffsetDelta: n - 1}
			case 2: // retry of a recent batch
				if len(log) == 0 {
					continue
				}
				back := int(op>>4) % min(len(log), 5)
				h = log[len(log)-1-back].h
			case 3: // new epoch
				epoch++
				next = 0
				log = log[:0]
				h = record.Header{ProducerID: 1, ProducerEpoch: epoch, BaseSequence: 0, LastOffsetDelta: n - 1}
			}
			dupBase, dup, err := st.Check(h)
			isRetry := op%4 == 2
			if isRetry {
				back := int(op>>4) % min(len(log), 5)
				want := log[len(log)-1-back].base
				if err != nil || !dup || dupBase != want {
					t.Fatalf("retry of batch %d back = (%d, %v, %v), want duplicate at %d", back, dupBase, dup, err, want)
				}
				continue
			}
			if err != nil || dup {
				t.Fatalf("in-order batch seq %d epoch %d = (%v, %v), want accepted", h.BaseSequence, h.ProducerEpoch, dup, err)
			}
			st.Update(h, end)
			log = append(log, appended{h, end})
			end += int64(h.LastOffsetDelta) + 1
			next = h.BaseSequence + h.LastOffsetDelta + 1
		}
	})
}
