// Package cli provides the client subcommands of the millstream binary:
// topics, produce, consume, groups and perf. They speak the Kafka protocol
// through franz-go (kgo for producing and consuming, kadm for administration),
// so they work against the bundled broker and against any other Kafka
// cluster alike.
//
// # Usage
//
// The binary registers the commands on its root:
//
//	root.AddCommand(cli.Commands()...)
//
// Every command's logic is also a plain function that takes a client and an
// [io.Writer], for tests and for other programs:
//
//	cl, err := cli.ConnOptions{Bootstrap: []string{addr}}.NewClient(ctx)
//	adm := kadm.NewClient(cl)
//	err = cli.CreateTopic(ctx, adm, os.Stdout, cli.CreateTopicOptions{Name: "orders", Partitions: 3})
//
// # Files
//
//	connect.go      the shared connection flags and a client that fails fast when unreachable
//	commands.go     the cobra commands, thin wrappers over the functions below
//	topics.go       create, list, describe, delete and alter topics
//	produce.go      lines from a reader to a topic
//	consume.go      records to a writer, with or without a consumer group
//	format.go       the output format of consume
//	groups.go       list, describe (lag) and delete consumer groups
//	reset.go        plan and apply a reset of a group's committed offsets
//	perf.go         producer and consumer throughput and latency tests
//
// Latency histograms and the perf summary live in the perfstat subpackage,
// which the peer benchmark drivers share.
package cli
