package stream

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// Metadata keys the SDK sets besides CloudEvent attributes.
const (
	// HeaderCorrelationID carries the correlation id (Watermill's), copied
	// from the message being handled to what the handler sends.
	HeaderCorrelationID = middleware.CorrelationIDMetadataKey
)

// traceKey is the context key of the trace of the message being handled.
type traceKey struct{}

type traceInfo struct {
	traceparent string
	correlation string
}

func withTrace(ctx context.Context, traceparent, correlation string) context.Context {
	return context.WithValue(ctx, traceKey{}, traceInfo{traceparent: traceparent, correlation: correlation})
}

// Traceparent returns the W3C traceparent of the message being handled, when
// ctx is a handler's context; else "". What a handler sends through the
// Bridge continues this trace.
func Traceparent(ctx context.Context) string {
	t, _ := ctx.Value(traceKey{}).(traceInfo)
	return t.traceparent
}

// sender turns handler outputs into messages for one output binding (or a
// Bridge destination).
type sender struct {
	app     *App
	binding string
	props   BindingProperties
	conv    cloudevent.Convention
	key     func(any) string
}

// message encodes out as a CloudEvent message. ctx may carry the trace of
// the message being handled (see withTrace).
func (s *sender) message(ctx context.Context, out *outbound) (*message.Message, error) {
	a := out.attrs
	ct := a.ContentType
	if ct == "" {
		ct = s.props.ContentType
	}
	data, ct, err := encodePayload(out.payload, ct, s.app.codecs)
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", s.binding, err)
	}
	e := event.New(event.CloudEventsVersionV1)
	id := a.ID
	if id == "" {
		id = watermill.NewUUID()
	}
	e.SetID(id)
	source := a.Source
	if source == "" {
		source = s.app.cfg.Application
	}
	e.SetSource(source)
	typ := a.Type
	if typ == "" {
		typ = cloudevent.TypeName(reflect.TypeOf(out.payload))
	}
	e.SetType(typ)
	t := a.Time
	if t.IsZero() {
		t = time.Now()
	}
	e.SetTime(t)
	if a.Subject != "" {
		e.SetSubject(a.Subject)
	}
	e.SetDataContentType(ct)
	for k, v := range a.Extensions {
		e.SetExtension(k, v)
	}
	trace, _ := ctx.Value(traceKey{}).(traceInfo)
	if _, ok := a.Extensions[cloudevent.TraceparentExtension]; !ok {
		if trace.traceparent != "" {
			e.SetExtension(cloudevent.TraceparentExtension, cloudevent.ChildTraceparent(trace.traceparent))
		} else {
			e.SetExtension(cloudevent.TraceparentExtension, cloudevent.NewTraceparent())
		}
	}
	key := a.Key
	if key == "" && s.key != nil {
		key = s.key(out.value)
	}
	if key == "" && s.props.PartitionKey != "" {
		key = keyFrom(s.props.PartitionKey, &e, a.Headers)
	}
	if key != "" {
		e.SetExtension(cloudevent.PartitionKeyExtension, key)
	}
	e.DataEncoded = data
	mode := cloudevent.Binary
	if s.props.Structured {
		mode = cloudevent.Structured
	}
	msg, err := cloudevent.ToMessage(e, mode, s.conv)
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", s.binding, err)
	}
	for k, v := range a.Headers {
		if _, taken := msg.Metadata[k]; !taken && !cloudevent.IsPrivate(k) {
			msg.Metadata[k] = v
		}
	}
	if trace.correlation != "" {
		msg.Metadata[HeaderCorrelationID] = trace.correlation
	}
	if s.props.PartitionCount > 1 && key != "" {
		msg.Metadata[cloudevent.MetadataPartition] = strconv.Itoa(Partition(key, s.props.PartitionCount))
	}
	return msg, nil
}

// Partition is the partition of key among count partitions: FNV-1a of the
// key, modulo count. Every binding of every instance computes the same one.
func Partition(key string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(count))
}

// keyFrom reads a partition key from where the partition-key property says.
func keyFrom(spec string, e *event.Event, headers map[string]string) string {
	switch {
	case spec == "subject":
		return e.Subject()
	case spec == "type":
		return e.Type()
	case spec == "source":
		return e.Source()
	case spec == "id":
		return e.ID()
	case strings.HasPrefix(spec, "header:"):
		return headers[strings.TrimPrefix(spec, "header:")]
	case strings.HasPrefix(spec, "extension:"):
		v, ok := e.Extensions()[strings.TrimPrefix(spec, "extension:")]
		if !ok {
			return ""
		}
		return fmt.Sprint(v)
	}
	return ""
}

// receive turns a received message into an inbound, with the content type
// defaulting to the binding's.
func receive(msg *message.Message, conv cloudevent.Convention, contentType string) (*inbound, string, error) {
	e, err := cloudevent.FromMessage(msg, conv)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrDecode, err)
	}
	in := &inbound{data: e.Data()}
	a := &in.attrs
	a.ID, a.Source, a.Type, a.Subject, a.Time = e.ID(), e.Source(), e.Type(), e.Subject(), e.Time()
	a.ContentType = e.DataContentType()
	if a.ContentType == "" {
		a.ContentType = contentType
	}
	var traceparent string
	if exts := e.Extensions(); len(exts) > 0 {
		a.Extensions = make(map[string]string, len(exts))
		for k, v := range exts {
			s, ok := v.(string)
			if !ok {
				s = fmt.Sprint(v)
			}
			switch k {
			case cloudevent.PartitionKeyExtension:
				a.Key = s
			case cloudevent.TraceparentExtension:
				traceparent = s
				a.Extensions[k] = s
			default:
				a.Extensions[k] = s
			}
		}
	}
	a.Headers = cloudevent.Headers(msg, conv)
	return in, traceparent, nil
}

// copyMessage copies a message for publishing elsewhere (a dead letter).
func copyMessage(m *message.Message) *message.Message {
	c := message.NewMessage(m.UUID, append([]byte(nil), m.Payload...))
	c.Metadata = make(message.Metadata, len(m.Metadata)+4)
	maps.Copy(c.Metadata, m.Metadata)
	return c
}
