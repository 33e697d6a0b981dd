package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// InvalidPartitionError is returned by Publish for a message whose
// [cloudevent.MetadataPartition] is not a partition of the topic.
type InvalidPartitionError struct {
	Topic      string
	Value      string // the metadata value
	Partitions int    // partitions the topic has; 0 when unknown
}

func (e *InvalidPartitionError) Error() string {
	if e.Partitions > 0 {
		return fmt.Sprintf("kafka: partition %s of topic %s: the topic has partitions 0 to %d", e.Value, e.Topic, e.Partitions-1)
	}
	return fmt.Sprintf("kafka: partition %q: want a partition number from 0", e.Value)
}

type partitionCtxKey struct{}

// WithPartition returns a context that sends the record carrying it to
// partition p, bypassing key hashing. A custom [Marshaler] uses it on
// kgo.Record.Context; the default one does so for
// [cloudevent.MetadataPartition].
func WithPartition(ctx context.Context, p int32) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, partitionCtxKey{}, p)
}

func explicitPartition(ctx context.Context) (int32, bool) {
	if ctx == nil {
		return 0, false
	}
	p, ok := ctx.Value(partitionCtxKey{}).(int32)
	return p, ok
}

// Partitioner returns the publisher's partitioner: a record sent with
// [WithPartition] goes to that partition; a record with a key goes to the
// partition the Java client's default partitioner picks,
// (murmur2(key) & 0x7fffffff) % partitions, so that keys land where every
// other Kafka client puts them; a record without key sticks to one partition
// per batch, as the Java client does since Kafka 2.4.
func Partitioner() kgo.Partitioner {
	return partitioner{keyed: kgo.StickyKeyPartitioner(nil)}
}

type partitioner struct{ keyed kgo.Partitioner }

func (p partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &topicPartitioner{keyed: p.keyed.ForTopic(topic)}
}

type topicPartitioner struct{ keyed kgo.TopicPartitioner }

func (t *topicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	if _, ok := explicitPartition(r.Context); ok {
		return true
	}
	return t.keyed.RequiresConsistency(r)
}

func (t *topicPartitioner) Partition(r *kgo.Record, n int) int {
	if p, ok := explicitPartition(r.Context); ok {
		// Publish checked p against the topic's partition count; a topic
		// cannot shrink, so this only guards against a stale count.
		return int(p) % n
	}
	return t.keyed.Partition(r, n)
}

func (t *topicPartitioner) OnNewBatch() {
	if nb, ok := t.keyed.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
