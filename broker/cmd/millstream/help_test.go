package main

import (
	"flag"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/millstream/millstream/broker/server"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/")

// TestBrokerHelpGolden keeps testdata/broker-help.txt, which the docs
// quote, equal to the real help text. Regenerate with -rewrite.
func TestBrokerHelpGolden(t *testing.T) {
	cmd, _, err := newRootCmd().Find([]string{"broker"})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "testdata/broker-help.txt", cmd.UsageString(), "HelpGolden")
}

// TestExampleConfigFile: the example the docs show loads and means what
// its comments say.
func TestExampleConfigFile(t *testing.T) {
	cfg, err := parse(t, "--config", "testdata/broker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := server.DefaultConfig()
	want.DataDir = "/var/lib/millstream"
	want.KafkaAddr = "0.0.0.0:9092"
	want.AdvertiseKafkaAddr = "broker.internal:9092"
	want.HTTPAddr = "127.0.0.1:9644"
	want.DefaultPartitions = 3
	want.Fsync = server.FsyncPolicy{Mode: server.FsyncInterval, Interval: 50 * time.Millisecond}
	want.RetentionCheckInterval = 5 * time.Minute
	want.TopicDefaults.RetentionMs = 86400000
	want.TopicDefaults.SegmentBytes = 256 << 20
	want.TopicDefaults.SegmentMs = 3600000
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("example config =\n%+v\nwant\n%+v", cfg, want)
	}
}

// TestCommandListGolden keeps testdata/commands.txt, every command path of
// the binary one per line, equal to the real command tree: the docs check
// (internal/docscheck) reads it to know which `millstream ...` commands
// exist. Regenerate with -rewrite.
func TestCommandListGolden(t *testing.T) {
	var lines []string
	var walk func(prefix string, c *cobra.Command)
	walk = func(prefix string, c *cobra.Command) {
		for _, sub := range c.Commands() {
			name := strings.TrimSpace(prefix + " " + sub.Name())
			lines = append(lines, name)
			walk(name, sub)
		}
	}
	root := newRootCmd()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	walk("", root)
	sort.Strings(lines)
	checkGolden(t, "testdata/commands.txt", strings.Join(lines, "\n")+"\n", "CommandListGolden")
}

// checkGolden fails the test unless got equals the golden file at path;
// with -rewrite it writes got there first. test names the test to rerun.
func checkGolden(t *testing.T, path, got, test string) {
	t.Helper()
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("%s is stale; run go test ./broker/cmd/millstream -run %s -rewrite\ngot:\n%s", path, test, got)
	}
}
