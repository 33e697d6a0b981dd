package cli_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/cli"
)

// Record bytes come from whoever produced them: whatever they are, the JSON
// format must stay valid JSON and give back exactly the bytes of key,
// value and header value.
func FuzzFormatJSONRoundTrip(f *testing.F) {
	f.Add([]byte("key"), []byte("value"), "h", []byte("v"))
	f.Add([]byte{}, []byte{0xff, 0xfe, 0}, "", []byte("\xc3\x28"))
	f.Add([]byte("\"quoted\"\n"), []byte("line\nbreak\t\u2028"), "ü", []byte{})
	format, err := cli.ParseFormat("json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value []byte, hkey string, hval []byte) {
		r := &kgo.Record{Topic: "t", Key: key, Value: value, Headers: []kgo.RecordHeader{{Key: hkey, Value: hval}}}
		line := format.AppendRecord(nil, r)
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("json output %q is not exactly one line", line)
		}
		var got struct {
			Key      *string `json:"key"`
			KeyB64   []byte  `json:"key_b64"`
			Value    *string `json:"value"`
			ValueB64 []byte  `json:"value_b64"`
			Headers  []struct {
				Key      string  `json:"key"`
				Value    *string `json:"value"`
				ValueB64 []byte  `json:"value_b64"`
			} `json:"headers"`
		}
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("json output %q does not parse: %v", line, err)
		}
		pick := func(s *string, b []byte) []byte {
			if s != nil {
				return []byte(*s)
			}
			return b
		}
		if k := pick(got.Key, got.KeyB64); !bytes.Equal(k, key) {
			t.Errorf("key %q came back as %q", key, k)
		}
		if v := pick(got.Value, got.ValueB64); !bytes.Equal(v, value) {
			t.Errorf("value %q came back as %q", value, v)
		}
		if len(got.Headers) != 1 {
			t.Fatalf("%d headers, want 1", len(got.Headers))
		}
		if hv := pick(got.Headers[0].Value, got.Headers[0].ValueB64); !bytes.Equal(hv, hval) {
			t.Errorf("header value %q came back as %q", hval, hv)
		}
	})
}

// Any pattern either parses or is refused; a parsed one renders any record.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{`%k\t%v\n`, `%t/%p/%o %T %d %K %S %h %%`, `\`, `%`, `%q`, `\x`, "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		format, err := cli.ParseFormat(pattern)
		if err != nil {
			return
		}
		format.AppendRecord(nil, testRecord())
	})
}
