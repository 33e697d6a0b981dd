package cloudevent

import (
	"encoding"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
)

// Content types with a default codec.
const (
	JSON        = "application/json"
	Text        = "text/plain"
	OctetStream = "application/octet-stream"
)

// A Codec turns Go values into bytes of one content type and back.
// Implementations must be safe for concurrent use.
type Codec interface {
	// ContentType is the media type the codec writes, without parameters.
	ContentType() string
	// Marshal encodes v. The caller owns the returned slice.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a non-nil pointer. It must not keep
	// data after returning.
	Unmarshal(data []byte, v any) error
}

// Codecs finds the codec of a content type. The zero value is empty; use
// [NewCodecs] for one holding the defaults. Register before use; lookups are
// safe for concurrent use once registration is over.
type Codecs struct {
	byType map[string]Codec
}

// NewCodecs returns the default codecs: application/json (also used for any
// application/*+json type), text/plain and application/octet-stream.
func NewCodecs() *Codecs {
	c := &Codecs{}
	c.Register(JSONCodec{})
	c.Register(TextCodec{})
	c.Register(BytesCodec{})
	return c
}

// Register adds codec, replacing any codec of the same content type.
func (c *Codecs) Register(codec Codec) {
	if c.byType == nil {
		c.byType = make(map[string]Codec)
	}
	c.byType[strings.ToLower(codec.ContentType())] = codec
}

// Lookup returns the codec for contentType, ignoring its parameters
// ("text/plain; charset=utf-8" finds text/plain). Types ending in +json
// use the application/json codec unless one is registered for them.
func (c *Codecs) Lookup(contentType string) (Codec, error) {
	mt := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		parsed, _, err := mime.ParseMediaType(mt)
		if err != nil {
			return nil, fmt.Errorf("cloudevent: content type %q: %w", contentType, err)
		}
		mt = parsed
	}
	if codec, ok := c.byType[mt]; ok {
		return codec, nil
	}
	if strings.HasSuffix(mt, "+json") {
		if codec, ok := c.byType[JSON]; ok {
			return codec, nil
		}
	}
	return nil, fmt.Errorf("cloudevent: no codec for content type %q", contentType)
}

// JSONCodec is application/json with encoding/json.
type JSONCodec struct{}

func (JSONCodec) ContentType() string                { return JSON }
func (JSONCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// TextCodec is text/plain. It encodes strings, byte slices,
// encoding.TextMarshaler and fmt.Stringer values, and decodes into *string,
// *[]byte and encoding.TextUnmarshaler.
type TextCodec struct{}

func (TextCodec) ContentType() string { return Text }

func (TextCodec) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case []byte:
		return append([]byte(nil), v...), nil
	case encoding.TextMarshaler:
		return v.MarshalText()
	case fmt.Stringer:
		return []byte(v.String()), nil
	default:
		return nil, fmt.Errorf("cloudevent: text/plain cannot encode %T", v)
	}
}

func (TextCodec) Unmarshal(data []byte, v any) error {
	switch v := v.(type) {
	case *string:
		*v = string(data)
	case *[]byte:
		*v = append((*v)[:0], data...)
	case encoding.TextUnmarshaler:
		return v.UnmarshalText(data)
	default:
		return fmt.Errorf("cloudevent: text/plain cannot decode into %T", v)
	}
	return nil
}

// BytesCodec is application/octet-stream: byte slices (and strings) as they are.
type BytesCodec struct{}

func (BytesCodec) ContentType() string { return OctetStream }

func (BytesCodec) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return append([]byte(nil), v...), nil
	case string:
		return []byte(v), nil
	case encoding.BinaryMarshaler:
		return v.MarshalBinary()
	default:
		return nil, fmt.Errorf("cloudevent: application/octet-stream cannot encode %T", v)
	}
}

func (BytesCodec) Unmarshal(data []byte, v any) error {
	switch v := v.(type) {
	case *[]byte:
		*v = append((*v)[:0], data...)
	case *string:
		*v = string(data)
	case encoding.BinaryUnmarshaler:
		return v.UnmarshalBinary(data)
	default:
		return fmt.Errorf("cloudevent: application/octet-stream cannot decode into %T", v)
	}
	return nil
}
