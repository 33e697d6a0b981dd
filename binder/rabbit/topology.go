package rabbit

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/stream"
)

// ExchangeType is the type of every destination's exchange.
const ExchangeType = "topic"

// Queue arguments the binder sets.
const (
	ArgDeadLetterExchange = "x-dead-letter-exchange"
)

// Topology is what the binder declares for one subscription. Declaring is
// idempotent: the same subscription declares the same topology again after
// a reconnect.
type Topology struct {
	// Exchange is the destination's topic exchange (durable).
	Exchange string
	// Queue is the subscription's queue: "<destination>.<group>" for a
	// group, "<destination>.<group>-<instance-index>" for a partitioned
	// binding, "<destination>.anonymous.<id>" for an anonymous one.
	Queue string
	// Durable queues survive a broker restart; anonymous queues are
	// exclusive to the connection and deleted with their last consumer.
	Durable bool
	// BindingKeys bind Queue to Exchange: "#" (everything), or
	// "<destination>-<partition>" for each partition of a partitioned
	// binding.
	BindingKeys []string
	// DeadLetterExchange is set as the queue's x-dead-letter-exchange: the
	// binding's dlq-destination. Messages the broker dead-letters (rejected
	// without requeue, expired) go there, as do the SDK's dead letters.
	DeadLetterExchange string
	// DeadLetterQueue, when not empty, is declared (durable) and bound to
	// DeadLetterExchange with "#": the binding has dlq on.
	DeadLetterQueue string
}

// SubscriptionTopology returns the topology of a subscription.
func SubscriptionTopology(s stream.Subscription) Topology {
	t := Topology{
		Exchange:           s.Destination,
		Queue:              s.Destination + "." + s.Group,
		Durable:            !s.Anonymous,
		BindingKeys:        []string{"#"},
		DeadLetterExchange: s.Properties.DLQDestination,
	}
	if t.DeadLetterExchange == "" {
		// The SDK's default, from the subscription's own group, so that
		// callers that leave Properties.Group empty declare the same queue.
		t.DeadLetterExchange = s.Destination + "." + s.Group + ".dlq"
		if s.Anonymous {
			t.DeadLetterExchange = s.Destination + ".dlq"
		}
	}
	if s.Properties.DLQ {
		t.DeadLetterQueue = t.DeadLetterExchange
	}
	if len(s.Partitions) > 0 {
		if !s.Anonymous {
			t.Queue += "-" + strconv.Itoa(s.Properties.InstanceIndex)
		}
		t.BindingKeys = t.BindingKeys[:0]
		for _, p := range s.Partitions {
			t.BindingKeys = append(t.BindingKeys, PartitionRoutingKey(s.Destination, p))
		}
	}
	return t
}

// PartitionRoutingKey is the routing key of partition p of a destination,
// as Spring Cloud Stream's rabbit binder writes it.
func PartitionRoutingKey(destination string, p int) string {
	return destination + "-" + strconv.Itoa(p)
}

// Declare declares the topology on ch.
func (t Topology) Declare(ch *amqp.Channel) error {
	if err := declareExchange(ch, t.Exchange); err != nil {
		return err
	}
	if t.DeadLetterQueue != "" {
		if err := declareExchange(ch, t.DeadLetterExchange); err != nil {
			return err
		}
		if _, err := ch.QueueDeclare(t.DeadLetterQueue, true, false, false, false, nil); err != nil {
			return queueError(t.DeadLetterQueue, err)
		}
		if err := ch.QueueBind(t.DeadLetterQueue, "#", t.DeadLetterExchange, false, nil); err != nil {
			return fmt.Errorf("rabbit: bind dead-letter queue %s to exchange %s: %w", t.DeadLetterQueue, t.DeadLetterExchange, err)
		}
	}
	var args amqp.Table
	if t.DeadLetterExchange != "" {
		args = amqp.Table{ArgDeadLetterExchange: t.DeadLetterExchange}
	}
	if _, err := ch.QueueDeclare(t.Queue, t.Durable, !t.Durable, !t.Durable, false, args); err != nil {
		return queueError(t.Queue, err)
	}
	for _, k := range t.BindingKeys {
		if err := ch.QueueBind(t.Queue, k, t.Exchange, false, nil); err != nil {
			return fmt.Errorf("rabbit: bind queue %s to exchange %s with %q: %w", t.Queue, t.Exchange, k, err)
		}
	}
	return nil
}

func declareExchange(ch *amqp.Channel, name string) error {
	if err := ch.ExchangeDeclare(name, ExchangeType, true, false, false, false, nil); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
			return fmt.Errorf("rabbit: declare exchange %s: it exists with another type or durability (want a durable topic exchange); delete it or choose another destination: %w", name, err)
		}
		return fmt.Errorf("rabbit: declare exchange %s: %w", name, err)
	}
	return nil
}

func queueError(queue string, err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
		return fmt.Errorf("rabbit: declare queue %s: it exists with other arguments (durability or x-dead-letter-exchange, which follows dlq-destination); delete it (rabbitmqctl delete_queue %s) or use another group: %w", queue, queue, err)
	}
	return fmt.Errorf("rabbit: declare queue %s: %w", queue, err)
}

// topologyBuilder adapts a Topology to watermill-amqp, which calls it when
// a subscription starts and again after every reconnect.
type topologyBuilder struct{ t Topology }

func (b topologyBuilder) BuildTopology(ch *amqp.Channel, _ wamqp.BuildTopologyParams, _ wamqp.Config, _ watermill.LoggerAdapter) error {
	return b.t.Declare(ch)
}

func (b topologyBuilder) ExchangeDeclare(ch *amqp.Channel, name string, _ wamqp.Config) error {
	return declareExchange(ch, name)
}
