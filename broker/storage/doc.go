// Package storage is the broker's partition log: an append-only sequence of
// record batches (see package record) kept in segment files, with sparse
// offset and time indexes, group-committed fsyncs, crash recovery and
// retention. A Log knows nothing of topics or the Kafka protocol; the server
// keeps one per partition, and the broker's internal state (committed
// offsets, producer ids, topic configs) lives in logs of the same kind.
//
// # On disk
//
// A log is a directory. Each segment holds the batches from its base offset
// up to the next segment's base offset; the last segment is the active one,
// the only one that grows.
//
//	| file                           | contents                                                 |
//	|--------------------------------|----------------------------------------------------------|
//	| 00000000000000000000.log       | batches exactly as produced, base offset assigned, back  |
//	|                                | to back; the name is the base offset, 20 digits          |
//	| 00000000000000000000.index     | sparse offset index: 8-byte entries (offset - base       |
//	|                                | uint32, byte position in .log uint32), one entry per     |
//	|                                | IndexIntervalBytes of log                                |
//	| 00000000000000000000.timeindex | time index: 12-byte entries (timestamp int64, offset -   |
//	|                                | base uint32): the largest maxTimestamp so far and the    |
//	|                                | batch that reached it; the last entry is the newest      |
//	| log-start-offset               | written by DeleteRecords: offset int64, CRC-32C uint32   |
//	|                                | (replaced by rename, so never torn)                      |
//	| .clean-shutdown                | empty; written by Close, removed by Open                 |
//
// All integers are big-endian. The index files of the active segment are
// written when it is closed (rolled) and at Close; while it is active they
// live in memory. Closed segments' indexes are read with ReadAt and a binary
// search, so memory does not grow with the data stored.
//
// # Durability
//
// Append writes a batch to the page cache and returns its offsets. Sync makes
// a prefix of the log durable with one fsync of the active segment, shared by
// every caller waiting at the time (group commit). A segment is fsynced, with
// its indexes, when it is rolled, so closed segments are always durable and
// recovery only has to look at the active one. New and deleted files are
// made durable with an fsync of the directory.
//
// # Recovery
//
// Open without a clean-shutdown marker walks the active segment, checking
// each batch (framing, CRC-32C, offsets rising: what Append checks), and
// cuts the file at the first bad one: everything an fsync made durable
// survives; a torn or unsynced tail goes. Corruption found later in a closed segment is reported
// by Read as a *CorruptError naming the file and position and is never
// served.
//
// # Concurrency
//
// One mutex per Log guards the segment list and the active segment; an
// append holds it across its write (not across an fsync). Reads and the
// fsync of Sync run outside it, holding a reference count on their segment
// so that retention can delete the segment's files meanwhile without
// pulling the open files from under them.
//
// # Usage
//
//	l, err := storage.Open(dir, storage.Options{RetentionMs: 24 * time.Hour})
//	res, err := l.Append(batch)           // batch validated with record.Validate
//	err = l.Sync(ctx, res.LastOffset+1)   // acks=all: wait for the fsync
//	data, err := l.Read(offset, 1<<20)    // whole batches, as stored
//	err = l.Close()
//
// All methods of Log are safe for concurrent use. Log starts no goroutines;
// its owner calls EnforceRetention periodically.
package storage
