package cloudevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Mode is the CloudEvents content mode of a message.
type Mode int

const (
	// Binary carries attributes in metadata and the data as the payload.
	Binary Mode = iota
	// Structured carries the whole event, JSON encoded, as the payload.
	Structured
)

func (m Mode) String() string {
	if m == Structured {
		return "structured"
	}
	return "binary"
}

// StructuredContentType is the content type of a structured-mode message.
const StructuredContentType = "application/cloudevents+json"

// Defaults given to a message that carries no CloudEvent attributes.
const (
	ExternalSource = "urn:millstream:external"
	ExternalType   = "millstream.external"
)

// PartitionKeyExtension is the CloudEvents partitioning extension.
const PartitionKeyExtension = "partitionkey"

// TraceparentExtension is the CloudEvents distributed-tracing extension
// (W3C trace context).
const TraceparentExtension = "traceparent"

// Errors returned by [FromMessage]; match them with errors.Is.
var (
	// ErrInvalidEvent: the message claims to be a CloudEvent but is not a
	// valid one (bad time, missing required attribute, broken JSON).
	ErrInvalidEvent = errors.New("cloudevent: invalid event")
	// ErrUnsupportedVersion: a specversion other than 1.0.
	ErrUnsupportedVersion = errors.New("cloudevent: unsupported specversion")
)

// ToMessage encodes e as a Watermill message for convention c. The message
// UUID is the event id. e must be valid (see event.Event.Validate). In binary
// mode extension values are written in their canonical string form.
func ToMessage(e event.Event, mode Mode, c Convention) (*message.Message, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return ToMessageTrusted(e, mode, c)
}

// ToMessageTrusted is [ToMessage] without e.Validate, for an event whose
// attributes the caller set from values it checked itself, as the SDK does
// for every message it sends: validating again would only cost time. Given
// an invalid event it writes an invalid message; when in doubt, use
// ToMessage.
func ToMessageTrusted(e event.Event, mode Mode, c Convention) (*message.Message, error) {
	return ToMessageTrustedWithRoom(e, mode, c, 0)
}

// ToMessageTrustedWithRoom is [ToMessageTrusted] with room in the message's
// metadata for extra more entries, which the caller adds: the map is made
// at its final size once, rather than grown on the way.
func ToMessageTrustedWithRoom(e event.Event, mode Mode, c Convention, extra int) (*message.Message, error) {
	if !c.valid() {
		return nil, fmt.Errorf("cloudevent: convention %q has no attribute prefix or content-type key", c.Name)
	}
	exts := extensionsOf(e)
	var msg *message.Message
	if mode == Structured {
		e.DataBase64 = needsBase64(e.DataContentType(), e.Data())
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("cloudevent: encode structured event %s: %w", e.ID(), err)
		}
		msg = message.NewMessage(e.ID(), body)
		msg.Metadata = make(message.Metadata, 2+extra)
		msg.Metadata[c.ContentTypeKey] = StructuredContentType
	} else {
		msg = message.NewMessage(e.ID(), e.Data())
		md := msg.Metadata // empty: its first entries fill one map group
		if n := 6 + len(exts) + extra; n > 8 {
			md = make(message.Metadata, n)
		}
		k := keysOf(c)
		putAttributes(md, k, c, &Attributes{ID: e.ID(), Source: Source(e), Type: e.Type(), Time: e.Time(),
			Subject: e.Subject(), DataSchema: e.DataSchema(), ContentType: e.DataContentType()})
		md[k.specversion] = e.SpecVersion()
		for name, v := range exts {
			s, err := extensionString(v)
			if err != nil {
				return nil, fmt.Errorf("cloudevent: extension %s of event %s: %w", name, e.ID(), err)
			}
			md[k.extension(name)] = s
		}
		msg.Metadata = md
	}
	if c.KeyFromPartitionKey {
		if k, ok := exts[PartitionKeyExtension]; ok {
			s, _ := extensionString(k)
			msg.Metadata[MetadataKey] = s
		}
	}
	return msg, nil
}

// Attributes are an event's context as binary mode writes it: each attribute
// in its string form, and of the extensions only the two the SDK writes
// (traceparent on every event it sends, partitionkey on those with a key).
type Attributes struct {
	ID, Source, Type, Subject, DataSchema, ContentType string
	// Time is left out when zero.
	Time time.Time
	// Traceparent and PartitionKey are the extensions of those names,
	// left out when empty.
	Traceparent, PartitionKey string
}

// BinaryMessage is [ToMessageTrustedWithRoom] in binary mode for an event
// given as plain values rather than an sdk-go event, which the SDK would
// only build to take it apart again. It validates nothing: the caller
// vouches that b is a valid CloudEvents 1.0 context (id, source and type
// not blank, source a URI-reference, content type a media type) and a
// valid traceparent.
func BinaryMessage(b *Attributes, data []byte, c Convention, extra int) (*message.Message, error) {
	if !c.valid() {
		return nil, fmt.Errorf("cloudevent: convention %q has no attribute prefix or content-type key", c.Name)
	}
	msg := message.NewMessage(b.ID, data)
	md := msg.Metadata // empty: its first entries fill one map group
	if n := b.entries(c) + extra; n > 8 {
		md = make(message.Metadata, n)
	}
	k := keysOf(c)
	md[k.specversion] = event.CloudEventsVersionV1
	putAttributes(md, k, c, b)
	if b.Traceparent != "" {
		md[k.traceparent] = b.Traceparent
	}
	if b.PartitionKey != "" {
		md[k.partitionkey] = b.PartitionKey
		if c.KeyFromPartitionKey {
			md[MetadataKey] = b.PartitionKey
		}
	}
	msg.Metadata = md
	return msg, nil
}

// entries counts the metadata entries of b in binary mode.
func (b *Attributes) entries(c Convention) int {
	n := b.headers()
	if b.PartitionKey != "" && c.KeyFromPartitionKey {
		n++ // MetadataKey
	}
	return n
}

// headers counts the metadata entries of b in binary mode that a transport
// sends as headers: all but MetadataKey.
func (b *Attributes) headers() int {
	n := 4 // specversion, id, source, type
	for _, s := range []string{b.Subject, b.DataSchema, b.ContentType, b.Traceparent, b.PartitionKey} {
		if s != "" {
			n++
		}
	}
	if !b.Time.IsZero() {
		n++
	}
	return n
}

// putAttributes writes the attributes of b, but for the spec version and
// the extensions, to md.
func putAttributes(md message.Metadata, k *attrKeys, c Convention, b *Attributes) {
	md[k.id] = b.ID
	md[k.source] = b.Source
	md[k.typ] = b.Type
	if !b.Time.IsZero() {
		md[k.time] = b.Time.UTC().Format(time.RFC3339Nano)
	}
	if b.Subject != "" {
		md[k.subject] = b.Subject
	}
	if b.DataSchema != "" {
		md[k.dataschema] = b.DataSchema
	}
	if b.ContentType != "" {
		md[c.ContentTypeKey] = b.ContentType
	}
}

// extensionsOf returns the extensions of e without copying them when it can:
// the result is read, never written.
func extensionsOf(e event.Event) map[string]any {
	if ec, ok := e.Context.(*event.EventContextV1); ok {
		return ec.Extensions
	}
	return e.Extensions()
}

// Source is e.Source(), without building the string again for the most
// common source, a bare name such as an application's.
func Source(e event.Event) string {
	if ec, ok := e.Context.(*event.EventContextV1); ok {
		u := &ec.Source.URL
		if u.Scheme == "" && u.Opaque == "" && u.User == nil && u.Host == "" && u.RawPath == "" &&
			u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && plainPath(u.Path) {
			return u.Path
		}
	}
	return e.Source()
}

// plainPath reports whether url.URL.String would print path p unchanged:
// letters, digits and - . _ ~ only, not starting with a character that a
// relative reference must escape.
func plainPath(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// FromMessage decodes a Watermill message written with convention c into an
// event. A message without CloudEvent attributes becomes an event with
// generated defaults (see the package doc); a message that claims to be a
// CloudEvent but is broken returns an error wrapping [ErrInvalidEvent] or
// [ErrUnsupportedVersion]. The event's data shares the payload's bytes.
func FromMessage(m *message.Message, c Convention) (event.Event, error) {
	if !c.valid() {
		return event.Event{}, fmt.Errorf("cloudevent: convention %q has no attribute prefix or content-type key", c.Name)
	}
	ct := m.Metadata[c.ContentTypeKey]
	if isStructured(ct) {
		return fromStructured(m, c)
	}
	p := c.AttributePrefix
	specversion, isEvent := m.Metadata[p+"specversion"]
	if !isEvent {
		return external(m, c, ct), nil
	}
	if specversion != event.CloudEventsVersionV1 {
		return event.Event{}, fmt.Errorf("%w %q (message %s)", ErrUnsupportedVersion, specversion, m.UUID)
	}
	// The context is filled through its own setters, which return their
	// errors, rather than the event's, which collect them in a map.
	// One allocation holds the context and what its pointers point to.
	h := &contextHolder{}
	ec := &h.ec
	for k, v := range m.Metadata {
		name, ok := strings.CutPrefix(k, p)
		if !ok {
			continue
		}
		if err := setAttribute(h, strings.ToLower(name), v, &ct); err != nil {
			return event.Event{}, invalid(m, err)
		}
	}
	if h.ct = strings.TrimSpace(ct); h.ct != "" { // as SetDataContentType
		ec.DataContentType = &h.ct
	}
	if k := m.Metadata[MetadataKey]; k != "" {
		if _, has := ec.Extensions[PartitionKeyExtension]; !has {
			if ec.Extensions == nil {
				ec.Extensions = make(map[string]any, 1)
			}
			ec.Extensions[PartitionKeyExtension] = k
		}
	}
	if !plainlyValid(ec) {
		if err := ec.Validate(); err != nil {
			return event.Event{}, invalid(m, err)
		}
	}
	return event.Event{Context: ec, DataEncoded: m.Payload}, nil
}

// ReadBinary reads the context of a binary-mode event without building an
// sdk-go event, for a reader that needs only its attributes and its
// traceparent and partitionkey extensions, as [FromMessage] would decode
// them. It reads only what is plainly valid, as most messages are: ok is
// false for anything else (structured mode, no CloudEvent, a broken or
// unusual context: a data schema, a source that is not a bare name, an
// attribute name not in lower case), which FromMessage then decodes or
// explains.
func ReadBinary(m *message.Message, c Convention) (a Attributes, ok bool) {
	r := NewBinaryReader(c)
	for k, v := range m.Metadata {
		if !r.Add(k, v) {
			return Attributes{}, false
		}
	}
	return r.Attributes()
}

// A BinaryReader is [ReadBinary] for metadata given one entry at a time,
// by a transport that keeps them in a list of its own (Kafka's record
// headers), so that they need not be put in a map first. An entry added
// again replaces the earlier one, as in a map.
type BinaryReader struct {
	c Convention
	// ready: made by NewBinaryReader with a valid convention (a zero
	// reader refuses everything).
	ready bool
	// refused: an entry makes the event not plainly valid, whatever the
	// others are.
	refused                             bool
	hasSpec, hasTime, hasPartitionKey   bool
	spec, id, source, typ, subject, tim string
	traceparent, partitionKey           string
	key, contentType                    string
}

// NewBinaryReader returns a reader of metadata in convention c.
func NewBinaryReader(c Convention) BinaryReader {
	return BinaryReader{c: c, ready: c.valid()}
}

// Add reads one metadata entry. It returns false once the event is known
// not to be plainly valid (Attributes then reports ok false), so that the
// caller may stop.
func (r *BinaryReader) Add(k, v string) bool {
	if r.refused || !r.ready {
		return false
	}
	if k == r.c.ContentTypeKey {
		r.contentType = v
	}
	if k == MetadataKey {
		r.key = v
	}
	name, is := strings.CutPrefix(k, r.c.AttributePrefix)
	if !is {
		return true
	}
	switch name {
	case "specversion":
		r.spec, r.hasSpec = v, true
	case "id":
		r.id = v
	case "source":
		r.source = v
	case "type":
		r.typ = v
	case "subject":
		r.subject = v
	case "time":
		r.tim, r.hasTime = v, true
	case TraceparentExtension:
		r.traceparent = v
	case PartitionKeyExtension:
		r.partitionKey, r.hasPartitionKey = v, true
	case "dataschema", "datacontenttype":
		r.refused = true
	default:
		r.refused = strings.ToLower(name) != name
	}
	return !r.refused
}

// Attributes returns what ReadBinary would of a message whose metadata are
// the entries added.
func (r *BinaryReader) Attributes() (a Attributes, ok bool) {
	if r.refused || !r.ready || !r.hasSpec || r.spec != event.CloudEventsVersionV1 {
		return Attributes{}, false
	}
	a.ID, a.Source, a.Type, a.Subject = strings.TrimSpace(r.id), r.source, strings.TrimSpace(r.typ), strings.TrimSpace(r.subject)
	if r.hasTime {
		t, err := time.Parse(time.RFC3339Nano, r.tim)
		if err != nil {
			return Attributes{}, false
		}
		if !t.IsZero() { // as FromMessage: a zero time is no time
			a.Time = t
		}
	}
	if a.ID == "" || a.Type == "" || !plainPath(a.Source) {
		return Attributes{}, false // no CloudEvent, or not plainly valid
	}
	a.Traceparent = r.traceparent
	a.PartitionKey = r.partitionKey
	if !r.hasPartitionKey {
		a.PartitionKey = r.key
	}
	a.ContentType = strings.TrimSpace(r.contentType)
	if a.ContentType == "" || isStructured(a.ContentType) || !mediaType(a.ContentType) {
		return Attributes{}, false
	}
	return a, true
}

// lastContentType is the last datacontenttype mediaType found to be a
// media type: one producer's messages all carry the same.
var lastContentType atomic.Pointer[string]

// mediaType reports whether ct (not empty, without surrounding white
// space) is a media type, remembering the last one that was.
func mediaType(ct string) bool {
	if p := lastContentType.Load(); p != nil && *p == ct {
		return true
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return false
	}
	remembered := strings.Clone(ct) // not a window on the message's bytes
	lastContentType.Store(&remembered)
	return true
}

// plainlyValid reports whether ec passes ec.Validate, checked without its
// allocations, for the events most messages carry: false means "ask
// Validate", which also words the error.
func plainlyValid(ec *event.EventContextV1) bool {
	if strings.TrimSpace(ec.ID) == "" || strings.TrimSpace(ec.Type) == "" || ec.DataSchema != nil {
		return false
	}
	if u := &ec.Source.URL; !(u.Scheme == "" && u.Opaque == "" && u.User == nil && u.Host == "" && u.RawPath == "" &&
		u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && plainPath(u.Path)) {
		return false // Validate prints it to check it is not blank
	}
	if ec.Subject != nil && strings.TrimSpace(*ec.Subject) == "" {
		return false
	}
	if ec.DataContentType != nil {
		if ct := strings.TrimSpace(*ec.DataContentType); ct == "" || !mediaType(ct) {
			return false
		}
	}
	return true
}

// contextHolder is an event context together with the values its pointer
// fields point to, so that building one takes one allocation.
type contextHolder struct {
	ec   event.EventContextV1
	time types.Timestamp
	ct   string
}

// invalid wraps the reason a message is not a valid event.
func invalid(m *message.Message, err error) error {
	return fmt.Errorf("%w: message %s: %w", ErrInvalidEvent, m.UUID, err)
}

// setAttribute sets the attribute or extension name (lower case) of ec from
// its binary-mode value v; datacontenttype goes to *ct when that is empty.
func setAttribute(h *contextHolder, name, v string, ct *string) error {
	ec := &h.ec
	var err error
	switch name {
	case "specversion":
	case "id":
		err = ec.SetID(v)
	case "source":
		if plainPath(v) {
			// What url.Parse makes of a bare name, without parsing it.
			ec.Source = types.URIRef{URL: url.URL{Path: v}}
		} else {
			err = ec.SetSource(v)
		}
	case "type":
		err = ec.SetType(v)
	case "subject":
		err = ec.SetSubject(v)
	case "dataschema":
		err = ec.SetDataSchema(v)
	case "datacontenttype":
		// Not where binary mode puts it, but accept it when the
		// content-type entry is missing.
		if *ct == "" {
			*ct = v
		}
	case "time":
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil {
			return fmt.Errorf("time %q: %w", v, perr)
		}
		if !t.IsZero() { // as SetTime
			h.time = types.Timestamp{Time: t}
			ec.Time = &h.time
		}
	default:
		if !event.IsExtensionNameValid(name) {
			return nil // an ordinary header
		}
		if ec.Extensions == nil {
			ec.Extensions = make(map[string]any, 2)
		}
		err = ec.SetExtension(name, v)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Headers returns the metadata of m that is neither a CloudEvent attribute
// in convention c nor transport-private: the application's own headers,
// dead-letter reasons, correlation ids. The result is a new map.
func Headers(m *message.Message, c Convention) map[string]string {
	var out map[string]string
	for k, v := range m.Metadata {
		if k == c.ContentTypeKey || IsPrivate(k) || strings.HasPrefix(k, c.AttributePrefix) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(m.Metadata))
		}
		out[k] = v
	}
	return out
}

func fromStructured(m *message.Message, c Convention) (event.Event, error) {
	var e event.Event
	if err := json.Unmarshal(m.Payload, &e); err != nil {
		return event.Event{}, fmt.Errorf("%w: structured message %s: %w", ErrInvalidEvent, m.UUID, err)
	}
	if e.SpecVersion() != event.CloudEventsVersionV1 {
		return event.Event{}, fmt.Errorf("%w %q (message %s)", ErrUnsupportedVersion, e.SpecVersion(), m.UUID)
	}
	setKey(&e, m)
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("%w: message %s: %w", ErrInvalidEvent, m.UUID, err)
	}
	return e, nil
}

func external(m *message.Message, c Convention, ct string) event.Event {
	e := event.New(event.CloudEventsVersionV1)
	id := m.UUID
	if id == "" {
		id = NewID()
	}
	e.SetID(id)
	e.SetSource(ExternalSource)
	e.SetType(ExternalType)
	e.SetTime(time.Now())
	if _, _, err := mime.ParseMediaType(ct); err == nil {
		e.SetDataContentType(ct) // an unparsable one is left out, not an error
	}
	setKey(&e, m)
	e.DataEncoded = m.Payload
	return e
}

// setKey turns a record key into the partitionkey extension, unless a header
// already set it.
func setKey(e *event.Event, m *message.Message) {
	k, ok := m.Metadata[MetadataKey]
	if !ok || k == "" {
		return
	}
	if _, has := e.Extensions()[PartitionKeyExtension]; has {
		return
	}
	e.SetExtension(PartitionKeyExtension, k)
}

func isStructured(ct string) bool {
	return strings.HasPrefix(ct, StructuredContentType)
}

// needsBase64 reports whether data must travel as data_base64 in a
// structured event, so that its bytes come back exactly: unless it is valid
// JSON without surrounding white space, of a JSON content type, or valid
// UTF-8 of a text/* type.
func needsBase64(ct string, data []byte) bool {
	if data == nil {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true
	}
	switch {
	case mt == JSON || strings.HasSuffix(mt, "+json") || mt == "text/json":
		return !json.Valid(data) || len(bytes.TrimSpace(data)) != len(data)
	case strings.HasPrefix(mt, "text/"):
		return !utf8.Valid(data)
	}
	return true
}

// extensionString renders an extension value in its CloudEvents canonical
// string form.
func extensionString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), nil
	case fmt.Stringer:
		return v.String(), nil
	case bool, int32, int, int64:
		return fmt.Sprint(v), nil
	case []byte:
		return string(v), nil
	default:
		return "", fmt.Errorf("unsupported extension value type %T", v)
	}
}
