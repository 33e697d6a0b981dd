package cli_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/broker/cli"
)

func TestProducerSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		s       cli.ProducerSettings
		wantErr bool
	}{
		{s: cli.ProducerSettings{}},
		{s: cli.ProducerSettings{Acks: "all", Idempotent: true, Compression: "zstd"}},
		{s: cli.ProducerSettings{Acks: "1"}},
		{s: cli.ProducerSettings{Acks: "0", Compression: "lz4"}},
		{s: cli.ProducerSettings{Acks: "2"}, wantErr: true},
		{s: cli.ProducerSettings{Acks: "1", Idempotent: true}, wantErr: true},
		{s: cli.ProducerSettings{Compression: "brotli"}, wantErr: true},
	} {
		_, err := tc.s.ClientOpts()
		if (err != nil) != tc.wantErr {
			t.Errorf("%+v.ClientOpts() error = %v, want error %v", tc.s, err, tc.wantErr)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	hs, err := cli.ParseHeaders([]string{"a=1", "b=x=y", "c="})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"a", "1"}, {"b", "x=y"}, {"c", ""}}
	if len(hs) != len(want) {
		t.Fatalf("ParseHeaders = %d headers, want %d", len(hs), len(want))
	}
	for i, h := range hs {
		if h.Key != want[i][0] || string(h.Value) != want[i][1] {
			t.Errorf("header %d = %s=%s, want %s=%s", i, h.Key, h.Value, want[i][0], want[i][1])
		}
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := cli.ParseHeaders([]string{bad}); err == nil {
			t.Errorf("ParseHeaders(%q) = nil error, want one", bad)
		}
	}
}

func TestParseStart(t *testing.T) {
	for _, ok := range []string{"", "earliest", "latest", "0", "42"} {
		if _, err := cli.ParseStart(ok); err != nil {
			t.Errorf("ParseStart(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"-1", "soon", "1.5"} {
		if _, err := cli.ParseStart(bad); err == nil {
			t.Errorf("ParseStart(%q) = nil error, want one", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2024-05-01T10:00:00Z", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01T12:00:00.5+02:00", time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC)},
		{"2024-05-01T10:00:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"1714557600000", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
	} {
		got, err := cli.ParseTime(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := cli.ParseTime("yesterday"); err == nil {
		t.Error("ParseTime(yesterday) = nil error, want one")
	}
}
