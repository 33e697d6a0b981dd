package streamfx_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
)

// reference is the configuration of ARCHITECTURE.md; the docs quote it.
var reference = func() string {
	b, err := os.ReadFile("testdata/millstream.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "millstream.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, body string, env ...string) (*streamfx.Loaded, error) {
	t.Helper()
	l := streamfx.Loader{Environ: env, Functions: []string{"uppercase", "audit"}}
	if body != "" {
		l.File = writeFile(t, body)
	}
	if l.Environ == nil {
		l.Environ = []string{}
	}
	return l.Load()
}

func TestLoadReference(t *testing.T) {
	got, err := load(t, reference)
	if err != nil {
		t.Fatal(err)
	}
	want := stream.Config{
		Application:        "orders",
		FunctionDefinition: "uppercase",
		DefaultBinder:      "kafka",
		Binders: map[string]stream.BinderConfig{
			"kafka":  {"brokers": []any{"localhost:9092"}},
			"rabbit": {"url": "amqp://guest:guest@localhost:5672/"},
		},
		Bindings: map[string]stream.BindingProperties{
			"uppercase-in-0":  {Destination: "words", Group: "upper", Concurrency: 2, MaxAttempts: 3, DLQ: true},
			"uppercase-out-0": {Destination: "upper-words", PartitionCount: 4},
		},
	}
	if !reflect.DeepEqual(got.Config, want) {
		t.Fatalf("Load() =\n%+v\nwant\n%+v", got.Config, want)
	}
	for key, line := range map[string]int{
		"millstream.application":                              2,
		"millstream.function.definition":                      4,
		"millstream.binders.kafka.brokers":                    7,
		"millstream.bindings.uppercase-in-0.group":            10,
		"millstream.bindings.uppercase-out-0":                 11,
		"millstream.bindings.uppercase-out-0.partition-count": 11,
	} {
		if src := got.Sources[key]; !strings.HasSuffix(src, ":"+strconv.Itoa(line)) {
			t.Errorf("Sources[%s] = %q, want line %d", key, src, line)
		}
	}
}

// TestLoadEnv covers how variables are matched to keys, and that they
// override the file.
func TestLoadEnv(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name  string
		file  string
		env   []string
		check func(t *testing.T, c stream.Config)
	}{
		{"top-level keys", "", []string{
			"MILLSTREAM_APPLICATION=shop", "MILLSTREAM_FUNCTION_DEFINITION=uppercase;audit",
			"MILLSTREAM_DEFAULT_BINDER=memory", "MILLSTREAM_SHUTDOWN_TIMEOUT=5s",
			"MILLSTREAM_DYNAMIC_DESTINATION_CACHE_SIZE=3",
		}, func(t *testing.T, c stream.Config) {
			if c.Application != "shop" || c.FunctionDefinition != "uppercase;audit" || c.DefaultBinder != "memory" ||
				c.ShutdownTimeout != 5*time.Second || c.DynamicDestinationCacheSize != 3 {
				t.Errorf("config = %+v", c)
			}
		}},
		{"env overrides file", reference, []string{
			"MILLSTREAM_APPLICATION=shop",
			"MILLSTREAM_BINDINGS_UPPERCASE_IN_0_DESTINATION=letters",
			"MILLSTREAM_BINDINGS_UPPERCASE_IN_0_MAX_ATTEMPTS=7",
		}, func(t *testing.T, c stream.Config) {
			p := c.Bindings["uppercase-in-0"]
			if c.Application != "shop" || p.Destination != "letters" || p.MaxAttempts != 7 || p.Group != "upper" || !p.DLQ {
				t.Errorf("config = %+v, binding %+v", c, p)
			}
		}},
		{"binding of a registered function, every property", "", []string{
			"MILLSTREAM_BINDINGS_AUDIT_IN_0_GROUP=g",
			"MILLSTREAM_BINDINGS_AUDIT_IN_0_AUTO_STARTUP=true",
			"MILLSTREAM_BINDINGS_AUDIT_IN_0_BACK_OFF_MULTIPLIER=1.5",
			"MILLSTREAM_BINDINGS_AUDIT_IN_0_BACK_OFF_INITIAL_INTERVAL=250ms",
			"MILLSTREAM_BINDINGS_AUDIT_IN_0_BACK_OFF_MAX_INTERVAL=2s",
			"MILLSTREAM_BINDINGS_AUDIT_IN_0_DLQ_DESTINATION=dead",
			"MILLSTREAM_BINDINGS_AUDIT_IN_0_START_OFFSET=latest",
			"MILLSTREAM_BINDINGS_UPPERCASE_OUT_0_PARTITION_KEY=header:user",
			"MILLSTREAM_BINDINGS_UPPERCASE_OUT_0_CONTENT_TYPE=application/json",
		}, func(t *testing.T, c stream.Config) {
			p := c.Bindings["audit-in-0"]
			want := stream.BindingProperties{Group: "g", AutoStartup: &yes, BackOffMultiplier: 1.5,
				BackOffInitialInterval: 250 * time.Millisecond, BackOffMaxInterval: 2 * time.Second,
				DLQDestination: "dead", StartOffset: stream.Latest}
			if !reflect.DeepEqual(p, want) {
				t.Errorf("audit-in-0 = %+v, want %+v", p, want)
			}
			if o := c.Bindings["uppercase-out-0"]; o.PartitionKey != "header:user" || o.ContentType != "application/json" {
				t.Errorf("uppercase-out-0 = %+v", o)
			}
		}},
		{"composed function from the env definition", "", []string{
			"MILLSTREAM_FUNCTION_DEFINITION=uppercase|audit",
			"MILLSTREAM_BINDINGS_UPPERCASEAUDIT_IN_0_GROUP=g",
		}, func(t *testing.T, c stream.Config) {
			if c.Bindings["uppercaseaudit-in-0"].Group != "g" {
				t.Errorf("bindings = %+v", c.Bindings)
			}
		}},
		{"binding known from the file only", "millstream:\n  bindings:\n    side-out-0: {destination: x}\n", []string{
			"MILLSTREAM_BINDINGS_SIDE_OUT_0_DESTINATION=y",
		}, func(t *testing.T, c stream.Config) {
			if c.Bindings["side-out-0"].Destination != "y" {
				t.Errorf("bindings = %+v", c.Bindings)
			}
		}},
		{"dlq-destination is not a binding named ...-dlq", "", []string{
			"MILLSTREAM_BINDINGS_UPPERCASE_IN_0_DLQ_DESTINATION=dead",
		}, func(t *testing.T, c stream.Config) {
			if len(c.Bindings) != 1 || c.Bindings["uppercase-in-0"].DLQDestination != "dead" {
				t.Errorf("bindings = %+v", c.Bindings)
			}
		}},
		{"binder settings; commas make a list", reference, []string{
			"MILLSTREAM_BINDERS_KAFKA_BROKERS=a:9092, b:9092",
			"MILLSTREAM_BINDERS_RABBIT_URL=amqp://x/",
			"MILLSTREAM_BINDERS_KAFKA_CLIENT_ID=me",
			"MILLSTREAM_BINDERS_NATS_SERVERS=nats://n:4222",
		}, func(t *testing.T, c stream.Config) {
			want := map[string]stream.BinderConfig{
				"kafka":  {"brokers": []any{"a:9092", "b:9092"}, "client-id": "me"},
				"rabbit": {"url": "amqp://x/"},
				"nats":   {"servers": "nats://n:4222"},
			}
			if !reflect.DeepEqual(c.Binders, want) {
				t.Errorf("binders = %#v, want %#v", c.Binders, want)
			}
		}},
		{"binder key spelled as in the file", "millstream:\n  default-binder: my-kafka\n  binders:\n    my-kafka:\n      sasl_user: u\n", []string{
			"MILLSTREAM_BINDERS_MY_KAFKA_SASL_USER=v",
		}, func(t *testing.T, c stream.Config) {
			if got := c.Binders["my-kafka"]["sasl_user"]; got != "v" || len(c.Binders) != 1 {
				t.Errorf("binders = %#v", c.Binders)
			}
		}},
		{"MILLSTREAM_CONFIG is not a key", "", []string{"MILLSTREAM_CONFIG="}, func(t *testing.T, c stream.Config) {}},
		{"other variables are ignored", "", []string{"HOME=/root", "MILLSTREAMX=1"}, func(t *testing.T, c stream.Config) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := load(t, tc.file, tc.env...)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got.Config)
			for _, kv := range tc.env {
				name, _, _ := strings.Cut(kv, "=")
				if !strings.HasPrefix(name, "MILLSTREAM_") || name == "MILLSTREAM_CONFIG" {
					continue
				}
				found := false
				for _, src := range got.Sources {
					found = found || src == "env "+name
				}
				if !found {
					t.Errorf("no key has source env %s: %v", name, got.Sources)
				}
			}
		})
	}
}

// TestLoadErrors checks that each kind of bad configuration is reported with
// its source, its key and a fix.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  []string
		want []string // each must appear in the error
	}{
		{"unknown binding property, camel case", "millstream:\n  bindings:\n    uppercase-in-0:\n      maxAttempts: 3\n",
			nil, []string{":4: millstream.bindings.uppercase-in-0.maxAttempts: unknown binding property; did you mean max-attempts?"}},
		{"misspelt binding property", "millstream:\n  bindings:\n    uppercase-in-0:\n      grup: g\n",
			nil, []string{":4: millstream.bindings.uppercase-in-0.grup: unknown binding property; did you mean group?"}},
		{"unknown top-level section", "millsteam:\n  application: x\n",
			nil, []string{":1: millsteam: unknown key; did you mean millstream?"}},
		{"unknown key in millstream", "millstream:\n  default_binder: kafka\n",
			nil, []string{":2: millstream.default_binder: unknown key; did you mean default-binder?"}},
		{"unknown function key", "millstream:\n  function:\n    definitions: a\n",
			nil, []string{":3: millstream.function.definitions: unknown key; did you mean definition?"}},
		{"bad integer", "millstream:\n  bindings:\n    uppercase-in-0:\n      concurrency: two\n",
			nil, []string{":4: millstream.bindings.uppercase-in-0.concurrency: \"two\" is not valid; write a whole number such as 3"}},
		{"duration without unit", "millstream:\n  shutdown-timeout: 30\n",
			nil, []string{":2: millstream.shutdown-timeout: \"30\" is not valid; write a Go duration such as 1s"}},
		{"list where a value goes", "millstream:\n  bindings:\n    uppercase-in-0:\n      group: [a, b]\n",
			nil, []string{":4: millstream.bindings.uppercase-in-0.group: want a single value, got a list"}},
		{"value where a mapping goes", "millstream:\n  bindings: words\n",
			nil, []string{":2: millstream.bindings: want a mapping (keys below it), got \"words\""}},
		{"key set twice", "millstream:\n  application: a\n  application: b\n",
			nil, []string{":3: millstream.application: set twice (first on line 2); keep one"}},
		{"not YAML", "millstream: [\n", nil, []string{"not valid YAML"}},
		{"not a mapping", "- a\n", nil, []string{":1: want a mapping with a millstream: section, got a list"}},
		{"range error from Validate names the file line", "millstream:\n  bindings:\n    uppercase-in-0:\n      instance-count: 2\n      instance-index: 5\n",
			nil, []string{":5: millstream.bindings.uppercase-in-0.instance-index: 5 is out of range"}},
		{"unknown variable", "", []string{"MILLSTREAM_DEFAULT_BINDERS=kafka"},
			[]string{"env MILLSTREAM_DEFAULT_BINDERS: unknown variable; did you mean MILLSTREAM_DEFAULT_BINDER?"}},
		{"variable of an unknown property", "", []string{"MILLSTREAM_BINDINGS_UPPERCASE_IN_0_MAX_ATEMPTS=3"},
			[]string{"env MILLSTREAM_BINDINGS_UPPERCASE_IN_0_MAX_ATEMPTS: unknown property of binding uppercase-in-0; did you mean MILLSTREAM_BINDINGS_UPPERCASE_IN_0_MAX_ATTEMPTS?"}},
		{"variable of an unknown binding", "", []string{"MILLSTREAM_BINDINGS_UPPERCAS_IN_0_GROUP=g"},
			[]string{"env MILLSTREAM_BINDINGS_UPPERCAS_IN_0_GROUP: names no known binding (UPPERCAS_IN_0); did you mean UPPERCASE_IN_0?"}},
		{"bad value in a variable", "", []string{"MILLSTREAM_BINDINGS_UPPERCASE_IN_0_DLQ=maybe"},
			[]string{"env MILLSTREAM_BINDINGS_UPPERCASE_IN_0_DLQ: millstream.bindings.uppercase-in-0.dlq: \"maybe\" is not valid; write true or false"}},
		{"Validate error from a variable", "", []string{"MILLSTREAM_BINDINGS_UPPERCASE_IN_0_START_OFFSET=beginning"},
			[]string{"env MILLSTREAM_BINDINGS_UPPERCASE_IN_0_START_OFFSET: millstream.bindings.uppercase-in-0.start-offset: \"beginning\" is not earliest or latest"}},
		{"binder variable without a key", "", []string{"MILLSTREAM_BINDERS_KAFKA=x"},
			[]string{"env MILLSTREAM_BINDERS_KAFKA: want MILLSTREAM_BINDERS_<BINDER>_<KEY>"}},
		{"every problem is reported", "millstream:\n  aplication: a\n  bindings:\n    x-in-0: {grup: g}\n",
			[]string{"MILLSTREAM_NOPE=1"}, []string{"millstream.aplication: unknown key; did you mean application?", "millstream.bindings.x-in-0.grup", "env MILLSTREAM_NOPE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.file, tc.env...)
			if err == nil {
				t.Fatalf("Load() = nil error, want one containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error =\n%v\nwant it to contain\n%s", err, w)
				}
			}
		})
	}
}

func TestLoadConfigErrorIsTyped(t *testing.T) {
	_, err := load(t, "millstream:\n  bindings:\n    a-in-0: {grup: g}\n")
	var ce *streamfx.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Load() = %v, want a *ConfigError inside", err)
	}
	if ce.Key != "millstream.bindings.a-in-0.grup" || !strings.HasSuffix(ce.Source, "millstream.yaml:3") {
		t.Errorf("ConfigError = key %q source %q", ce.Key, ce.Source)
	}
}

func TestLoadFileLocation(t *testing.T) {
	path := writeFile(t, "millstream:\n  application: from-file\n")
	other := writeFile(t, "millstream:\n  application: from-env-path\n")
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, tc := range []struct {
		name    string
		l       streamfx.Loader
		want    string // application; empty: an error is wanted
		wantErr string
	}{
		{"option", streamfx.Loader{File: path, Environ: []string{}}, "from-file", ""},
		{"MILLSTREAM_CONFIG beats the option", streamfx.Loader{File: path, Environ: []string{"MILLSTREAM_CONFIG=" + other}}, "from-env-path", ""},
		{"a missing default file is no file", streamfx.Loader{File: "", Environ: []string{}}, stream.DefaultApplication, ""},
		{"a named file must exist", streamfx.Loader{File: missing, Environ: []string{}}, "", "nope.yaml"},
		{"so must one named by MILLSTREAM_CONFIG", streamfx.Loader{Environ: []string{"MILLSTREAM_CONFIG=" + missing}}, "", "set MILLSTREAM_CONFIG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.l.File == "" {
				t.Chdir(t.TempDir())
			}
			got, err := tc.l.Load()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load() = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := got.Config
			c.EnsureDefaults()
			if c.Application != tc.want {
				t.Errorf("application = %q, want %q", c.Application, tc.want)
			}
		})
	}
}

func TestLoadDottedDefinition(t *testing.T) {
	got, err := load(t, "millstream:\n  function.definition: uppercase;audit\n")
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.FunctionDefinition != "uppercase;audit" {
		t.Errorf("definition = %q", got.Config.FunctionDefinition)
	}
}

func TestLoadNullsAndAnchors(t *testing.T) {
	got, err := load(t, `millstream:
  application:
  bindings:
    uppercase-in-0: &common {group: g, max-attempts: 5}
    audit-in-0: *common
    uppercase-out-0:
`)
	if err != nil {
		t.Fatal(err)
	}
	c := got.Config
	if c.Application != "" || c.Bindings["audit-in-0"].MaxAttempts != 5 || c.Bindings["uppercase-in-0"].Group != "g" {
		t.Errorf("config = %+v", c)
	}
	if _, ok := c.Bindings["uppercase-out-0"]; !ok {
		t.Errorf("an empty binding entry is kept, so that it is checked against the functions")
	}
}
