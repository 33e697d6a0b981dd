package cloudevent

import (
	"net/url"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// The receive path skips url.Parse for bare-name sources and ec.Validate
// for plainly valid contexts; both shortcuts must agree with sdk-go.
func TestPlainSourceIsWhatURLParseMakes(t *testing.T) {
	for _, s := range []string{"bench", "orders-service", "a.b_c~d", ".", "..", "A1", "-x"} {
		if !plainPath(s) {
			t.Fatalf("%q: expected a plain path", s)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if *u != (url.URL{Path: s}) {
			t.Errorf("%q: url.Parse makes %#v, the shortcut URL{Path: %q}", s, *u, s)
		}
		if ref := (types.URIRef{URL: *u}); ref.String() != s {
			t.Errorf("%q prints as %q", s, ref.String())
		}
	}
	for _, s := range []string{"", "https://x", "/a", "a b", "a:b", "a%20", "a?q", "a#f", "ü"} {
		if plainPath(s) {
			t.Errorf("%q: not a plain path, but taken for one", s)
		}
	}
}

func TestPlainlyValidAgreesWithValidate(t *testing.T) {
	str := func(s string) *string { return &s }
	ids := []string{"", " ", "1", "id-1"}
	types_ := []string{"", "\t", "t", "com.example.x"}
	sources := []string{"", " ", "app", "https://example.com/x", "/path", "a b"}
	subjects := []*string{nil, str(""), str(" "), str("s")}
	cts := []*string{nil, str(""), str(" "), str("text/plain"), str("application/json; charset=utf-8"), str("not a type"), str("text/")}
	schemas := []*types.URI{nil, {URL: url.URL{Scheme: "https", Host: "x"}}, {URL: url.URL{Path: "rel"}}}
	n := 0
	for _, id := range ids {
		for _, ty := range types_ {
			for _, src := range sources {
				for _, sub := range subjects {
					for _, ct := range cts {
						for _, sch := range schemas {
							ec := &event.EventContextV1{ID: id, Type: ty, Subject: sub, DataContentType: ct, DataSchema: sch}
							if u, err := url.Parse(src); err == nil {
								ec.Source = types.URIRef{URL: *u}
							}
							lastContentType.Store(nil)
							fast := plainlyValid(ec)
							again := plainlyValid(ec) // with the content type remembered
							err := ec.Validate()
							if (fast || again) && err != nil {
								t.Errorf("id %q type %q source %q subject %v ct %v schema %v: shortcut says valid, Validate: %v",
									id, ty, src, sub, ct, sch, err)
							}
							if fast {
								n++
							}
						}
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no context took the shortcut: the test checks nothing")
	}
}
