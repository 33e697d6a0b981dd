package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/cli"
)

func testRecord() *kgo.Record {
	return &kgo.Record{
		Topic: "orders", Partition: 2, Offset: 41,
		Key: []byte("k1"), Value: []byte("hello world"),
		Headers:   []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}},
		Timestamp: time.UnixMilli(1700000000123).UTC(),
	}
}

func TestFormatPatterns(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{cli.DefaultFormat(false, false), "hello world\n"},
		{cli.DefaultFormat(true, false), "k1\thello world\n"},
		{cli.DefaultFormat(true, true), "a=1,b=2\tk1\thello world\n"},
		{`%t/%p/%o`, "orders/2/41"},
		{`%T %d`, "1700000000123 2023-11-14T22:13:20.123Z"},
		{`%K %S 100%%\\`, `2 11 100%\`},
		{`[%v]\n`, "[hello world]\n"},
	} {
		f, err := cli.ParseFormat(tc.format)
		if err != nil {
			t.Errorf("ParseFormat(%q) = %v", tc.format, err)
			continue
		}
		if got := string(f.AppendRecord(nil, testRecord())); got != tc.want {
			t.Errorf("format %q = %q, want %q", tc.format, got, tc.want)
		}
	}
}

func TestFormatRejectsUnknownVerbs(t *testing.T) {
	for _, bad := range []string{`%x`, `%`, `\q`, `abc\`} {
		if _, err := cli.ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) = nil error, want one", bad)
		}
	}
}

func TestFormatJSONKeepsBytes(t *testing.T) {
	f, err := cli.ParseFormat("json")
	if err != nil {
		t.Fatal(err)
	}
	r := testRecord()
	r.Value = []byte{0xff, 0x00, 0xfe}
	line := f.AppendRecord(nil, r)
	if !strings.HasSuffix(string(line), "}\n") {
		t.Fatalf("json line %q does not end in }\\n", line)
	}
	var got struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		Timestamp int64  `json:"timestamp_ms"`
		Key       string `json:"key"`
		ValueB64  []byte `json:"value_b64"` // encoding/json decodes base64 into []byte
		Headers   []struct {
			Key, Value string
		} `json:"headers"`
	}
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("unmarshal %q: %v", line, err)
	}
	if got.Topic != "orders" || got.Partition != 2 || got.Offset != 41 || got.Timestamp != 1700000000123 || got.Key != "k1" {
		t.Errorf("json = %+v, want the record's topic, partition, offset, timestamp and key", got)
	}
	if string(got.ValueB64) != string(r.Value) {
		t.Errorf("value_b64 decodes to %x, want %x", got.ValueB64, r.Value)
	}
	if len(got.Headers) != 2 || got.Headers[1].Key != "b" || got.Headers[1].Value != "2" {
		t.Errorf("headers = %+v, want a=1, b=2", got.Headers)
	}
}
