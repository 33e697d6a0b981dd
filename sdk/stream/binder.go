package stream

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// A Binder connects bindings to a transport. It hands out Watermill
// publishers and subscribers; the SDK does everything else (encoding,
// retries, dead letters, partition choice, lifecycle) on top of them.
//
// # Concurrency and ownership
//
// All methods are safe for concurrent use. The caller owns each Publisher
// and Subscriber it gets and closes it; Close of the Binder is called once,
// after every publisher and subscriber it handed out was closed, and
// releases what the binder holds (connections, the in-process store).
// Messages passed to Publish belong to the binder until Publish returns; the
// binder must copy what it keeps.
//
// # Provisioning
//
// Publisher creates the destination if it does not exist, with at least
// PartitionCount partitions where the transport has partitions. Subscriber
// creates the destination and the group's subscription (queue, consumer
// group) as needed.
//
// # Delivery
//
// Each Subscribe call on a Subscriber joins the subscription's group as one
// more member; the SDK calls it Concurrency times. Members of one group
// share the messages (by partition where there are partitions); every group
// gets every message. A member delivers a message and waits for its Ack or
// Nack before it delivers the next one of the same partition. Nack means
// redeliver: the same message comes again, to this or another member. Ack
// after Close of the subscriber still counts, so that in-flight messages
// drain on shutdown. A subscription with Anonymous set is not durable: it
// gets messages sent after it was created and is deleted on Close.
//
// Messages carry CloudEvents in the binder's [cloudevent.Convention].
// Binders with record keys or partitions honour [cloudevent.MetadataKey] and
// [cloudevent.MetadataPartition] when sending and set them when receiving;
// they never send transport-private metadata ([cloudevent.IsPrivate]) as
// headers.
type Binder interface {
	// Features describes what the transport supports.
	Features() Features
	// Convention is how the transport carries CloudEvent attributes.
	Convention() cloudevent.Convention
	// Publisher returns a publisher for p.Destination.
	Publisher(ctx context.Context, p Publication) (message.Publisher, error)
	// Subscriber returns a subscriber for s.Destination and s.Group. Its
	// Subscribe is called with s.Destination as the topic. Nothing may
	// write into the payload of a message it delivered (a handler's
	// string input shares those bytes): a subscriber that reuses its
	// receive buffers copies the payload out of them.
	Subscriber(ctx context.Context, s Subscription) (message.Subscriber, error)
	// Close releases the binder.
	Close() error
}

// Publication is what [Binder.Publisher] is asked for.
type Publication struct {
	// Destination to send to.
	Destination string
	// Properties of the binding, with defaults applied. Dynamic destinations
	// of the Bridge get the defaults.
	Properties BindingProperties
}

// Subscription is what [Binder.Subscriber] is asked for.
type Subscription struct {
	// Destination to read from.
	Destination string
	// Group is never empty: for an anonymous binding the SDK makes up a
	// unique name, "anonymous.<uuid>".
	Group string
	// Anonymous marks a non-durable subscription: it starts at the end of
	// the destination and is deleted on Close.
	Anonymous bool
	// StartOffset is where a new durable group starts (Earliest or Latest).
	StartOffset StartOffset
	// Partitions, when not nil, restricts the subscription to these
	// partitions: a partitioned input binding (partitioned: true,
	// instance-count > 1) reads the partitions p < max(partition-count,
	// instance-count) with p % instance-count == instance-index. Binders
	// without partitions ignore it.
	Partitions []int
	// Properties of the binding, with defaults applied.
	Properties BindingProperties
}

// Features describes a binder, for the SDK and the conformance suite.
type Features struct {
	// Durable: a group's position survives closing the binder and opening a
	// new one on the same backing store (a broker restart, a new process).
	Durable bool
	// Partitions: destinations have partitions, order is kept per partition
	// and [cloudevent.MetadataPartition] chooses one.
	Partitions bool
	// Retention: a new group with StartOffset Earliest reads messages sent
	// before it existed.
	Retention bool
}

// HealthChecker is implemented by binders that can report on their
// transport's health (the actuator calls it).
type HealthChecker interface {
	Health(ctx context.Context) error
}

// HealthDetailer is implemented by binders that can say more about their
// transport than up or down: the state of their connections, the consumer
// lag of each binding. The actuator shows the details under the binder's
// health (see [App.BinderHealth]).
//
// HealthDetails is safe for concurrent use and returns a fresh map that
// the caller owns, of values that encoding/json can encode. Entries that
// concern one binding are keyed by its name ([BindingProperties.BindingName]).
// It should answer from what the binder already knows rather than make
// requests: [HealthChecker.Health] is the check.
type HealthDetailer interface {
	HealthDetails(ctx context.Context) map[string]any
}
