package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newCommand() *cobra.Command {
	var o Options
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Write a new application that builds and passes its tests at once",
		Long: `Write a new Millstream application into DIR (default ./NAME): an fx
application with one binding, its handler with a unit test, an integration
test against a broker started with testcontainers (go test -tags integration),
millstream.yaml, a Makefile, a Dockerfile (FROM scratch), compose.yaml and a
README.

NAME is lower case: letters, digits and single hyphens, starting with a
letter (for example order-audit). Run from a checkout of Millstream (or with
--millstream-path), the project builds against that checkout through a
replace directive, so it needs no network when the module cache is warm.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if !cmd.Flags().Changed("millstream-path") {
				wd, _ := os.Getwd()
				o.MillstreamPath = findCheckout(wd)
			}
			p, err := Generate(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s %s on %s)\n", p.Dir, p.Kind, p.Func, p.Binder)
			if p.MillstreamPath != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "it builds against the checkout at %s\n", p.MillstreamPath)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "next: cd %s && go test ./... && make run\n", p.Dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Binder, "binder", "kafka", "binder the application runs on: kafka or rabbit")
	f.StringVar(&o.Kind, "kind", "function", "handler: function (in and out), consumer (in) or supplier (out)")
	f.StringVar(&o.Module, "module", "", "module path of the new project (default: NAME)")
	f.StringVar(&o.Dir, "dir", "", "directory to write into (default: ./NAME)")
	f.StringVar(&o.MillstreamPath, "millstream-path", "", "Millstream checkout to build against with a replace directive (default: the checkout around the working directory, if any; empty: none)")
	f.BoolVar(&o.Force, "force", false, "write into a directory that is not empty, overwriting files of the same names")
	f.BoolVar(&o.SkipTidy, "skip-tidy", false, "do not run go mod tidy in the new project")
	return cmd
}
