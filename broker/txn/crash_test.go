package txn_test

import (
	"context"
	"testing"

	"github.com/millstream/millstream/broker/txn"
	"github.com/millstream/millstream/broker/vfs"
)

// TestProducerIDsNeverReusedAfterPowerLoss hands out ids, loses power
// (only fsynced data stays) and checks that the ids after it are new.
func TestProducerIDsNeverReusedAfterPowerLoss(t *testing.T) {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for round := range 5 {
		ids, err := txn.OpenIDs(fs, "/data/__producer_ids", nil)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for range 1500 { // crosses a block boundary
			id, err := ids.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if seen[id] {
				t.Fatalf("round %d: id %d given twice", round, id)
			}
			seen[id] = true
		}
		fs.Crash()
		_ = ids.Close()
	}
}
