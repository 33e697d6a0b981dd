package cli_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/millstream/millstream/broker/cli"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/help/*.txt from the commands")

// The --help text of every command is kept in testdata/help, which the docs
// quote; this test fails when the two drift. Regenerate with
// go test ./broker/cli -run TestHelp -rewrite.
func TestHelpMatchesGolden(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		path = append(path, c.Name())
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, path)
		}
	}
	for _, c := range cli.Commands() {
		walk(c, nil)
	}
	for _, path := range paths {
		name := strings.Join(path, "-")
		out, _, err := run(t, "", append(path, "--help")...)
		if err != nil {
			t.Fatalf("%s --help: %v", name, err)
		}
		file := filepath.Join("testdata", "help", name+".txt")
		if *rewrite {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (regenerate with -rewrite)", err)
		}
		if out != string(want) {
			t.Errorf("millstream %s --help differs from %s (regenerate with -rewrite):\n%s", strings.Join(path, " "), file, out)
		}
	}
}
