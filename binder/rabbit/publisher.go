package rabbit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// routeSep joins exchange and routing key in the topic handed to
// watermill-amqp, whose routing key is a function of the topic alone.
const routeSep = "\x00"

// Publisher sends to destination exchanges with publisher confirms: Publish
// returns once the broker has taken responsibility for every message (for a
// persistent message on a durable queue: written to disk). It is safe for
// concurrent use.
//
// The routing key is the destination, or "<destination>-<partition>" for a
// message whose [cloudevent.MetadataPartition] the SDK set. While the
// connection is down, Publish waits up to reconnect-wait for it to come
// back, and sends again a message whose confirm was lost with it (so a
// message may arrive twice, never not at all once Publish returned nil).
type Publisher struct {
	b     *Binder
	inner *wamqp.Publisher
}

func newPublisher(b *Binder, destination string) (*Publisher, error) {
	cfg := wamqp.Config{
		Connection: wamqp.ConnectionConfig{AmqpURI: b.cfg.URL},
		Marshaler:  Marshaler{Transient: b.cfg.Transient},
		Exchange: wamqp.ExchangeConfig{
			GenerateName: func(topic string) string { ex, _, _ := strings.Cut(topic, routeSep); return ex },
			Type:         ExchangeType,
			Durable:      true,
		},
		Publish: wamqp.PublishConfig{
			GenerateRoutingKey: func(topic string) string { _, rk, _ := strings.Cut(topic, routeSep); return rk },
			ConfirmDelivery:    true,
			ChannelPoolSize:    b.cfg.ChannelPool,
		},
		TopologyBuilder: topologyBuilder{},
	}
	if err := b.awaitConnection(b.pubConn); err != nil {
		return nil, err
	}
	inner, err := wamqp.NewPublisherWithConnection(cfg, b.wlog, b.pubConn)
	if err != nil {
		return nil, fmt.Errorf("rabbit: publisher for %s: %w", destination, err)
	}
	return &Publisher{b: b, inner: inner}, nil
}

// RoutingKey is the routing key msg is sent to destination with.
func RoutingKey(destination string, msg *message.Message) string {
	if p, ok := msg.Metadata[cloudevent.MetadataPartition]; ok {
		if n, err := strconv.Atoi(p); err == nil && n >= 0 {
			return PartitionRoutingKey(destination, n)
		}
	}
	return destination
}

// Publish implements message.Publisher: topic is the destination.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if topic == "" {
		return errors.New("rabbit: publish: empty destination")
	}
	for _, m := range msgs {
		if err := p.publish(topic, m); err != nil {
			return err
		}
	}
	return nil
}

func (p *Publisher) publish(topic string, m *message.Message) error {
	route := topic + routeSep + RoutingKey(topic, m)
	deadline := time.Now().Add(p.b.cfg.ReconnectWait)
	for {
		if err := p.b.awaitConnection(p.b.pubConn); err != nil {
			return fmt.Errorf("rabbit: publish %s to %s: %w", m.UUID, topic, err)
		}
		err := p.inner.Publish(route, m)
		if err == nil {
			return nil
		}
		if !connectionLost(err) || !p.b.pubConn.IsConnected() && p.b.pubConn.Closed() || time.Now().After(deadline) {
			return fmt.Errorf("rabbit: publish %s to %s: %w", m.UUID, topic, err)
		}
		p.b.log.Warn("rabbit: send failed with the connection; sending again", "destination", topic, "id", m.UUID, "error", err)
	}
}

// connectionLost reports whether a publish failed because the channel or
// connection went away (a retry on a new one may succeed).
func connectionLost(err error) bool {
	var ae *amqp.Error
	if errors.Is(err, amqp.ErrClosed) || errors.As(err, &ae) && (ae.Code == amqp.ChannelError || ae.Code == amqp.ConnectionForced) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "not connected") || strings.Contains(s, "delivery not confirmed") || strings.Contains(s, "channel/connection is not open")
}

// Close implements message.Publisher. The binder's connection stays open.
func (p *Publisher) Close() error { return p.inner.Close() }
