package stream

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// codecLookup finds a codec by content type; *cloudevent.Codecs is one.
type codecLookup interface {
	Lookup(contentType string) (cloudevent.Codec, error)
}

// inbound is a received message, before decoding into the handler's type.
type inbound struct {
	// attrs holds the CloudEvent attributes and headers; attrs.ContentType
	// is the effective content type (the message's, else the binding's).
	attrs Message[struct{}]
	data  []byte
}

// outbound is a handler's output before encoding.
type outbound struct {
	payload any
	attrs   Message[struct{}]
	// value is the handler's output as returned, for key functions.
	value any
	// shared: the encoded data are the bytes of the payload string (see
	// sender.encode), which nothing may write.
	shared bool
}

func newOutbound(v any) (outbound, error) {
	if isNil(v) {
		return outbound{}, ErrNoOutput
	}
	if e, ok := v.(envelope); ok {
		return outbound{payload: e.payload(), attrs: *e.attributes(), value: v}, nil
	}
	return outbound{payload: v, value: v}, nil
}

// decoderFor returns the decoder of handler input type T: a payload type, or
// Message[P] for a payload type P.
// The inbound is passed by value: a pointer passed to a func value would
// make it escape, an allocation per message.
func decoderFor[T any]() func(in inbound, codecs codecLookup) (any, error) {
	var probe T
	if _, ok := any(&probe).(receiver); ok {
		return func(in inbound, codecs codecLookup) (any, error) {
			var v T
			r := any(&v).(receiver)
			if err := decodePayload(&in, r.payloadTarget(), codecs); err != nil {
				return nil, err
			}
			r.setAttributes(&in.attrs)
			return v, nil
		}
	}
	return func(in inbound, codecs codecLookup) (any, error) {
		var v T
		if err := decodePayload(&in, &v, codecs); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// decodePayload fills target (a pointer) from in. string and []byte targets
// take the data as it is, whatever the content type. A string shares the
// data's bytes: a received message's payload is not written once received
// (see WithMiddleware), and an adapted output's data are a copy of its own.
func decodePayload(in *inbound, target any, codecs codecLookup) error {
	switch t := target.(type) {
	case *string:
		*t = bytesString(in.data)
		return nil
	case *[]byte:
		*t = append([]byte(nil), in.data...)
		return nil
	}
	ct := in.attrs.ContentType
	if ct == "" {
		ct = cloudevent.JSON
	}
	codec, err := codecs.Lookup(ct)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	if err := codec.Unmarshal(in.data, target); err != nil {
		return fmt.Errorf("%w into %s as %s: %w", ErrDecode, reflect.TypeOf(target).Elem(), ct, err)
	}
	return nil
}

// encodePayload encodes payload with the codec of contentType, or, when it
// is empty, of the payload's natural type: text/plain for strings,
// application/octet-stream for []byte, else application/json. Strings and
// byte slices are the data itself whatever the content type, as on the
// receiving side. It returns the content type used.
func encodePayload(payload any, contentType string, codecs codecLookup) ([]byte, string, error) {
	if contentType == "" {
		contentType = naturalContentType(payload)
	}
	switch v := payload.(type) {
	case string:
		return []byte(v), contentType, nil
	case []byte:
		return append([]byte(nil), v...), contentType, nil
	}
	codec, err := codecs.Lookup(contentType)
	if err != nil {
		return nil, "", err
	}
	data, err := codec.Marshal(payload)
	if err != nil {
		return nil, "", fmt.Errorf("encode %T as %s: %w", payload, contentType, err)
	}
	return data, contentType, nil
}

// bytesString is b as a string, sharing b's bytes: b must not be written
// afterwards.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// stringBytes is s's own bytes, for data that are only read: nothing may
// write them. "" is an empty slice, not nil (a nil record value is a
// Kafka tombstone).
func stringBytes(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func naturalContentType(payload any) string {
	switch payload.(type) {
	case string:
		return cloudevent.Text
	case []byte:
		return cloudevent.OctetStream
	}
	return cloudevent.JSON
}

// Decode decodes a message as a binder delivers it (a CloudEvent in
// convention conv) into a Message[T], with codecs (nil: the defaults). The
// content type defaults to JSON when the message has none. Tests and tools
// that read destinations directly use it.
func Decode[T any](msg *message.Message, conv cloudevent.Convention, codecs *cloudevent.Codecs) (Message[T], error) {
	if codecs == nil {
		codecs = cloudevent.NewCodecs()
	}
	in, _, err := receive(msg, conv, "", true)
	if err != nil {
		return Message[T]{}, err
	}
	var m Message[T]
	if err := decodePayload(&in, &m.Payload, codecs); err != nil {
		return Message[T]{}, err
	}
	m.setAttributes(&in.attrs)
	return m, nil
}
