package brokercontainer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
)

const (
	// DefaultImage is the tag `make images` gives the broker image.
	DefaultImage = "millstream/broker:dev"
	// KafkaPort is the container port of the Kafka protocol listener.
	KafkaPort = "9092/tcp"
	// DataDir is where the broker in the image keeps its data.
	DataDir = "/data"

	// portAttempts bounds how often Run picks another free port when the
	// one it picked was taken before Docker could publish it.
	portAttempts = 3
)

// Container is a running broker. It embeds the testcontainers container,
// so Stop, Start, Logs, Exec and Terminate work as for any other.
type Container struct {
	*testcontainers.DockerContainer
	advertised string
}

// Run starts the broker image img (usually [DefaultImage]) and returns once
// the broker answers Kafka requests inside the container. opts may mix
// this package's Option values with generic testcontainers options.
//
// On error the returned Container may be non-nil (a container that was
// created but did not become ready); pass it to
// testcontainers.CleanupContainer or terminate it either way.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	var o options
	for _, opt := range opts {
		if mo, ok := opt.(Option); ok {
			mo(&o)
		}
	}
	if err := errors.Join(o.errs...); err != nil {
		return nil, err
	}

	var build *testcontainers.FromDockerfile
	if o.repoDir != "" {
		dir, err := buildContext(ctx, o.repoDir)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		repo, tag := splitImage(img)
		build = &testcontainers.FromDockerfile{
			Context:    dir,
			Dockerfile: Dockerfile,
			Repo:       repo,
			Tag:        tag,
			KeepImage:  true,
		}
	}

	for attempt := 1; ; attempt++ {
		port := o.hostPort
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		c, err := run(ctx, img, port, build, &o, opts)
		if err == nil || o.hostPort != 0 || attempt == portAttempts || !portTaken(err) {
			return c, err
		}
		// Someone took the port between freePort and the container start.
		if c != nil {
			_ = c.Terminate(ctx)
		}
		// Built once is enough; later attempts run the tagged image.
		build = nil
	}
}

// run creates and starts one container publishing the listener on
// 127.0.0.1:port.
func run(ctx context.Context, img string, port int, build *testcontainers.FromDockerfile, o *options, opts []testcontainers.ContainerCustomizer) (*Container, error) {
	advertised := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	kafkaPort, err := network.ParsePort(KafkaPort)
	if err != nil {
		return nil, fmt.Errorf("brokercontainer: %w", err)
	}
	args := append([]string{"--advertise-kafka-addr", advertised}, o.flags...)
	all := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(KafkaPort),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			if hc.PortBindings == nil {
				hc.PortBindings = network.PortMap{}
			}
			hc.PortBindings[kafkaPort] = []network.PortBinding{{
				HostIP:   netip.MustParseAddr("127.0.0.1"),
				HostPort: strconv.Itoa(port),
			}}
		}),
		testcontainers.WithCmdArgs(args...),
		testcontainers.WithWaitStrategy(&readyStrategy{timeout: 60 * time.Second}),
	}
	if o.volume != "" {
		all = append(all, testcontainers.WithMounts(testcontainers.VolumeMount(o.volume, DataDir)))
	}
	all = append(all, opts...)
	if build != nil {
		// testcontainers refuses a request with both an image and a build;
		// the build's Repo and Tag name the image instead.
		all = append(all, testcontainers.WithDockerfile(*build),
			testcontainers.CustomizeRequestOption(func(req *testcontainers.GenericContainerRequest) error {
				req.Image = ""
				return nil
			}))
	}

	dc, err := testcontainers.Run(ctx, img, all...)
	var c *Container
	if dc != nil {
		c = &Container{DockerContainer: dc, advertised: advertised}
	}
	if err != nil {
		return c, fmt.Errorf("brokercontainer: run %s: %w", img, err)
	}
	return c, nil
}

// Brokers returns the seed addresses for Kafka clients on the Docker host:
// one, 127.0.0.1 and the published port, which is also the address the
// broker advertises. It stays the same across Stop and Start.
func (c *Container) Brokers(ctx context.Context) ([]string, error) {
	st, err := c.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("brokercontainer: brokers: %w", err)
	}
	if !st.Running {
		return nil, fmt.Errorf("brokercontainer: brokers: the container is %s, not running", st.Status)
	}
	return []string{c.advertised}, nil
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("brokercontainer: pick a host port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portTaken reports whether Docker failed to publish a port another
// process holds.
func portTaken(err error) bool {
	s := err.Error()
	return strings.Contains(s, "address already in use") || strings.Contains(s, "port is already allocated")
}

// splitImage splits "repo/name:tag" into "repo/name" and "tag" (default
// "latest").
func splitImage(img string) (repo, tag string) {
	if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
		return img[:i], img[i+1:]
	}
	return img, "latest"
}
