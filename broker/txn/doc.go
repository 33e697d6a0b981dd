// Package txn keeps the broker's producer state: producer ids for
// InitProducerId, and per partition the sequence numbers of idempotent
// producers, so that a retried batch is recognised and not written twice.
// Transactions come later.
//
// # Idempotence
//
// A producer with an id sends batches whose headers carry the id, an epoch
// and the sequence number of the first record; sequences count records per
// partition from 0. For every partition, [PartitionState] remembers each
// producer's epoch and its last five batches (first sequence, last
// sequence, base offset). The produce path calls, under the partition's
// append order:
//
//	dupBase, dup, err := st.Check(hdr) // before append
//	if err != nil { ... }              // a *kerr.Error: OUT_OF_ORDER_SEQUENCE_NUMBER, ...
//	if dup { ... }                     // answer with dupBase, append nothing
//	base, err := log.Append(batch)
//	st.Update(hdr, base)               // after a successful append
//
// A produce carrying several batches for the partition is first checked
// as a whole with [PartitionState.CheckBatches], so that a refused batch
// leaves the earlier ones of the request unwritten, as in Kafka.
//
// Rules, as in Kafka:
//
//	| situation                                          | result                         |
//	|----------------------------------------------------|--------------------------------|
//	| producer id -1                                     | not idempotent: no checks      |
//	| unknown producer, any first sequence               | accepted, state starts         |
//	| epoch lower than the known one                     | INVALID_PRODUCER_EPOCH         |
//	| epoch higher than the known one, sequence 0        | accepted, old batches dropped  |
//	| epoch higher, sequence > 0                         | OUT_OF_ORDER_SEQUENCE_NUMBER   |
//	| same (first, last) sequence as a remembered batch  | duplicate: that batch's offset |
//	| first sequence != last remembered sequence + 1     | OUT_OF_ORDER_SEQUENCE_NUMBER   |
//
// Sequences wrap from 2147483647 to 0.
//
// # Surviving a restart
//
// [PartitionState.MarshalBinary] writes a snapshot that records the log
// offset it is current up to ([PartitionState.NextOffset]); after a restart
// the state is the last snapshot plus [PartitionState.Update] for every
// batch from that offset to the log end (batch headers carry everything
// needed). [Producers] ties it together for the broker: it keeps the
// snapshots of every partition in an internal log of the storage engine
// (<data-dir>/__producer_snapshots, written every 30s and on Close,
// rewritten when mostly stale), loads a partition's state on first use
// (snapshot, checked against the log, plus the log's tail), and answers
// InitProducerId with ids from [IDs], which reserves them in blocks in
// another internal log (<data-dir>/__producer_ids), so an id is never given
// twice, even across crashes.
//
// # Usage
//
//	p, err := txn.OpenProducers(txn.Config{DataDir: dir})
//	resp := p.InitProducerID(ctx, req)
//	st, err := p.Partition(topic, partition, log) // under the partition's append lock
//	... st.Check(hdr); log.Append(batch); st.Update(hdr, base) ...
//	p.Close()
package txn
