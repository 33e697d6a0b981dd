package cloudevent_test

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/millstream/millstream/sdk/cloudevent"
)

type point struct{ X, Y int }

func TestCodecsLookup(t *testing.T) {
	c := cloudevent.NewCodecs()
	for ct, want := range map[string]string{
		"application/json":                cloudevent.JSON,
		"Application/JSON; charset=utf-8": cloudevent.JSON,
		"application/vnd.orders.v1+json":  cloudevent.JSON,
		"text/plain":                      cloudevent.Text,
		"text/plain; charset=utf-8":       cloudevent.Text,
		"application/octet-stream":        cloudevent.OctetStream,
	} {
		codec, err := c.Lookup(ct)
		if err != nil || codec.ContentType() != want {
			t.Errorf("Lookup(%q) = %v, %v; want the %s codec", ct, codec, err, want)
		}
	}
	if _, err := c.Lookup("application/x-protobuf"); err == nil || !strings.Contains(err.Error(), "no codec") {
		t.Errorf("Lookup(protobuf) = %v, want no codec", err)
	}
}

type upperCodec struct{}

func (upperCodec) ContentType() string { return "application/x-upper" }
func (upperCodec) Marshal(v any) ([]byte, error) {
	return []byte(strings.ToUpper(v.(string))), nil
}
func (upperCodec) Unmarshal(data []byte, v any) error {
	*(v.(*string)) = strings.ToLower(string(data))
	return nil
}

func TestCodecRegister(t *testing.T) {
	c := cloudevent.NewCodecs()
	c.Register(upperCodec{})
	codec, err := c.Lookup("application/x-upper")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := codec.Marshal("abc")
	var s string
	codec.Unmarshal(b, &s)
	if string(b) != "ABC" || s != "abc" {
		t.Fatalf("custom codec: %q, %q", b, s)
	}
}

func TestCodecsRoundTrip(t *testing.T) {
	addr := netip.MustParseAddr("10.0.0.1")
	for _, tc := range []struct {
		codec cloudevent.Codec
		in    any
		out   any // pointer to decode into
		wire  string
	}{
		{cloudevent.JSONCodec{}, point{1, 2}, new(point), `{"X":1,"Y":2}`},
		{cloudevent.TextCodec{}, "héllo", new(string), "héllo"},
		{cloudevent.TextCodec{}, addr, new(netip.Addr), "10.0.0.1"},
		{cloudevent.TextCodec{}, []byte("raw"), new([]byte), "raw"},
		{cloudevent.BytesCodec{}, []byte{0, 1, 2, 255}, new([]byte), "\x00\x01\x02\xff"},
		{cloudevent.BytesCodec{}, "s", new(string), "s"},
	} {
		b, err := tc.codec.Marshal(tc.in)
		if err != nil {
			t.Fatalf("%s Marshal(%v): %v", tc.codec.ContentType(), tc.in, err)
		}
		if !bytes.Equal(b, []byte(tc.wire)) {
			t.Errorf("%s Marshal(%v) = %q, want %q", tc.codec.ContentType(), tc.in, b, tc.wire)
		}
		if err := tc.codec.Unmarshal(b, tc.out); err != nil {
			t.Fatalf("%s Unmarshal(%q): %v", tc.codec.ContentType(), b, err)
		}
		if got := reflect.ValueOf(tc.out).Elem().Interface(); !reflect.DeepEqual(got, tc.in) {
			t.Errorf("%s round trip = %v, want %v", tc.codec.ContentType(), got, tc.in)
		}
	}
	if _, err := (cloudevent.TextCodec{}).Marshal(point{}); err == nil {
		t.Error("text/plain encoded a struct")
	}
	if err := (cloudevent.BytesCodec{}).Unmarshal([]byte("x"), new(point)); err == nil {
		t.Error("octet-stream decoded into a struct")
	}
}

func TestTraceparent(t *testing.T) {
	p := cloudevent.NewTraceparent()
	if !cloudevent.ValidTraceparent(p) {
		t.Fatalf("NewTraceparent() = %q is not valid", p)
	}
	c := cloudevent.ChildTraceparent(p)
	if !cloudevent.ValidTraceparent(c) || c[:35] != p[:35] || c[36:52] == p[36:52] || c[52:] != p[52:] {
		t.Fatalf("ChildTraceparent(%q) = %q: want same version, trace id and flags, new parent id", p, c)
	}
	for _, bad := range []string{"", "00-00000000000000000000000000000000-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"} {
		if cloudevent.ValidTraceparent(bad) {
			t.Errorf("ValidTraceparent(%q) = true", bad)
		}
	}
	if c := cloudevent.ChildTraceparent("garbage"); !cloudevent.ValidTraceparent(c) {
		t.Errorf("ChildTraceparent(garbage) = %q, want a new valid trace", c)
	}
}

func TestTypeName(t *testing.T) {
	for _, tc := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[point](), "cloudevent_test.point"},
		{reflect.TypeFor[*point](), "cloudevent_test.point"},
		{reflect.TypeFor[string](), "millstream.string"},
		{reflect.TypeFor[[]byte](), "millstream.bytes"},
		{reflect.TypeFor[map[string]int](), "millstream.map"},
		{reflect.TypeFor[netip.Addr](), "netip.Addr"},
		{nil, "millstream.nil"},
	} {
		if got := cloudevent.TypeName(tc.t); got != tc.want {
			t.Errorf("TypeName(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}
