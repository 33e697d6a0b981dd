package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/server"
	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "broker.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// parse runs the broker command's flag parsing and config merge on args.
func parse(t *testing.T, args ...string) (server.Config, error) {
	t.Helper()
	flagged := server.DefaultConfig()
	fs := pflag.NewFlagSet("broker", pflag.ContinueOnError)
	configFile, _ := brokerFlags(fs, &flagged)
	if err := fs.Parse(args); err != nil {
		return server.Config{}, err
	}
	return brokerConfig(fs, *configFile, flagged)
}

func TestBrokerDefaults(t *testing.T) {
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	def := server.DefaultConfig()
	if cfg.DataDir != "./data" || cfg.KafkaAddr != "127.0.0.1:9092" || !cfg.AutoCreateTopics || cfg.Fsync != def.Fsync {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestBrokerConfigFileAndFlags(t *testing.T) {
	file := writeFile(t, `
data-dir: /var/lib/millstream
kafka-addr: 0.0.0.0:19092
auto-create-topics: false
fsync: interval=250ms
retention-check-interval: 30s
page-cache-keep-bytes: -1
topic-defaults:
  retention.ms: 3600000
  segment.bytes: 1048576
`)
	cfg, err := parse(t, "--config", file, "--kafka-addr", "127.0.0.1:29092", "--retention-ms", "60000")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/var/lib/millstream" {
		t.Errorf("data-dir = %s, want the file's", cfg.DataDir)
	}
	if cfg.KafkaAddr != "127.0.0.1:29092" {
		t.Errorf("kafka-addr = %s, want the flag's (a flag beats the file)", cfg.KafkaAddr)
	}
	if cfg.AutoCreateTopics {
		t.Errorf("auto-create-topics = true, want the file's false")
	}
	if cfg.Fsync.Mode != server.FsyncInterval || cfg.Fsync.Interval != 250*time.Millisecond {
		t.Errorf("fsync = %v, want interval=250ms", cfg.Fsync)
	}
	if cfg.RetentionCheckInterval != 30*time.Second {
		t.Errorf("retention-check-interval = %v", cfg.RetentionCheckInterval)
	}
	if cfg.PageCacheKeepBytes != -1 {
		t.Errorf("page-cache-keep-bytes = %d, want the file's -1", cfg.PageCacheKeepBytes)
	}
	if cfg.TopicDefaults.RetentionMs != 60000 || cfg.TopicDefaults.SegmentBytes != 1048576 {
		t.Errorf("topic defaults = %+v, want retention.ms from the flag, segment.bytes from the file", cfg.TopicDefaults)
	}
}

func TestBrokerConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		args []string
		want string
	}{
		{"unknown key", "data-dir: x\nkafka-adr: 1.2.3.4:9092\n", nil, "kafka-adr"},
		{"unknown topic default", "topic-defaults:\n  retention.minutes: 5\n", nil, "retention.minutes"},
		{"bad fsync in file", "fsync: sometimes\n", nil, "sometimes"},
		{"bad fsync flag", "", []string{"--fsync", "interval=-1s"}, "interval"},
		{"compact default", "", []string{"--cleanup-policy", "compact"}, "compaction is not implemented"},
		{"bad addr", "", []string{"--kafka-addr", "localhost"}, "kafka-addr"},
		{"bad advertise", "", []string{"--advertise-kafka-addr", ":9092"}, "advertise-kafka-addr"},
		{"bad http", "", []string{"--http-addr", "nope"}, "http-addr"},
		{"page cache keep 0", "", []string{"--page-cache-keep-bytes", "0"}, "page-cache-keep-bytes 0"},
		{"page cache keep -2", "page-cache-keep-bytes: -2\n", nil, "page-cache-keep-bytes -2"},
		{"missing file", "", []string{"--config", "/does/not/exist.yaml"}, "exist.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, tc.file))
			}
			_, err := parse(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
