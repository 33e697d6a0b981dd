// Package kafka is Millstream's Kafka binder, and a Watermill Pub/Sub on
// franz-go that any Watermill application can use on its own.
//
// # Watermill
//
// [Publisher] and [Subscriber] implement message.Publisher and
// message.Subscriber against any Kafka-protocol cluster: Apache Kafka,
// Redpanda, or Millstream's bundled broker. Publishing is synchronous, with
// acks=all and the idempotent producer by default; keys are hashed onto
// partitions exactly as the Java client does. Subscribing joins a consumer
// group (or reads every partition without one), processes partitions in
// parallel while keeping order within each, and commits only acked offsets.
//
//	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
//		Connection: kafka.Connection{Brokers: []string{"localhost:9092"}},
//	})
//	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
//		Connection: kafka.Connection{Brokers: []string{"localhost:9092"}},
//		Group:      "orders",
//	})
//	msgs, err := sub.Subscribe(ctx, "orders")
//
// # Record mapping
//
//	Watermill message           Kafka record
//	--------------------------  --------------------------------------------
//	Payload                     value
//	Metadata (not private)      headers, one per entry
//	Metadata[_millstream_key]   key (DefaultMarshaler.KeyMetadata)
//	Metadata[_millstream_partition]  partition, when set; else murmur2(key)
//	UUID                        header _watermill_message_uuid, unless it
//	                            equals the ce_id header
//
// # Binder
//
// [New] returns the sdk/stream Binder (and [Module] registers it with
// sdk/streamfx): destinations are topics, groups are consumer groups, and
// CloudEvents travel per the CloudEvents Kafka protocol binding (ce_
// headers, content-type, partitionkey as the record key). [ParseConfig]
// reads millstream.binders.kafka; brokers: embedded starts the bundled
// broker in process. [Binder.Health], [Binder.Lag] and
// [Binder.HealthDetails] report on the connection and consumer lag.
//
// # Files
//
//	connection.go   brokers, client id, TLS and SASL → franz-go options
//	marshal.go      message ↔ record mapping
//	partitioner.go  Java-compatible key partitioning, explicit partitions
//	publisher.go    the Watermill publisher
//	subscriber.go   the Watermill subscriber: config, Subscribe, Pause, Close
//	member.go       one consumer: polling, group callbacks, commits
//	partition.go    one partition's ordered, ack-gated delivery
//	provision.go    topic creation and partition checks with kadm
//	binder.go       the sdk/stream Binder; config.go its settings
//	embedded.go     brokers: embedded
//	health.go       health, lag
//	fx.go           the fx Module
package kafka
