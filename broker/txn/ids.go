package txn

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// idBlock is how many producer ids one durable reservation covers.
const idBlock = 1000

// IDs hands out producer ids. It reserves them in blocks: before the first
// id of a block is given out, the block's end is written and fsynced to an
// internal log, and on open the next id is the end of the last reserved
// block. An id is therefore never given twice, even after a crash (the
// rest of a block in use at a crash is skipped). Safe for concurrent use.
type IDs struct {
	// mu guards next, limit and the log's appends.
	mu          sync.Mutex
	wal         *storage.Log
	next, limit int64
}

var idKey = []byte("producer-id-block")

// OpenIDs opens the producer id log in dir.
func OpenIDs(fsys vfs.FS, dir string, log *slog.Logger) (*IDs, error) {
	if fsys == nil {
		fsys = vfs.Default
	}
	ids := &IDs{}
	wal, err := openKV(fsys, dir, log, func(key, value []byte) error {
		if len(value) != 8 {
			return fmt.Errorf("producer id block of %d bytes, want 8", len(value))
		}
		ids.limit = max(ids.limit, int64(binary.BigEndian.Uint64(value)))
		return nil
	}, func() []kv {
		return []kv{{idKey, binary.BigEndian.AppendUint64(nil, uint64(ids.limit))}}
	})
	if err != nil {
		return nil, err
	}
	ids.wal = wal
	ids.next = ids.limit
	return ids, nil
}

// Next returns a producer id that was never returned before.
func (ids *IDs) Next(ctx context.Context) (int64, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if ids.next == ids.limit {
		if ids.limit > math.MaxInt64-idBlock {
			return -1, fmt.Errorf("txn: producer ids exhausted")
		}
		limit := ids.limit + idBlock
		upTo, err := appendKV(ids.wal, []kv{{idKey, binary.BigEndian.AppendUint64(nil, uint64(limit))}})
		if err == nil {
			err = ids.wal.Sync(ctx, upTo)
		}
		if err != nil {
			return -1, fmt.Errorf("txn: reserve producer ids: %w", err)
		}
		ids.limit = limit
	}
	id := ids.next
	ids.next++
	return id, nil
}

// Close closes the log.
func (ids *IDs) Close() error {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	return ids.wal.Close()
}
