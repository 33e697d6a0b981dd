package cli_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/cli"
)

// connect returns a client of the broker at addr, closed with the test.
func connect(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := cli.ConnOptions{Bootstrap: []string{addr}, Timeout: 5 * time.Second}.NewClient(ctx, opts...)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func admin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(connect(t, addr))
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// run executes the millstream client commands with args, as a user would,
// and returns stdout, stderr and the error.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "millstream", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(cli.Commands()...)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(bytes.NewBufferString(stdin))
	root.SetArgs(args)
	err = root.ExecuteContext(testContext(t))
	return out.String(), errOut.String(), err
}
