package brokercontainer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/testcontainers/testcontainers-go"
)

// options collects what the Option values ask for; Run turns them into
// flags, mounts and port bindings.
type options struct {
	// flags are appended to the image's entrypoint, in order. The broker
	// keeps the last value of a flag given twice.
	flags []string
	// hostPort, when not 0, is the host port the Kafka listener is
	// published and advertised on; 0 picks a free one.
	hostPort int
	// volume, when set, is the named Docker volume mounted at /data.
	volume string
	// repoDir, when set, is a checkout to build the image from.
	repoDir string
	errs    []error
}

// Option configures the broker container. It is a
// testcontainers.ContainerCustomizer, so Run accepts it next to the
// generic options (testcontainers.WithEnv, WithLogger, ...).
type Option func(*options)

// Customize does nothing: Run reads Option values itself.
func (o Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithConfig sets a `millstream broker` flag, named without its dashes:
// WithConfig("fsync", "never") passes --fsync=never. The names are those
// of `millstream broker --help`. An unknown name makes the broker exit at
// start, and Run returns an error carrying the broker's message.
func WithConfig(flag, value string) Option {
	return func(o *options) {
		if flag == "" || strings.HasPrefix(flag, "-") || strings.ContainsAny(flag, "= ") {
			o.errs = append(o.errs, fmt.Errorf("brokercontainer: WithConfig(%q): want a flag name like \"fsync\" (no dashes, no '=')", flag))
			return
		}
		o.flags = append(o.flags, "--"+flag+"="+value)
	}
}

// WithTopicDefaults sets the default configs of every topic, by their
// Kafka names: {"retention.ms": "60000", "segment.bytes": "1048576"}.
// Each becomes the broker flag of the same name with dashes for dots.
func WithTopicDefaults(configs map[string]string) Option {
	return func(o *options) {
		for _, name := range slices.Sorted(maps.Keys(configs)) {
			WithConfig(strings.ReplaceAll(name, ".", "-"), configs[name])(o)
		}
	}
}

// WithHostPort publishes the Kafka listener on this port of 127.0.0.1 and
// advertises 127.0.0.1:port, instead of a free port Run picks.
func WithHostPort(port int) Option {
	return func(o *options) {
		if port <= 0 || port > 65535 {
			o.errs = append(o.errs, fmt.Errorf("brokercontainer: WithHostPort(%d): want a port in 1..65535", port))
			return
		}
		o.hostPort = port
	}
}

// WithDataVolume mounts the named Docker volume at /data, so that a new
// container on the same volume finds the topics, records and committed
// offsets of the previous one. Docker creates the volume if needed;
// removing it is the caller's (testcontainers.RemoveVolumes(name) as a
// terminate option, or `docker volume rm`).
func WithDataVolume(name string) Option {
	return func(o *options) {
		if name == "" {
			o.errs = append(o.errs, fmt.Errorf("brokercontainer: WithDataVolume: empty volume name"))
			return
		}
		o.volume = name
	}
}

// WithBuildFromRepo builds the image before running it, from the
// checkout at repoDir: the static binary (CGO_ENABLED=0 go build) and
// compose/millstream.Dockerfile. The image passed to Run names the result
// and is kept after the container ends, so Docker reuses its layers.
func WithBuildFromRepo(repoDir string) Option {
	return func(o *options) { o.repoDir = repoDir }
}
