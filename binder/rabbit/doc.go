// Package rabbit is Millstream's RabbitMQ binder, on watermill-amqp v3
// (AMQP 0-9-1).
//
// # Topology
//
//	thing                    AMQP object                                   declared by
//	-----------------------  --------------------------------------------  ------------------
//	destination              durable topic exchange <destination>          Publisher, Subscriber
//	group                    durable queue <destination>.<group>,          Subscriber
//	                         bound with "#"
//	anonymous subscription   exclusive auto-delete queue                   Subscriber
//	                         <destination>.anonymous.<id>, bound with "#"
//	partitioned binding      queue <destination>.<group>-<instance-index>  Subscriber
//	(partitioned: true)      bound with <destination>-<p> for each of its
//	                         partitions p
//	dead letters (dlq: true) topic exchange and durable queue named        Subscriber
//	                         <destination>.<group>.dlq (dlq-destination),
//	                         bound with "#"; the group queue's
//	                         x-dead-letter-exchange
//
// A message is published to the destination's exchange with the routing key
// <destination>, or <destination>-<partition> when the SDK chose a
// partition (partition-count > 1), with publisher confirms.
//
// # Delivery
//
// Each member of a group (one per unit of a binding's concurrency) is a
// consumer on its own channel with basic.qos prefetch (default 1). A
// message is acked after its handler succeeded; the SDK retries a failing
// message in process (max-attempts, back-off) and then publishes it, with
// the x-original-destination, x-original-group, x-exception-message and
// x-attempts headers, to the dead-letter exchange. A nack (shutdown, pause)
// requeues it. After a lost connection the binder reconnects, declares the
// topology again and resumes; unacked messages are redelivered.
//
// # CloudEvents
//
// Attributes travel as cloudEvents:-prefixed headers (cloudEvents:id,
// cloudEvents:source, ...), datacontenttype as the AMQP content-type
// property, the Watermill UUID as the message-id property; see [Marshaler].
//
// # Usage
//
//	b, err := rabbit.New(ctx, rabbit.Config{URL: "amqp://guest:guest@localhost:5672/"})
//	app := stream.New(cfg, stream.WithBinder("rabbit", b))
//
// or, with fx, [Module].
package rabbit
