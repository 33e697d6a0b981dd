// Command millstream is the Millstream broker and its client tools in one
// binary: `millstream broker` runs a Kafka-protocol broker; the other
// subcommands (topics, produce, consume, groups, perf) talk to any Kafka
// cluster.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/millstream/millstream/broker/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "millstream:", err)
		os.Exit(1)
	}
}

// newRootCmd assembles the command tree. Subcommands register here, one
// line each.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "millstream",
		Short:         "A Kafka-protocol log broker and Kafka client tools",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newBrokerCmd())
	root.AddCommand(newSASLCredentialCmd())
	root.AddCommand(cli.Commands()...)
	return root
}
