// Package memory is the in-process binder: destinations are partitioned
// logs in memory, with the semantics of a real broker, so that applications
// and binder-independent tests can run without one.
//
//   - Each group receives every message once; the members of a group (each
//     Subscribe call, so each unit of a binding's concurrency) share the
//     destination's partitions.
//   - Order is kept per partition: the next message of a partition is
//     delivered only after the previous one was acked.
//   - Nack redelivers the same message; Ack commits it.
//   - An anonymous subscription receives what is sent after it was made and
//     is deleted when closed. A durable group keeps its position for the
//     lifetime of the Binder, so a binding that stops and starts again
//     resumes where it was.
//   - A destination has max(1, partition-count of its producers,
//     concurrency of its consumers) partitions. A message goes to the
//     partition the SDK chose (cloudevent.MetadataPartition), else to the
//     partition of its key, else round robin.
//   - Subscribers implement [stream.Pauser]: a paused subscriber's members
//     take no new message and keep their partitions (no reassignment).
//   - Each partition keeps the last Retention messages (default 1,048,576);
//     a new group with start-offset earliest reads what is kept.
//
// Messages are copied in and out: a Publish caller may reuse its messages,
// and receivers get their own.
//
// # Usage
//
//	app := stream.New(cfg, stream.WithBinder("memory", memory.New()))
package memory
