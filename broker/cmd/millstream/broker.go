package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/millstream/millstream/broker/server"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// brokerFlags binds every `millstream broker` flag to a field of a Config.
// A flag given on the command line wins over the config file, which wins
// over the defaults.
func brokerFlags(fs *pflag.FlagSet, c *server.Config) (configFile, logLevel *string) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the partition logs and the metadata log")
	fs.StringVar(&c.KafkaAddr, "kafka-addr", c.KafkaAddr, "HOST:PORT the Kafka protocol listener binds (port 0 picks one)")
	fs.StringVar(&c.AdvertiseKafkaAddr, "advertise-kafka-addr", c.AdvertiseKafkaAddr, "HOST:PORT given to clients in Metadata (default: the bound address)")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HOST:PORT for the HTTP endpoint (GET /healthz); empty: off")
	fs.Int32Var(&c.MaxRequestSize, "max-request-size", c.MaxRequestSize, "largest request frame accepted, in bytes; larger closes the connection")
	fs.BoolVar(&c.AutoCreateTopics, "auto-create-topics", c.AutoCreateTopics, "create topics that Metadata requests name and that do not exist")
	fs.Int32Var(&c.DefaultPartitions, "default-partitions", c.DefaultPartitions, "partitions of auto-created topics and of CreateTopics with -1")
	fs.Int32Var(&c.MaxPartitionsPerTopic, "max-partitions-per-topic", c.MaxPartitionsPerTopic, "the most partitions a topic may be created with or grown to")
	fs.Var(&c.Fsync, "fsync", "durability: always (acks=all waits for fsync), interval=DURATION, or never")
	fs.Int64Var(&c.PageCacheKeepBytes, "page-cache-keep-bytes", c.PageCacheKeepBytes, "bytes behind the fsynced end of each partition kept in the page cache; older ones are dropped (-1: never drop)")
	fs.DurationVar(&c.RetentionCheckInterval, "retention-check-interval", c.RetentionCheckInterval, "how often retention deletes old segments")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long shutdown waits for in-flight requests")
	fs.DurationVar(&c.GroupInitialRebalanceDelay, "group-initial-rebalance-delay", c.GroupInitialRebalanceDelay, "how long the first rebalance of an empty consumer group waits for more members")
	fs.StringSliceVar(&c.SASLMechanisms, "sasl-mechanisms", c.SASLMechanisms, "turn SASL on with these mechanisms (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); users go under sasl-users in --config")
	d := &c.TopicDefaults
	fs.Int64Var(&d.RetentionMs, "retention-ms", d.RetentionMs, "default retention.ms of topics (-1: keep forever)")
	fs.Int64Var(&d.RetentionBytes, "retention-bytes", d.RetentionBytes, "default retention.bytes of each partition (-1: no limit)")
	fs.Int64Var(&d.SegmentBytes, "segment-bytes", d.SegmentBytes, "default segment.bytes: roll segments at this size")
	fs.Int64Var(&d.SegmentMs, "segment-ms", d.SegmentMs, "default segment.ms: roll segments at this age")
	fs.Int64Var(&d.MaxMessageBytes, "max-message-bytes", d.MaxMessageBytes, "default max.message.bytes: largest batch a produce may carry")
	fs.StringVar(&d.MessageTimestampType, "message-timestamp-type", d.MessageTimestampType, "default message.timestamp.type: CreateTime or LogAppendTime")
	fs.StringVar(&d.CleanupPolicy, "cleanup-policy", d.CleanupPolicy, "default cleanup.policy (only delete is implemented)")
	configFile = fs.String("config", "", "YAML file of broker settings (keys as the flag names; topic defaults under topic-defaults)")
	logLevel = fs.String("log-level", "info", "debug, info, warn or error")
	return configFile, logLevel
}

func newBrokerCmd() *cobra.Command {
	flagged := server.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a single-node Kafka-protocol broker",
		Long: `Run a single-node broker that Kafka clients use unchanged.

With no flags it serves on 127.0.0.1:9092, keeps its data in ./data, fsyncs
before acknowledging acks=all produces, and creates topics on first use.
SIGINT or SIGTERM shut it down cleanly.`,
		Args: cobra.NoArgs,
	}
	configFile, logLevel := brokerFlags(cmd.Flags(), &flagged)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := brokerConfig(cmd.Flags(), *configFile, flagged)
		if err != nil {
			return err
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
		}
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
		srv, err := server.New(cfg, log)
		if err != nil {
			return err
		}
		return srv.Run(cmd.Context())
	}
	return cmd
}

// brokerConfig merges, lowest first: the defaults, the config file, and
// the flags set on the command line (their values are in flagged).
func brokerConfig(fs *pflag.FlagSet, configFile string, flagged server.Config) (server.Config, error) {
	cfg := server.DefaultConfig()
	if configFile != "" {
		if err := loadConfigFile(configFile, &cfg); err != nil {
			return cfg, err
		}
	}
	// Re-bind the flags to cfg and replay the ones the user set, so a flag
	// overrides the file.
	replay := pflag.NewFlagSet("replay", pflag.ContinueOnError)
	brokerFlags(replay, &cfg)
	var errs []error
	fs.Visit(func(f *pflag.Flag) {
		if rf := replay.Lookup(f.Name); rf != nil && f.Name != "config" && f.Name != "log-level" {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				// A slice's String() is "[a,b]", which Set cannot read back.
				if err := rf.Value.(pflag.SliceValue).Replace(sv.GetSlice()); err != nil {
					errs = append(errs, fmt.Errorf("--%s: %w", f.Name, err))
				}
				return
			}
			if err := rf.Value.Set(f.Value.String()); err != nil {
				errs = append(errs, fmt.Errorf("--%s: %w", f.Name, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// unknownField matches yaml.v3's words for a key KnownFields refused.
var unknownField = regexp.MustCompile(`field (\S+) not found`)

// loadConfigFile decodes a YAML file over cfg. Unknown keys are errors.
func loadConfigFile(path string, cfg *server.Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file changes nothing
		}
		msg := strings.ReplaceAll(err.Error(), "yaml: unmarshal errors:\n  ", "")
		msg = unknownField.ReplaceAllString(msg, `unknown key "$1"`)
		msg = strings.ReplaceAll(msg, " in type server.Config", "; the keys are the flag names (millstream broker --help)")
		msg = strings.ReplaceAll(msg, " in type metadata.TopicDefaults", " under topic-defaults; the keys are the topic config names")
		return fmt.Errorf("config file %s: %s", path, msg)
	}
	return nil
}
