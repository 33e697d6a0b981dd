package streamfx

import (
	"strings"

	"github.com/millstream/millstream/sdk/stream"
)

// KeyDoc describes one configuration key, for the reference in the docs and
// for the suggestions in errors.
type KeyDoc struct {
	// Key is the YAML path, with placeholders in angle brackets:
	// "millstream.bindings.<binding>.max-attempts".
	Key string
	// Env is the environment variable that sets it:
	// "MILLSTREAM_BINDINGS_<BINDING>_MAX_ATTEMPTS".
	Env string
	// Default is the value used when the key is not set, in words where it
	// is not a constant.
	Default string
	// Value says what is accepted ("duration", "integer", ...).
	Value string
	// Description says what the key does.
	Description string
}

// valueKind is the syntax of a key's value.
type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindBool
	kindDuration
	kindFloat
)

func (k valueKind) String() string {
	switch k {
	case kindInt:
		return "integer"
	case kindBool:
		return "boolean"
	case kindDuration:
		return "duration"
	case kindFloat:
		return "number"
	default:
		return "string"
	}
}

// example is what an error suggests writing instead of a bad value.
func (k valueKind) example() string {
	switch k {
	case kindInt:
		return "a whole number such as 3"
	case kindBool:
		return "true or false"
	case kindDuration:
		return "a Go duration such as 1s, 250ms or 1m30s"
	case kindFloat:
		return "a number such as 2.0"
	default:
		return "a single value"
	}
}

// keySpec is one settable key below "millstream.".
type keySpec struct {
	key, def, doc string
	kind          valueKind
}

// topKeys are the keys directly below millstream, in reference order. The
// binders and bindings sections are described by binderKey and properties.
var topKeys = []keySpec{
	{"application", stream.DefaultApplication, "Application name; the default CloudEvent `source` of sent messages.", kindString},
	{"function.definition", "every registered handler", "Handlers to bind: `a;b` binds a and b, `parse|enrich` binds their composition, named `parseenrich`.", kindString},
	{"default-binder", "the only registered binder", "Binder of bindings that name none; required when several binders are registered.", kindString},
	{"shutdown-timeout", stream.DefaultShutdownTimeout.String(), "How long stopping waits for in-flight messages.", kindDuration},
	{"dynamic-destination-cache-size", "10", "Producers the Bridge keeps for destinations that are not bindings; the least recently used is closed beyond it.", kindInt},
}

// binderKey describes the binders section.
var binderKey = keySpec{"binders.<binder>.<key>", "set by each binder", "Settings of one binder, read by the binder (e.g. `binders.kafka.brokers`). In the environment a value with commas is a list.", kindString}

// properties are the binding properties, in the order of
// stream.PropertyKeys; a test keeps the two lists equal.
var properties = []keySpec{
	{"destination", "the binding name", "Topic, exchange or queue name.", kindString},
	{"group", "none: an anonymous, non-durable subscription", "Consumer group; each group gets every message once, shared among its members.", kindString},
	{"binder", "`default-binder`", "Binder of this binding.", kindString},
	{"content-type", "by payload type: text/plain, application/octet-stream or application/json", "Content type of sent messages, and of received ones that carry none.", kindString},
	{"concurrency", "1", "Group members this binding runs; messages of different partitions are handled in parallel.", kindInt},
	{"partition-key", "the handler's key only", "Where the partition key of a sent message comes from: subject, type, source, id, header:<name> or extension:<name>.", kindString},
	{"partition-count", "1", "Partitions of the destination (output bindings).", kindInt},
	{"partitioned", "false", "An input binding reads only the partitions p with p % instance-count == instance-index.", kindBool},
	{"instance-count", "1", "Number of instances of the application.", kindInt},
	{"instance-index", "0", "Index of this instance, from 0.", kindInt},
	{"max-attempts", "3", "Times a message is handled before it is given up on; 1 disables retries.", kindInt},
	{"back-off-initial-interval", "1s", "Wait before the first retry.", kindDuration},
	{"back-off-multiplier", "2", "Factor applied to the wait after each retry.", kindFloat},
	{"back-off-max-interval", "10s", "Longest wait between retries.", kindDuration},
	{"dlq", "false", "Send messages that failed every attempt, or cannot be decoded, to dlq-destination; otherwise they are logged, counted and dropped.", kindBool},
	{"dlq-destination", "Kafka: `error.<destination>.<group>`; other binders: `<destination>.<group>.dlq`, or `<destination>.dlq` without a group", "Where dead letters go. The default is the binder's (Spring Cloud Stream's names); a value set here wins on every binder.", kindString},
	{"auto-startup", "true", "Start the binding with the application; otherwise start it through the actuator.", kindBool},
	{"structured", "false", "Send CloudEvents in structured mode (the whole event as JSON) instead of binary mode.", kindBool},
	{"start-offset", "earliest for a group, latest for an anonymous subscription", "Where a new group starts: earliest or latest.", kindString},
	{"poller-fixed-delay", "1s", "Wait between two calls of a polled supplier.", kindDuration},
}

func propertySpec(name string) (keySpec, bool) {
	for _, p := range properties {
		if p.key == name {
			return p, true
		}
	}
	return keySpec{}, false
}

func topSpec(name string) (keySpec, bool) {
	for _, k := range topKeys {
		if k.key == name {
			return k, true
		}
	}
	return keySpec{}, false
}

// Reference lists every configuration key with its environment variable and
// default, in the order the docs show them.
func Reference() []KeyDoc {
	var out []KeyDoc
	add := func(key string, s keySpec) {
		out = append(out, KeyDoc{Key: "millstream." + key, Env: EnvName(key), Default: s.def, Value: s.kind.String(), Description: s.doc})
	}
	for _, k := range topKeys {
		add(k.key, k)
	}
	add(binderKey.key, binderKey)
	for _, p := range properties {
		add("bindings.<binding>."+p.key, p)
	}
	return out
}

// EnvName is the environment variable of a key below "millstream.": upper
// case, with "." and "-" turned into "_", after MILLSTREAM_. For example
// "bindings.uppercase-in-0.destination" is
// MILLSTREAM_BINDINGS_UPPERCASE_IN_0_DESTINATION.
func EnvName(key string) string { return EnvPrefix + envPart(key) }

// EnvPrefix starts every configuration variable.
const EnvPrefix = "MILLSTREAM_"

// EnvConfigFile names the variable that overrides the configuration file's
// path. It is not a configuration key.
const EnvConfigFile = "MILLSTREAM_CONFIG"

func envPart(s string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(s))
}
