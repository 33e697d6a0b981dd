package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/cli/perfstat"
)

// Commands returns the client commands for the root of the millstream
// binary: topics, produce, consume, groups and perf.
func Commands() []*cobra.Command {
	return []*cobra.Command{
		topicsCommand(),
		produceCommand(),
		consumeCommand(),
		groupsCommand(),
		perfCommand(),
	}
}

// connFlags are the connection flags every command has.
type connFlags struct {
	bootstrap string
	clientID  string
	timeout   time.Duration
	verbose   bool
}

// register adds the flags; timeoutName is "timeout" except on commands
// where --timeout already means something else.
func (f *connFlags) register(fs *pflag.FlagSet, timeoutName string) {
	fs.StringVarP(&f.bootstrap, "bootstrap-server", "b", DefaultBootstrap,
		"host:port of one or more brokers, comma-separated (env "+BootstrapEnv+")")
	fs.StringVar(&f.clientID, "client-id", "millstream-cli", "client id sent to the brokers")
	fs.DurationVar(&f.timeout, timeoutName, DefaultTimeout, "bound on connecting and on each request")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log the Kafka client's debug messages to stderr")
}

func (f *connFlags) options(cmd *cobra.Command) (ConnOptions, error) {
	addr := f.bootstrap
	if fl := cmd.Flags().Lookup("bootstrap-server"); fl != nil && !fl.Changed {
		if env := os.Getenv(BootstrapEnv); env != "" {
			addr = env
		}
	}
	addrs, err := ParseBootstrap(addr)
	if err != nil {
		return ConnOptions{}, err
	}
	o := ConnOptions{Bootstrap: addrs, ClientID: f.clientID, Timeout: f.timeout}
	if f.verbose {
		o.Log = cmd.ErrOrStderr()
	}
	return o, nil
}

// client connects; extra options come after the connection ones.
func (f *connFlags) client(ctx context.Context, cmd *cobra.Command, extra ...kgo.Opt) (*kgo.Client, ConnOptions, error) {
	o, err := f.options(cmd)
	if err != nil {
		return nil, o, err
	}
	cl, err := o.NewClient(ctx, extra...)
	return cl, o, err
}

// withAdmin runs fn with an admin client, bounding the whole call by the
// timeout.
func (f *connFlags) withAdmin(cmd *cobra.Command, fn func(ctx context.Context, adm *kadm.Client) error) error {
	cmd.SilenceUsage = true
	cl, o, err := f.client(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), o.Timeout)
	defer cancel()
	return fn(ctx, kadm.NewClient(cl))
}

// interruptible ends the context on SIGINT or SIGTERM, for commands that
// run until stopped.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

func parseKV(kvs []string, flag string) (map[string]string, error) {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: want key=value", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

func topicsCommand() *cobra.Command {
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create, list, describe, alter and delete topics",
	}
	conn.register(cmd.PersistentFlags(), "timeout")

	var (
		partitions  int32
		rf          int16
		configs     []string
		ifNotExists bool
	)
	create := &cobra.Command{
		Use:     "create TOPIC",
		Short:   "Create a topic",
		Example: "  millstream topics create orders --partitions 3 --config retention.ms=86400000",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := parseKV(configs, "config")
			if err != nil {
				return err
			}
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return CreateTopic(ctx, adm, cmd.OutOrStdout(), CreateTopicOptions{
					Name: args[0], Partitions: partitions, ReplicationFactor: rf, Configs: cfg, IfNotExists: ifNotExists,
				})
			})
		},
	}
	create.Flags().Int32Var(&partitions, "partitions", -1, "number of partitions (-1: the broker's default)")
	create.Flags().Int16Var(&rf, "replication-factor", -1, "number of replicas (-1: the broker's default)")
	create.Flags().StringArrayVar(&configs, "config", nil, "topic config key=value (repeatable)")
	create.Flags().BoolVar(&ifNotExists, "if-not-exists", false, "succeed when the topic already exists")

	var internal bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List topic names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return ListTopics(ctx, adm, cmd.OutOrStdout(), internal)
			})
		},
	}
	list.Flags().BoolVar(&internal, "internal", false, "include internal topics")

	var allConfigs bool
	describe := &cobra.Command{
		Use:   "describe [TOPIC...]",
		Short: "Show partitions, leaders, replicas and configs of topics (all topics when none is named)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return DescribeTopics(ctx, adm, cmd.OutOrStdout(), args, allConfigs)
			})
		},
	}
	describe.Flags().BoolVar(&allConfigs, "all-configs", false, "show every config, not only those set on the topic")

	del := &cobra.Command{
		Use:   "delete TOPIC...",
		Short: "Delete topics and their data",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return DeleteTopics(ctx, adm, cmd.OutOrStdout(), args...)
			})
		},
	}

	var (
		alterPartitions int
		setConfigs      []string
		deleteConfigs   []string
	)
	alter := &cobra.Command{
		Use:     "alter TOPIC",
		Short:   "Add partitions to a topic, or set and remove its configs",
		Example: "  millstream topics alter orders --partitions 6 --config retention.ms=3600000 --delete-config segment.bytes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := parseKV(setConfigs, "config")
			if err != nil {
				return err
			}
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return AlterTopic(ctx, adm, cmd.OutOrStdout(), AlterTopicOptions{
					Name: args[0], Partitions: alterPartitions, Set: set, Delete: deleteConfigs,
				})
			})
		},
	}
	alter.Flags().IntVar(&alterPartitions, "partitions", 0, "new total number of partitions (can only grow)")
	alter.Flags().StringArrayVar(&setConfigs, "config", nil, "topic config key=value to set (repeatable)")
	alter.Flags().StringArrayVar(&deleteConfigs, "delete-config", nil, "topic config to remove, back to the default (repeatable)")

	cmd.AddCommand(create, list, describe, del, alter)
	return cmd
}

func produceCommand() *cobra.Command {
	var (
		conn      connFlags
		settings  ProducerSettings
		keySep    string
		headers   []string
		partition int32
	)
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Send each line of stdin as one record",
		Long: "Send each line of stdin as one record, without its line ending. With --key-separator the\n" +
			"text before the first separator is the key. Exits non-zero if any record fails.",
		Example: "  printf 'k1:hello\\nk2:world\\n' | millstream produce orders --key-separator : --header source=cli",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hs, err := ParseHeaders(headers)
			if err != nil {
				return err
			}
			settings.ManualPartition = partition >= 0
			settings.DeliveryTimeout = max(conn.timeout, 30*time.Second)
			opts, err := settings.ClientOpts()
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true
			ctx, stop := interruptible(cmd.Context())
			defer stop()
			cl, _, err := conn.client(ctx, cmd, opts...)
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := requireTopic(ctx, kadm.NewClient(cl), args[0], conn.timeout, partition); err != nil {
				return err
			}
			_, err = ProduceLines(ctx, cl, cmd.InOrStdin(), ProduceOptions{
				Topic: args[0], KeySeparator: keySep, Headers: hs, Partition: partition,
			})
			return err
		},
	}
	conn.register(cmd.Flags(), "timeout")
	f := cmd.Flags()
	f.StringVar(&keySep, "key-separator", "", "split each line into key and value at the first occurrence of this text")
	f.StringArrayVar(&headers, "header", nil, "header key=value added to every record (repeatable)")
	f.StringVar(&settings.Acks, "acks", "all", "acknowledgement: all, 1 or 0")
	f.Int32Var(&partition, "partition", -1, "send every record to this partition (-1: by key hash, or spread when keyless)")
	f.StringVar(&settings.Compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	f.BoolVar(&settings.Idempotent, "idempotent", false, "use the idempotent producer (acks=all; the broker must support it)")
	f.DurationVar(&settings.Linger, "linger", 0, "how long a batch waits for more records")
	return cmd
}

// requireTopic fails clearly when topic does not exist, instead of letting
// a producer or consumer wait for it; with partition 0 or above, also when
// the topic has no such partition.
func requireTopic(ctx context.Context, adm *kadm.Client, topic string, timeout time.Duration, partition ...int32) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("look up topic %q: %w", topic, err)
	}
	d, ok := td[topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("topic %q does not exist (create it with: millstream topics create %s)", topic, topic)
	}
	if d.Err != nil {
		return fmt.Errorf("topic %q: %w", topic, d.Err)
	}
	for _, p := range partition {
		if _, ok := d.Partitions[p]; p >= 0 && !ok {
			return fmt.Errorf("topic %q has no partition %d (it has %d, numbered from 0)", topic, p, len(d.Partitions))
		}
	}
	return nil
}

func consumeCommand() *cobra.Command {
	var (
		conn          connFlags
		o             ConsumeOptions
		fromBeginning bool
		printKey      bool
		printHeaders  bool
		format        string
	)
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Write the records of a topic to stdout, one per line",
		Long: "Write the records of a topic to stdout. By default only new records are shown and the\n" +
			"command runs until interrupted; --from-beginning, --max-messages and --timeout change that.\n\n" +
			"--format is \"json\" or a pattern with %t topic, %p partition, %o offset, %k key, %v value,\n" +
			"%h headers, %T timestamp (ms), %d timestamp (RFC 3339), %K and %S key and value sizes,\n" +
			"\\n, \\t and %%.",
		Example: "  millstream consume orders --from-beginning --max-messages 10 --print-key\n" +
			"  millstream consume orders --group billing --timeout 5s --format '%p/%o %k=%v\\n'",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Topic = args[0]
			if fromBeginning {
				if cmd.Flags().Changed("offset") {
					return errors.New("--from-beginning and --offset cannot be combined")
				}
				o.Start = "earliest"
			}
			if format == "" {
				format = DefaultFormat(printKey, printHeaders)
			}
			f, err := ParseFormat(format)
			if err != nil {
				return err
			}
			o.Format = f
			opts, err := o.ClientOpts()
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true
			ctx, stop := interruptible(cmd.Context())
			defer stop()
			cl, _, err := conn.client(ctx, cmd, opts...)
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := requireTopic(ctx, kadm.NewClient(cl), o.Topic, conn.timeout, o.Partition); err != nil {
				return err
			}
			n, err := Consume(ctx, cl, cmd.OutOrStdout(), o)
			fmt.Fprintf(cmd.ErrOrStderr(), "consumed %s\n", plural(int(n), "record"))
			return err
		},
	}
	conn.register(cmd.Flags(), "request-timeout")
	f := cmd.Flags()
	f.BoolVar(&fromBeginning, "from-beginning", false, "start at the earliest record (same as --offset earliest)")
	f.StringVar(&o.Start, "offset", "latest", "where to start: earliest, latest or an offset number")
	f.Int32Var(&o.Partition, "partition", -1, "read only this partition (-1: all)")
	f.StringVar(&o.Group, "group", "", "consume as a member of this consumer group, committing what was printed")
	f.Int64Var(&o.MaxMessages, "max-messages", 0, "stop after this many records (0: no limit)")
	f.BoolVar(&printKey, "print-key", false, "print the key before the value, tab-separated")
	f.BoolVar(&printHeaders, "print-headers", false, "print the headers (k=v,k=v) first, tab-separated")
	f.DurationVar(&o.IdleTimeout, "timeout", 0, "stop after no record arrived for this long (0: never)")
	f.StringVar(&format, "format", "", "output format: json, or a pattern (see above)")
	return cmd
}

func groupsCommand() *cobra.Command {
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "List, describe, delete consumer groups and reset their offsets",
	}
	conn.register(cmd.PersistentFlags(), "timeout")

	list := &cobra.Command{
		Use:   "list",
		Short: "List consumer groups with their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return ListGroups(ctx, adm, cmd.OutOrStdout())
			})
		},
	}
	describe := &cobra.Command{
		Use:   "describe GROUP",
		Short: "Show a group's members, assignments, committed offsets and lag",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return DescribeGroup(ctx, adm, cmd.OutOrStdout(), args[0])
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete consumer groups and their committed offsets (groups must have no members)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				return DeleteGroups(ctx, adm, cmd.OutOrStdout(), args...)
			})
		},
	}

	var (
		topic                         string
		toEarliest, toLatest, execute bool
		toOffset, shiftBy             int64
		toDatetime                    string
	)
	reset := &cobra.Command{
		Use:   "reset-offsets GROUP --topic TOPIC[:P,P...] (--to-earliest|--to-latest|--to-offset N|--to-datetime T|--shift-by N)",
		Short: "Move a group's committed offsets (a dry run unless --execute)",
		Long: "Compute new committed offsets for a group on a topic and print them. Nothing changes\n" +
			"unless --execute is given, and --execute is refused while the group has members.\n" +
			"New offsets are kept within each partition's earliest and latest offsets.",
		Example: "  millstream groups reset-offsets billing --topic orders --to-earliest\n" +
			"  millstream groups reset-offsets billing --topic orders:0,1 --shift-by -100 --execute\n" +
			"  millstream groups reset-offsets billing --topic orders --to-datetime 2024-05-01T10:00:00Z --execute",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var to []ResetTo
			fl := cmd.Flags()
			if toEarliest {
				to = append(to, ResetTo{Kind: "earliest"})
			}
			if toLatest {
				to = append(to, ResetTo{Kind: "latest"})
			}
			if fl.Changed("to-offset") {
				to = append(to, ResetTo{Kind: "offset", Offset: toOffset})
			}
			if fl.Changed("to-datetime") {
				t, err := ParseTime(toDatetime)
				if err != nil {
					return fmt.Errorf("--to-datetime: %w", err)
				}
				to = append(to, ResetTo{Kind: "datetime", Time: t})
			}
			if fl.Changed("shift-by") {
				to = append(to, ResetTo{Kind: "shift", Shift: shiftBy})
			}
			if len(to) != 1 {
				return errors.New("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
			}
			if topic == "" {
				return errors.New("--topic is required")
			}
			return conn.withAdmin(cmd, func(ctx context.Context, adm *kadm.Client) error {
				plan, err := PlanReset(ctx, adm, ResetOptions{Group: args[0], Topic: topic, To: to[0]})
				if err != nil {
					return err
				}
				if err := plan.Write(cmd.OutOrStdout()); err != nil {
					return err
				}
				if !execute {
					if plan.Members > 0 {
						fmt.Fprintf(cmd.ErrOrStderr(), "note: group %q has %d members; --execute will be refused until they stop\n",
							plan.Group, plan.Members)
					}
					fmt.Fprintln(cmd.ErrOrStderr(), "dry run: nothing changed; add --execute to commit these offsets")
					return nil
				}
				if err := ApplyReset(ctx, adm, plan); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "committed new offsets for group %q\n", plan.Group)
				return nil
			})
		},
	}
	rf := reset.Flags()
	rf.StringVar(&topic, "topic", "", "topic, or topic:0,1,2 for some partitions")
	rf.BoolVar(&toEarliest, "to-earliest", false, "move to the earliest offset")
	rf.BoolVar(&toLatest, "to-latest", false, "move to the latest offset (skip everything)")
	rf.Int64Var(&toOffset, "to-offset", 0, "move to this offset")
	rf.StringVar(&toDatetime, "to-datetime", "", "move to the first record at or after this time (RFC 3339, 2024-05-01 or Unix ms)")
	rf.Int64Var(&shiftBy, "shift-by", 0, "move the committed offset by this many (negative: back)")
	rf.BoolVar(&execute, "execute", false, "commit the new offsets (default: only print them)")

	cmd.AddCommand(list, describe, del, reset)
	return cmd
}

func perfCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "perf",
		Short: "Measure produce and consume throughput and latency",
	}
	cmd.AddCommand(perfProduceCommand(), perfConsumeCommand())
	return cmd
}

// perfOutputs picks where progress and the summary go: with --json the
// summary alone goes to stdout and progress to stderr.
func perfOutputs(cmd *cobra.Command, asJSON bool) (progress io.Writer) {
	if asJSON {
		return cmd.ErrOrStderr()
	}
	return cmd.OutOrStdout()
}

func perfProduceCommand() *cobra.Command {
	var (
		conn     connFlags
		o        PerfProduceOptions
		settings ProducerSettings
		batchMax int32
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce random records as fast as possible (or one at a time with --sync) and report throughput and latency",
		Long: "Produce records of random bytes (so compression cannot flatter the figures) to a topic,\n" +
			"creating it with --partitions if it does not exist. Latency is from the send call to the\n" +
			"acknowledgement. With --sync each producer waits for each record's acknowledgement\n" +
			"before sending the next: the latency of a single produce. A record not acknowledged\n" +
			"within --timeout, retries included, counts as an error.",
		Example: "  millstream perf produce --topic perf --num-records 1000000\n" +
			"  millstream perf produce --topic perf --duration 30s --sync --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			settings.BatchMaxBytes = batchMax
			// A record not acknowledged within --timeout, retries included,
			// counts as failed: without a bound the client retries a
			// broker that went away or answers with a retriable error
			// forever, and the test never ends.
			settings.DeliveryTimeout = conn.timeout
			popts, err := settings.ClientOpts()
			if err != nil {
				return err
			}
			copts, err := conn.options(cmd)
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true
			ctx, stop := interruptible(cmd.Context())
			defer stop()
			newClient := func(ctx context.Context) (*kgo.Client, error) { return copts.NewClient(ctx, popts...) }
			s, err := PerfProduce(ctx, newClient, perfOutputs(cmd, asJSON), o)
			if err != nil {
				return err
			}
			s.Target = strings.Join(copts.Bootstrap, ",")
			return writeSummary(cmd, s, asJSON, "sent")
		},
	}
	conn.register(cmd.Flags(), "timeout")
	f := cmd.Flags()
	f.StringVar(&o.Topic, "topic", "", "topic to produce to (created if missing)")
	f.IntVar(&o.RecordSize, "record-size", 1024, "value size in bytes")
	f.Int64Var(&o.NumRecords, "num-records", 0, "stop after this many records")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long")
	f.IntVar(&o.Producers, "producers", 1, "number of producer clients running in parallel")
	f.BoolVar(&o.Sync, "sync", false, "one record at a time per producer, each waiting for its acknowledgement")
	f.Int32Var(&o.Partitions, "partitions", 1, "partitions of the topic when it has to be created")
	f.DurationVar(&o.ProgressInterval, "progress-interval", 5*time.Second, "print a progress line this often (0: never)")
	f.StringVar(&settings.Acks, "acks", "all", "acknowledgement: all, 1 or 0")
	f.StringVar(&settings.Compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	f.BoolVar(&settings.Idempotent, "idempotent", false, "use the idempotent producer")
	f.DurationVar(&settings.Linger, "linger", 0, "how long a batch waits for more records")
	f.Int32Var(&batchMax, "batch-max-bytes", 0, "largest record batch in bytes (0: the client default, 1 MB)")
	f.IntVar(&settings.MaxInFlight, "max-in-flight", 5, "produce requests in flight per broker without --idempotent (more than 1 may reorder records on retries)")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout (progress goes to stderr)")
	return cmd
}

func perfConsumeCommand() *cobra.Command {
	var (
		conn   connFlags
		o      PerfConsumeOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read a topic from its start as fast as possible and report throughput",
		Long: "Read a topic from its earliest offset and report records/s and MiB/s. The clock starts\n" +
			"at the first record, so connecting and joining a group are not counted.",
		Example: "  millstream perf consume --topic perf --num-records 1000000",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Topic == "" {
				return errors.New("--topic is required")
			}
			cmd.SilenceUsage = true
			ctx, stop := interruptible(cmd.Context())
			defer stop()
			cl, copts, err := conn.client(ctx, cmd, o.ClientOpts()...)
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := requireTopic(ctx, kadm.NewClient(cl), o.Topic, conn.timeout); err != nil {
				return err
			}
			s, err := PerfConsume(ctx, cl, perfOutputs(cmd, asJSON), o)
			if err != nil {
				return err
			}
			s.Target = strings.Join(copts.Bootstrap, ",")
			return writeSummary(cmd, s, asJSON, "read")
		},
	}
	conn.register(cmd.Flags(), "timeout")
	f := cmd.Flags()
	f.StringVar(&o.Topic, "topic", "", "topic to read")
	f.Int64Var(&o.NumRecords, "num-records", 0, "stop after this many records")
	f.DurationVar(&o.Duration, "duration", 0, "stop this long after the first record")
	f.StringVar(&o.Group, "group", "", "read as this consumer group (no commits)")
	f.DurationVar(&o.IdleTimeout, "idle-timeout", 10*time.Second, "stop when no record arrived for this long")
	f.DurationVar(&o.ProgressInterval, "progress-interval", 5*time.Second, "print a progress line this often (0: never)")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout (progress goes to stderr)")
	return cmd
}

func writeSummary(cmd *cobra.Command, s perfstat.Summary, asJSON bool, verb string) error {
	if asJSON {
		if err := s.WriteJSON(cmd.OutOrStdout()); err != nil {
			return err
		}
	} else if err := s.WriteText(cmd.OutOrStdout(), verb); err != nil {
		return err
	}
	if s.Errors > 0 {
		return fmt.Errorf("%d of %d records failed; first error: %s", s.Errors, s.Errors+s.Records, s.FirstError)
	}
	return nil
}
