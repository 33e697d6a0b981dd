// Command starter writes new Millstream applications.
//
//	starter new NAME [--binder kafka|rabbit] [--kind function|consumer|supplier]
//	                 [--module PATH] [--dir DIR] [--millstream-path DIR] [--force]
//
// From a checkout of Millstream, `go run ./starter new NAME` works too: the
// new project then builds against that checkout (a replace directive), so it
// needs no network when the module cache is warm.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Write new Millstream applications",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newCommand())
	return root
}
