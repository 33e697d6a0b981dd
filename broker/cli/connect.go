package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultBootstrap is the server the commands talk to when neither
// --bootstrap-server nor $MILLSTREAM_BOOTSTRAP names one: the address the
// bundled broker listens on by default.
const DefaultBootstrap = "127.0.0.1:9092"

// BootstrapEnv names the environment variable that overrides DefaultBootstrap.
const BootstrapEnv = "MILLSTREAM_BOOTSTRAP"

// DefaultTimeout bounds connecting and each administrative request.
const DefaultTimeout = 10 * time.Second

// ErrUnreachable is wrapped by the error NewClient returns when no bootstrap
// server answered within the timeout.
var ErrUnreachable = errors.New("cluster unreachable")

// ConnOptions are the connection settings every client command shares.
type ConnOptions struct {
	// Bootstrap lists host:port addresses of one or more brokers of the
	// cluster. Default: []string{DefaultBootstrap}.
	Bootstrap []string
	// ClientID is sent to the brokers with every request. Default: "millstream-cli".
	ClientID string
	// Timeout bounds connecting and every request. Default: DefaultTimeout.
	Timeout time.Duration
	// Log, when set, receives franz-go's debug log (for --verbose).
	Log io.Writer
}

func (o ConnOptions) withDefaults() ConnOptions {
	if len(o.Bootstrap) == 0 {
		o.Bootstrap = []string{DefaultBootstrap}
	}
	if o.ClientID == "" {
		o.ClientID = "millstream-cli"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// ParseBootstrap splits a comma-separated list of host:port addresses and
// checks each one.
func ParseBootstrap(s string) ([]string, error) {
	var addrs []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("bootstrap server %q: want host:port: %w", a, err)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, errors.New("bootstrap server: empty list, want host:port[,host:port...]")
	}
	return addrs, nil
}

// ClientOpts returns the kgo options for these settings, without checking
// that the cluster is reachable.
func (o ConnOptions) ClientOpts() []kgo.Opt {
	o = o.withDefaults()
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Bootstrap...),
		kgo.ClientID(o.ClientID),
		kgo.DialTimeout(o.Timeout),
		kgo.RetryTimeout(o.Timeout),
	}
	if o.Log != nil {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(o.Log, kgo.LogLevelDebug, nil)))
	}
	return opts
}

// NewClient creates a client with these settings plus extra and checks,
// within Timeout, that at least one bootstrap server answers. When none does
// the error wraps ErrUnreachable and names the addresses and the cause, so a
// wrong address fails at once instead of hanging.
func (o ConnOptions) NewClient(ctx context.Context, extra ...kgo.Opt) (*kgo.Client, error) {
	o = o.withDefaults()
	cl, err := kgo.NewClient(append(o.ClientOpts(), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("client options: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := ping(pctx, cl); err != nil {
		cl.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unreachable(ctx, o, err)
	}
	return cl, nil
}

// ping is cl.Ping bounded by ctx: kgo's connection handshake waits for its
// own timeouts, not for the context, when a server accepts a connection and
// then says nothing.
func ping(ctx context.Context, cl *kgo.Client) error {
	done := make(chan error, 1)
	go func() { done <- cl.Ping(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The goroutine ends when the caller closes cl.
		return ctx.Err()
	}
}

// unreachable explains why Ping failed: a dial error names the address and
// the reason (refused, no route, unknown host), which kgo's own error, often
// just a deadline, does not.
func unreachable(ctx context.Context, o ConnOptions, pingErr error) error {
	addrs := strings.Join(o.Bootstrap, ",")
	d := net.Dialer{Timeout: min(o.Timeout, 3*time.Second)}
	for _, a := range o.Bootstrap {
		c, err := d.DialContext(ctx, "tcp", a)
		if err != nil {
			return fmt.Errorf("%w: cannot connect to %s: %w", ErrUnreachable, addrs, err)
		}
		c.Close()
	}
	return fmt.Errorf("%w: %s accepted the connection but gave no Kafka answer within %s: %w",
		ErrUnreachable, addrs, o.Timeout, pingErr)
}
