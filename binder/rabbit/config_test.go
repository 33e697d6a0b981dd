package rabbit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/stream"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := rabbit.ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != rabbit.DefaultURL || c.Prefetch != 1 || c.ReconnectWait != 10*time.Second || c.CloseTimeout != 10*time.Second || c.ChannelPool != 4 || c.Transient {
		t.Errorf("ParseConfig(nil) = %+v, want the documented defaults", c)
	}
}

func TestParseConfigValues(t *testing.T) {
	// As YAML decodes them, and as environment variables give them.
	for _, raw := range []stream.BinderConfig{
		{"url": "amqp://u:p@mq:5672/vh", "prefetch": 10, "transient": true, "reconnect-wait": "2s", "close-timeout": "1s", "channel-pool": 2},
		{"url": "amqp://u:p@mq:5672/vh", "prefetch": "10", "transient": "true", "reconnect-wait": "2s", "close-timeout": "1s", "channel-pool": "2"},
	} {
		c, err := rabbit.ParseConfig(raw)
		if err != nil {
			t.Fatal(err)
		}
		if c.URL != "amqp://u:p@mq:5672/vh" || c.Prefetch != 10 || !c.Transient || c.ReconnectWait != 2*time.Second || c.CloseTimeout != time.Second || c.ChannelPool != 2 {
			t.Errorf("ParseConfig(%v) = %+v", raw, c)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		raw  stream.BinderConfig
		want string
	}{
		{stream.BinderConfig{"url": "http://x"}, "millstream.binders.rabbit.url"},
		{stream.BinderConfig{"url": "amqp://u:secret@/"}, "is not an AMQP URL"},
		{stream.BinderConfig{"prefetch": 0}, "millstream.binders.rabbit.prefetch"},
		{stream.BinderConfig{"prefetch": "many"}, "from 1 to 65535"},
		{stream.BinderConfig{"transient": "maybe"}, "true or false"},
		{stream.BinderConfig{"close-timeout": "soon"}, "millstream.binders.rabbit.close-timeout"},
		{stream.BinderConfig{"brokers": "x"}, "unknown key; known keys: url, prefetch"},
	}
	for _, tt := range tests {
		_, err := rabbit.ParseConfig(tt.raw)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseConfig(%v) = %v, want an error containing %q", tt.raw, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseConfig(%v) error shows the password: %v", tt.raw, err)
		}
	}
}

func TestNewUnreachable(t *testing.T) {
	_, err := rabbit.New(t.Context(), rabbit.Config{URL: "amqp://guest:s3cret@127.0.0.1:1/"})
	if err == nil || !strings.Contains(err.Error(), "rabbit: connect to amqp://guest:xxxxx@127.0.0.1:1/") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("New(unreachable) = %v, want an error naming the broker with the password redacted", err)
	}
}

// TestOpenConnectsOnFirstUse: Open does not connect; the first use does,
// and fails clearly while the broker is unreachable.
func TestOpenConnectsOnFirstUse(t *testing.T) {
	b, err := rabbit.Open(rabbit.Config{URL: "amqp://guest:s3cret@127.0.0.1:1/"})
	if err != nil {
		t.Fatalf("Open(unreachable) = %v, want nil: Open must not connect", err)
	}
	defer b.Close()
	want := "amqp://guest:xxxxx@127.0.0.1:1/"
	if err := b.Health(t.Context()); err == nil || !strings.Contains(err.Error(), "not connected to "+want) {
		t.Errorf("Health before connecting = %v, want not connected to %s", err, want)
	}
	_, err = b.Publisher(t.Context(), stream.Publication{Destination: "words"})
	if err == nil || !strings.Contains(err.Error(), "rabbit: connect to "+want) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Publisher(unreachable) = %v, want an error naming %s", err, want)
	}
	if _, err := rabbit.Open(rabbit.Config{URL: "http://x/"}); err == nil {
		t.Error("Open with a bad URL = nil, want the config error")
	}
}

// TestOpenThenConnect: a binder opened before the broker is reachable works
// once it is.
func TestOpenThenConnect(t *testing.T) {
	b, err := rabbit.Open(rabbit.Config{URL: broker(t).URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Health(t.Context()); err == nil {
		t.Error("Health before first use = nil, want not connected")
	}
	if _, err := b.Publisher(t.Context(), stream.Publication{Destination: dest()}); err != nil {
		t.Fatal(err)
	}
	if err := b.Health(t.Context()); err != nil {
		t.Errorf("Health after first use = %v, want nil", err)
	}
}
