package stream_test

import (
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/sdk/stream"
)

func TestBindingPropertiesDefaults(t *testing.T) {
	p := stream.BindingProperties{Group: "g"}.WithDefaults("orders-in-0")
	if p.Destination != "orders-in-0" || p.Concurrency != 1 || p.PartitionCount != 1 || p.InstanceCount != 1 ||
		p.MaxAttempts != 3 || p.BackOffInitialInterval != time.Second || p.BackOffMultiplier != 2.0 ||
		p.BackOffMaxInterval != 10*time.Second || !*p.AutoStartup || p.PollerFixedDelay != time.Second ||
		p.DLQDestination != "orders-in-0.g.dlq" {
		t.Fatalf("WithDefaults = %+v", p)
	}
	if got := (stream.BindingProperties{Destination: "d"}).WithDefaults("x").DLQDestination; got != "d.dlq" {
		t.Errorf("anonymous DLQDestination = %q, want d.dlq", got)
	}
}

func TestConfigSet(t *testing.T) {
	var c stream.Config
	for k, v := range map[string]string{
		"application":                                         "orders",
		"function.definition":                                 "parse|enrich",
		"default-binder":                                      "kafka",
		"shutdown-timeout":                                    "5s",
		"bindings.parseenrich-in-0.group":                     "g",
		"bindings.parseenrich-in-0.max-attempts":              "5",
		"bindings.parseenrich-in-0.dlq":                       "true",
		"bindings.parseenrich-in-0.back-off-initial-interval": "250ms",
		"bindings.parseenrich-in-0.auto-startup":              "false",
		"binders.kafka.brokers":                               "localhost:9092",
	} {
		if err := c.Set(k, v); err != nil {
			t.Fatalf("Set(%q, %q): %v", k, v, err)
		}
	}
	p := c.Bindings["parseenrich-in-0"]
	if c.Application != "orders" || c.FunctionDefinition != "parse|enrich" || c.DefaultBinder != "kafka" ||
		c.ShutdownTimeout != 5*time.Second || p.Group != "g" || p.MaxAttempts != 5 || !p.DLQ ||
		p.BackOffInitialInterval != 250*time.Millisecond || p.AutoStartup == nil || *p.AutoStartup ||
		c.Binders["kafka"]["brokers"] != "localhost:9092" {
		t.Fatalf("after Set: %+v, binding %+v", c, p)
	}
	for _, tc := range []struct{ key, value, want string }{
		{"bindings.x-in-0.max-attempts", "three", "millstream.bindings.x-in-0.max-attempts"},
		{"bindings.x-in-0.colour", "red", `unknown binding property "colour"`},
		{"nonsense", "1", "millstream.nonsense: unknown key"},
		{"bindings.nodot", "1", "want bindings.<binding>.<property>"},
	} {
		err := c.Set(tc.key, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%q, %q) = %v, want an error containing %q", tc.key, tc.value, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  stream.Config
		want string // empty: valid
	}{
		{"empty", stream.Config{}, ""},
		{"good", stream.Config{Bindings: map[string]stream.BindingProperties{"a-in-0": {MaxAttempts: 1, StartOffset: stream.Earliest}}}, ""},
		{"negative attempts", stream.Config{Bindings: map[string]stream.BindingProperties{"a-in-0": {MaxAttempts: -1}}}, "millstream.bindings.a-in-0.max-attempts: -1 is negative"},
		{"multiplier", stream.Config{Bindings: map[string]stream.BindingProperties{"a-in-0": {BackOffMultiplier: 0.5}}}, "millstream.bindings.a-in-0.back-off-multiplier"},
		{"instance index", stream.Config{Bindings: map[string]stream.BindingProperties{"a-in-0": {InstanceCount: 2, InstanceIndex: 2}}}, "millstream.bindings.a-in-0.instance-index: 2 is out of range"},
		{"start offset", stream.Config{Bindings: map[string]stream.BindingProperties{"a-in-0": {StartOffset: "beginning"}}}, `"beginning" is not earliest or latest`},
		{"content type", stream.Config{Bindings: map[string]stream.BindingProperties{"a-in-0": {ContentType: "json"}}}, "millstream.bindings.a-in-0.content-type"},
		{"partition key", stream.Config{Bindings: map[string]stream.BindingProperties{"a-out-0": {PartitionKey: "payload.id"}}}, "millstream.bindings.a-out-0.partition-key"},
		{"definition", stream.Config{FunctionDefinition: "a||b"}, "millstream.function.definition"},
		// Binders are checked against the registered ones by App.Prepare: a
		// binder without a settings section is fine here.
		{"binder without settings", stream.Config{Binders: map[string]stream.BinderConfig{"kafka": {}}, Bindings: map[string]stream.BindingProperties{"a-in-0": {Binder: "memory"}}}, ""},
		{"default binder without settings", stream.Config{DefaultBinder: "memory", Binders: map[string]stream.BinderConfig{"kafka": {}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseDefinition(t *testing.T) {
	got, err := stream.ParseDefinition(" parse | enrich ;audit")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || strings.Join(got[0], ",") != "parse,enrich" || strings.Join(got[1], ",") != "audit" {
		t.Fatalf("ParseDefinition = %v", got)
	}
	for _, bad := range []string{";", "a;", "|a", "a| |b"} {
		if _, err := stream.ParseDefinition(bad); err == nil {
			t.Errorf("ParseDefinition(%q) = nil error, want one", bad)
		}
	}
}
