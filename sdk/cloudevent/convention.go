package cloudevent

import "strings"

// Transport-private metadata. Entries whose keys start with [PrivatePrefix]
// are instructions between the SDK and a binder; a binder never writes them
// as headers on the wire.
const (
	// PrivatePrefix starts every transport-private metadata key.
	PrivatePrefix = "_millstream_"
	// MetadataKey holds the record key: set from the partitionkey extension
	// when sending, and by a binder whose transport has keys (Kafka) when
	// receiving.
	MetadataKey = PrivatePrefix + "key"
	// MetadataPartition holds the partition number, in decimal, chosen by
	// the SDK for a partitioned binding; a binder with partitions sends the
	// message there. Binders that receive from partitions set it too.
	MetadataPartition = PrivatePrefix + "partition"
)

// IsPrivate reports whether a metadata key is transport-private.
func IsPrivate(key string) bool { return strings.HasPrefix(key, PrivatePrefix) }

// A Convention says how a transport carries CloudEvent attributes in message
// metadata. Conventions are plain values; compare them by Name.
type Convention struct {
	// Name identifies the convention in errors and logs.
	Name string
	// AttributePrefix starts the metadata key of every attribute other than
	// datacontenttype, in binary mode.
	AttributePrefix string
	// ContentTypeKey is the metadata key of datacontenttype (binary mode) or
	// of the structured content type.
	ContentTypeKey string
	// KeyFromPartitionKey copies the partitionkey extension to
	// [MetadataKey], for transports whose records have a key.
	KeyFromPartitionKey bool
}

// Kafka is the CloudEvents Kafka protocol binding: ce_ headers, a
// content-type header, and the partitionkey extension as the record key.
func Kafka() Convention {
	return Convention{Name: "kafka", AttributePrefix: "ce_", ContentTypeKey: "content-type", KeyFromPartitionKey: true}
}

// AMQP is the convention for AMQP 0-9-1 (RabbitMQ): cloudEvents:-prefixed
// headers, and the content type in the content-type entry, which the rabbit
// binder carries as the AMQP content type property.
func AMQP() Convention {
	return Convention{Name: "amqp", AttributePrefix: "cloudEvents:", ContentTypeKey: "content-type"}
}

// Memory is the convention of the in-memory binder. It is the Kafka one, so
// that what a test sees on the memory binder is what Kafka would carry.
func Memory() Convention {
	c := Kafka()
	c.Name = "memory"
	return c
}

func (c Convention) valid() bool { return c.AttributePrefix != "" && c.ContentTypeKey != "" }
