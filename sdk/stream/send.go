package stream

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"mime"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

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
	c := traceOn(ctx, traceparent, correlation)
	return &c
}

// traceOn is the traceContext withTrace returns a pointer to.
func traceOn(ctx context.Context, traceparent, correlation string) traceContext {
	return traceContext{Context: ctx, info: traceInfo{traceparent: traceparent, correlation: correlation}}
}

// traceContext is context.WithValue(ctx, traceKey{}, &info) in one
// allocation instead of two. Its Value is *traceInfo.
type traceContext struct {
	context.Context
	info traceInfo
}

func (c *traceContext) Value(key any) any {
	if _, ok := key.(traceKey); ok {
		return &c.info // a pointer: no allocation per lookup
	}
	return c.Context.Value(key)
}

// Traceparent returns the W3C traceparent of the message being handled, when
// ctx is a handler's context; else "". What a handler sends through the
// Bridge continues this trace.
func Traceparent(ctx context.Context) string {
	if t, ok := ctx.Value(traceKey{}).(*traceInfo); ok {
		return t.traceparent
	}
	return ""
}

// sender turns handler outputs into messages for one output binding (or a
// Bridge destination).
type sender struct {
	app     *App
	binding string
	props   BindingProperties
	conv    cloudevent.Convention
	key     func(any) string
	// lastType caches the CloudEvent type of the last payload type sent.
	lastType atomic.Pointer[typeNameOf]
	// lastContentType is the last content type found valid.
	lastContentType atomic.Pointer[string]
}

// message encodes out as a CloudEvent message. ctx may carry the trace of
// the message being handled (see withTrace).
//
// When the handler set no attribute of its own but the time and the key,
// the values are valid by construction (a fresh id, the application's
// source parsed once, a type name, a content type that configuration or a
// codec gave) and are not validated again; in binary mode without a
// partition-key expression they make a [cloudevent.BinaryEvent] (see
// event), else an sdk-go event. Attributes the handler set are validated
// by [cloudevent.ToMessage].
func (s *sender) message(ctx context.Context, out *outbound) (*message.Message, error) {
	ev, msg, err := s.encode(ctx, out, nil)
	if ev != nil {
		return s.eventMessage(ev, out)
	}
	return msg, err
}

// eventMessage is the message of the event encode returned for out. Its
// payload is a copy of data that are a string's bytes: a publisher may
// write into a message's payload.
func (s *sender) eventMessage(ev *cloudevent.BinaryEvent, out *outbound) (*message.Message, error) {
	if out.shared {
		ev.Data = slices.Clone(ev.Data)
		out.shared = false
	}
	msg, err := ev.Message(s.conv)
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", s.binding, err)
	}
	return msg, nil
}

// encode is message, but for the short way (binary mode, see event) it
// returns the event rather than its message: room, when not nil, is where
// the event is made.
func (s *sender) encode(ctx context.Context, out *outbound, room *cloudevent.BinaryEvent) (*cloudevent.BinaryEvent, *message.Message, error) {
	a := &out.attrs
	ct := a.ContentType
	if ct == "" {
		ct = s.props.ContentType
	}
	var data []byte
	var err error
	if str, ok := out.payload.(string); ok {
		// The string's own bytes: an event's data are only read (see
		// EventPublisher); any other way gets a copy (eventMessage, below).
		data, out.shared = stringBytes(str), true
		if ct == "" {
			ct = naturalContentType(str)
		}
	} else if data, ct, err = encodePayload(out.payload, ct, s.app.codecs); err != nil {
		return nil, nil, fmt.Errorf("binding %s: %w", s.binding, err)
	}
	trusted := a.Source == "" && a.Type == "" && a.Subject == "" && a.ContentType == "" && len(a.Extensions) == 0 &&
		s.validContentType(ct)
	trace := traceOf(ctx)
	key := a.Key
	if key == "" && s.key != nil {
		key = s.key(out.value)
	}
	if trusted && a.ID == "" && s.app.sourceOK && !s.props.Structured && s.props.PartitionKey == "" {
		return s.event(out, data, ct, trace, key, room), nil, nil
	}
	// One allocation holds the context and what its pointers point to.
	h := &outContext{}
	ec := &h.ec
	ec.Extensions = make(map[string]any, len(a.Extensions)+2)
	if a.ID == "" {
		ec.ID = cloudevent.NewID()
	} else if err := ec.SetID(a.ID); err != nil {
		return nil, nil, fmt.Errorf("binding %s: %w: id %q: %w", s.binding, cloudevent.ErrInvalidEvent, a.ID, err)
	}
	if a.Source == "" && s.app.sourceOK {
		ec.Source = s.app.source
	} else {
		source := a.Source
		if source == "" {
			source = s.app.cfg.Application
		}
		if err := ec.SetSource(source); err != nil {
			return nil, nil, fmt.Errorf("binding %s: %w: source %q: %w", s.binding, cloudevent.ErrInvalidEvent, source, err)
		}
		trusted = false
	}
	if a.Type != "" {
		ec.SetType(a.Type)
	} else {
		ec.Type = s.typeName(out.payload)
	}
	t := a.Time
	if t.IsZero() {
		t = time.Now()
	}
	h.time = types.Timestamp{Time: t}
	ec.Time = &h.time
	if a.Subject != "" {
		ec.SetSubject(a.Subject)
	}
	if h.ct = strings.TrimSpace(ct); h.ct != "" { // as SetDataContentType
		ec.DataContentType = &h.ct
	}
	for k, v := range a.Extensions {
		if err := ec.SetExtension(k, v); err != nil {
			return nil, nil, fmt.Errorf("binding %s: %w: extension %s: %w", s.binding, cloudevent.ErrInvalidEvent, k, err)
		}
	}
	if _, ok := a.Extensions[cloudevent.TraceparentExtension]; !ok {
		// A new trace when the message handled had none.
		ec.Extensions[cloudevent.TraceparentExtension] = cloudevent.ChildTraceparent(trace.traceparent)
	}
	if out.shared {
		data = slices.Clone(data)
	}
	e := event.Event{Context: ec, DataEncoded: data}
	if key == "" && s.props.PartitionKey != "" {
		key = keyFrom(s.props.PartitionKey, &e, a.Headers)
	}
	if key != "" {
		ec.Extensions[cloudevent.PartitionKeyExtension] = key
	}
	mode := cloudevent.Binary
	if s.props.Structured {
		mode = cloudevent.Structured
	}
	var msg *message.Message
	if trusted {
		msg, err = cloudevent.ToMessageTrustedWithRoom(e, mode, s.conv, s.extra(a, trace, key))
	} else {
		msg, err = cloudevent.ToMessage(e, mode, s.conv)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("binding %s: %w", s.binding, err)
	}
	s.finish(msg, a, trace, key)
	return nil, msg, nil
}

// event is the most common output: binary mode, with no attribute but the
// time and the key set by the handler, and no partition-key expression.
// Every attribute is valid by construction, so the event is given by its
// parts, without an sdk-go event; its metadata are what finish would add.
// It is made in room (a new event when nil).
func (s *sender) event(out *outbound, data []byte, ct string, trace traceInfo, key string, room *cloudevent.BinaryEvent) *cloudevent.BinaryEvent {
	a := &out.attrs
	ev := room
	if ev == nil {
		ev = new(cloudevent.BinaryEvent)
	}
	*ev = cloudevent.BinaryEvent{Attributes: cloudevent.Attributes{
		ID:           cloudevent.NewID(),
		Source:       s.app.sourceText,
		Type:         s.typeName(out.payload),
		ContentType:  strings.TrimSpace(ct),
		Time:         a.Time,
		Traceparent:  cloudevent.ChildTraceparent(trace.traceparent), // a new trace when there was none
		PartitionKey: key,
	}, Data: data, Partition: -1}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	for k, v := range a.Headers {
		if !ev.Sets(s.conv, k) && !cloudevent.IsPrivate(k) && (k != HeaderCorrelationID || trace.correlation == "") {
			ev.AddExtra(k, v)
		}
	}
	if trace.correlation != "" { // the input's, over the handler's header
		ev.AddExtra(HeaderCorrelationID, trace.correlation)
	}
	if s.partitioned(key) {
		ev.Partition = Partition(key, s.props.PartitionCount)
	}
	return ev
}

// partitioned reports whether an output with key goes to a partition the
// SDK picks.
func (s *sender) partitioned(key string) bool { return s.props.PartitionCount > 1 && key != "" }

// traceOf returns the trace of the message being handled, when ctx is a
// handler's context (see withTrace).
func traceOf(ctx context.Context) traceInfo {
	if t, ok := ctx.Value(traceKey{}).(*traceInfo); ok {
		return *t
	}
	return traceInfo{}
}

// extra counts the metadata entries finish adds.
func (s *sender) extra(a *Message[struct{}], trace traceInfo, key string) int {
	n := len(a.Headers)
	if trace.correlation != "" {
		n++
	}
	if s.partitioned(key) {
		n++
	}
	return n
}

// finish adds to msg the handler's headers, the correlation id of the
// message being handled and the partition that key picks.
func (s *sender) finish(msg *message.Message, a *Message[struct{}], trace traceInfo, key string) {
	for k, v := range a.Headers {
		if _, taken := msg.Metadata[k]; !taken && !cloudevent.IsPrivate(k) {
			msg.Metadata[k] = v
		}
	}
	if trace.correlation != "" {
		msg.Metadata[HeaderCorrelationID] = trace.correlation
	}
	if s.partitioned(key) {
		msg.Metadata[cloudevent.MetadataPartition] = strconv.Itoa(Partition(key, s.props.PartitionCount))
	}
}

// outContext is an event context together with the values its pointer
// fields point to, so that building one takes one allocation.
type outContext struct {
	ec   event.EventContextV1
	time types.Timestamp
	ct   string
}

// typeName is cloudevent.TypeName of v's type, remembered for the type the
// sender saw last (a binding sends one type, as a rule).
func (s *sender) typeName(v any) string {
	t := reflect.TypeOf(v)
	if c := s.lastType.Load(); c != nil && c.t == t {
		return c.name
	}
	name := cloudevent.TypeName(t)
	s.lastType.Store(&typeNameOf{t: t, name: name})
	return name
}

// validContentType reports whether ct is a media type, as CloudEvents
// requires of datacontenttype, remembering the last one that was.
func (s *sender) validContentType(ct string) bool {
	if p := s.lastContentType.Load(); p != nil && *p == ct {
		return true
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return false
	}
	valid := ct // only this copy escapes, and only here
	s.lastContentType.Store(&valid)
	return true
}

type typeNameOf struct {
	t    reflect.Type
	name string
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

// binaryInbound is the inbound of data whose attributes ReadBinary read
// as b.
func binaryInbound(b *cloudevent.Attributes, data []byte) inbound {
	in := inbound{data: data}
	a := &in.attrs
	a.ID, a.Source, a.Type, a.Subject, a.Time, a.ContentType = b.ID, b.Source, b.Type, b.Subject, b.Time, b.ContentType
	return in
}

// receive turns a received message into an inbound, with the content type
// defaulting to the binding's. Without attrs, only what decoding a payload
// needs is kept (content type, id): the extensions and headers are skipped,
// for handlers that take a payload rather than a Message.
func receive(msg *message.Message, conv cloudevent.Convention, contentType string, attrs bool) (inbound, string, error) {
	if !attrs {
		if b, ok := cloudevent.ReadBinary(msg, conv); ok {
			return binaryInbound(&b, msg.Payload), b.Traceparent, nil
		}
	}
	e, err := cloudevent.FromMessage(msg, conv)
	if err != nil {
		return inbound{}, "", fmt.Errorf("%w: %w", ErrDecode, err)
	}
	in := inbound{data: e.Data()}
	a := &in.attrs
	a.ID, a.Source, a.Type, a.Subject, a.Time = e.ID(), cloudevent.Source(e), e.Type(), e.Subject(), e.Time()
	a.ContentType = e.DataContentType()
	if a.ContentType == "" {
		a.ContentType = contentType
	}
	var traceparent string
	var exts map[string]any
	if ec, ok := e.Context.(*event.EventContextV1); ok {
		exts = ec.Extensions // read only: no need for e.Extensions' copy
	} else {
		exts = e.Extensions()
	}
	if !attrs {
		if tp, ok := exts[cloudevent.TraceparentExtension].(string); ok {
			traceparent = tp
		}
		return in, traceparent, nil
	}
	if len(exts) > 0 {
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
