package rabbit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// errEmptyDelivery is what Unmarshal says of the zero delivery a consumer
// channel yields once it is closed (a lost connection): it must not reach
// a handler as an empty message.
var errEmptyDelivery = errors.New("rabbit: empty delivery from a closed channel")

// Marshaler maps Watermill messages onto AMQP 0-9-1 and back, for
// watermill-amqp:
//
//	Watermill message                 AMQP message
//	--------------------------------  ---------------------------------------
//	Payload                           body
//	UUID                              message-id property
//	Metadata["content-type"]          content-type property (the CloudEvent's
//	                                  datacontenttype, or
//	                                  application/cloudevents+json)
//	other Metadata, e.g.              headers, as long strings
//	  cloudEvents:id, x-attempts
//	Metadata[_millstream_*]           not sent (transport-private)
//
// Received headers that are not strings (sent by other clients) become
// their decimal or text form; nested tables and arrays are left out.
type Marshaler struct {
	// Transient sends non-persistent messages (delivery mode 1).
	Transient bool
}

var _ wamqp.Marshaler = Marshaler{}

// contentTypeKey is where the convention keeps datacontenttype.
var contentTypeKey = cloudevent.AMQP().ContentTypeKey

// Marshal implements watermill-amqp's Marshaler.
func (m Marshaler) Marshal(msg *message.Message) (amqp.Publishing, error) {
	headers := make(amqp.Table, len(msg.Metadata))
	var contentType string
	for k, v := range msg.Metadata {
		switch {
		case k == contentTypeKey:
			contentType = v
		case cloudevent.IsPrivate(k), strings.HasPrefix(k, "_watermill_"):
		default:
			headers[k] = v
		}
	}
	p := amqp.Publishing{
		Headers:      headers,
		ContentType:  contentType,
		MessageId:    msg.UUID,
		Body:         msg.Payload,
		DeliveryMode: amqp.Persistent,
	}
	if m.Transient {
		p.DeliveryMode = amqp.Transient
	}
	return p, nil
}

// Unmarshal implements watermill-amqp's Marshaler.
func (m Marshaler) Unmarshal(d amqp.Delivery) (*message.Message, error) {
	if d.Acknowledger == nil && d.DeliveryTag == 0 {
		return nil, errEmptyDelivery
	}
	id := d.MessageId
	msg := message.NewMessage("", d.Body)
	msg.Metadata = make(message.Metadata, len(d.Headers)+1)
	for k, v := range d.Headers {
		if k == wamqp.DefaultMessageUUIDHeaderKey {
			if s, ok := v.(string); ok && id == "" {
				id = s // sent by a plain watermill-amqp publisher
			}
			continue
		}
		if cloudevent.IsPrivate(k) {
			continue
		}
		if s, ok := headerString(v); ok {
			msg.Metadata[k] = s
		}
	}
	if d.ContentType != "" {
		msg.Metadata[contentTypeKey] = d.ContentType
	}
	msg.UUID = id
	return msg, nil
}

// headerString renders a received header value as text, for the types
// AMQP 0-9-1 field tables carry.
func headerString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	case bool, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprint(v), true
	case amqp.Decimal:
		return fmt.Sprintf("%de-%d", v.Value, v.Scale), true
	case time.Time:
		return v.UTC().Format(time.RFC3339), true
	}
	return "", false
}
