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
// [New] returns the sdk/stream Binder: destinations are topics, groups are
// consumer groups, and CloudEvents travel per the CloudEvents Kafka protocol
// binding (ce_ headers, content-type, partitionkey as the record key).
package kafka
