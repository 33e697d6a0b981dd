package storage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
)

// Example appends a batch, waits until it is durable and reads it back.
func Example() {
	dir, err := os.MkdirTemp("", "partition")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	l, err := storage.Open(dir, storage.Options{
		SegmentBytes: 256 << 20,
		RetentionMs:  24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	// In the broker the batch comes from a produce request and has been
	// checked with record.Validate; here we build one.
	batch, err := record.Build(0, record.Record{Timestamp: time.Now().UnixMilli(), Value: []byte("hello")})
	if err != nil {
		log.Fatal(err)
	}
	res, err := l.Append(batch) // assigns the offsets; written, not yet fsynced
	if err != nil {
		log.Fatal(err)
	}
	// acks=all: wait until the batch is on disk. Concurrent callers share
	// one fsync.
	if err := l.Sync(context.Background(), res.LastOffset+1); err != nil {
		log.Fatal(err)
	}
	data, err := l.Read(res.BaseOffset, 1<<20) // whole batches, as stored
	if err != nil {
		log.Fatal(err)
	}

	for r, err := range record.Records(data) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("offset %d: %s\n", r.Offset, r.Value)
	}
	// Output: offset 0: hello
}
