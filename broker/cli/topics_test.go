package cli_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/cli"
)

func TestTopicsLifecycle(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	adm := admin(t, b.Addr())
	ctx := testContext(t)
	var out bytes.Buffer

	err := cli.CreateTopic(ctx, adm, &out, cli.CreateTopicOptions{
		Name: "orders", Partitions: 3, Configs: map[string]string{"retention.ms": "3600000"},
	})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if want := `created topic "orders" (3 partitions, replication factor 1)`; !strings.Contains(out.String(), want) {
		t.Errorf("CreateTopic wrote %q, want %q", out.String(), want)
	}

	err = cli.CreateTopic(ctx, adm, &out, cli.CreateTopicOptions{Name: "orders", Partitions: 3})
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Errorf("CreateTopic of an existing topic = %v, want TOPIC_ALREADY_EXISTS", err)
	}
	if err := cli.CreateTopic(ctx, adm, &out, cli.CreateTopicOptions{Name: "orders", IfNotExists: true}); err != nil {
		t.Errorf("CreateTopic(IfNotExists) of an existing topic = %v, want nil", err)
	}
	if err := cli.CreateTopic(ctx, adm, &out, cli.CreateTopicOptions{Name: "audit", Partitions: 1}); err != nil {
		t.Fatalf("CreateTopic(audit): %v", err)
	}

	out.Reset()
	if err := cli.ListTopics(ctx, adm, &out, false); err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if out.String() != "audit\norders\n" {
		t.Errorf("ListTopics = %q, want %q", out.String(), "audit\norders\n")
	}

	out.Reset()
	if err := cli.DescribeTopics(ctx, adm, &out, []string{"orders"}, false); err != nil {
		t.Fatalf("DescribeTopics: %v", err)
	}
	desc := out.String()
	for _, want := range []string{"Topic: orders", "PartitionCount: 3", "ReplicationFactor: 1",
		"Configs: retention.ms=3600000", "Partition: 0", "Partition: 2"} {
		if !strings.Contains(desc, want) {
			t.Errorf("DescribeTopics output lacks %q:\n%s", want, desc)
		}
	}
	if strings.Contains(desc, "Partition: 3") {
		t.Errorf("DescribeTopics shows a fourth partition:\n%s", desc)
	}

	if err := cli.DescribeTopics(ctx, adm, &out, []string{"nosuch"}, false); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("DescribeTopics(nosuch) = %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
}

func TestTopicsAlter(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	adm := admin(t, b.Addr())
	ctx := testContext(t)
	var out bytes.Buffer
	if err := cli.CreateTopic(ctx, adm, &out, cli.CreateTopicOptions{
		Name: "orders", Partitions: 2, Configs: map[string]string{"retention.ms": "3600000"},
	}); err != nil {
		t.Fatal(err)
	}
	err := cli.AlterTopic(ctx, adm, &out, cli.AlterTopicOptions{
		Name: "orders", Partitions: 4,
		Set:    map[string]string{"segment.bytes": "1048576"},
		Delete: []string{"retention.ms"},
	})
	if err != nil {
		t.Fatalf("AlterTopic: %v", err)
	}
	out.Reset()
	if err := cli.DescribeTopics(ctx, adm, &out, []string{"orders"}, false); err != nil {
		t.Fatal(err)
	}
	desc := out.String()
	for _, want := range []string{"PartitionCount: 4", "Configs: segment.bytes=1048576\n", "Partition: 3"} {
		if !strings.Contains(desc, want) {
			t.Errorf("after AlterTopic, describe lacks %q:\n%s", want, desc)
		}
	}
	if strings.Contains(desc, "retention.ms") {
		t.Errorf("after removing retention.ms, describe still shows it:\n%s", desc)
	}
	if err := cli.AlterTopic(ctx, adm, &out, cli.AlterTopicOptions{Name: "orders", Partitions: 2}); err == nil ||
		!strings.Contains(err.Error(), "can only be added") {
		t.Errorf("AlterTopic shrinking partitions = %v, want an error saying partitions can only be added", err)
	}
	if err := cli.AlterTopic(ctx, adm, &out, cli.AlterTopicOptions{Name: "orders"}); err == nil {
		t.Error("AlterTopic with nothing to change = nil, want an error")
	}
}

func TestTopicsDelete(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	adm := admin(t, b.Addr())
	ctx := testContext(t)
	var out bytes.Buffer
	for _, name := range []string{"a", "b"} {
		if err := cli.CreateTopic(ctx, adm, &out, cli.CreateTopicOptions{Name: name, Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	err := cli.DeleteTopics(ctx, adm, &out, "a", "nosuch")
	if !errors.Is(err, kerr.UnknownTopicOrPartition) || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("DeleteTopics(a, nosuch) = %v, want UNKNOWN_TOPIC_OR_PARTITION naming nosuch", err)
	}
	if out.String() != "deleted topic \"a\"\n" {
		t.Errorf("DeleteTopics wrote %q, want the deletion of a", out.String())
	}
	out.Reset()
	if err := cli.ListTopics(ctx, adm, &out, false); err != nil {
		t.Fatal(err)
	}
	if out.String() != "b\n" {
		t.Errorf("after deleting a, ListTopics = %q, want %q", out.String(), "b\n")
	}
}

// The commands as a user types them, flags and all.
func TestTopicsCommands(t *testing.T) {
	b := brokertest.Start(t)
	out, _, err := run(t, "", "topics", "create", "events", "-b", b.Addr(), "--partitions", "2", "--config", "retention.ms=60000")
	if err != nil {
		t.Fatalf("topics create: %v", err)
	}
	if !strings.Contains(out, `created topic "events"`) {
		t.Errorf("topics create printed %q", out)
	}
	t.Setenv(cli.BootstrapEnv, b.Addr())
	out, _, err = run(t, "", "topics", "list")
	if err != nil || out != "events\n" {
		t.Errorf("topics list (address from $%s) = %q, %v; want %q", cli.BootstrapEnv, out, err, "events\n")
	}
	out, _, err = run(t, "", "topics", "describe", "events")
	if err != nil || !strings.Contains(out, "PartitionCount: 2") || !strings.Contains(out, "retention.ms=60000") {
		t.Errorf("topics describe = %q, %v", out, err)
	}
	if _, _, err = run(t, "", "topics", "create", "bad", "--config", "novalue"); err == nil ||
		!strings.Contains(err.Error(), "key=value") {
		t.Errorf("topics create --config novalue = %v, want an error asking for key=value", err)
	}
}

func TestCommandsReportUnreachableServer(t *testing.T) {
	addr := closedAddr(t)
	_, _, err := run(t, "", "topics", "list", "-b", addr, "--timeout", "2s")
	if !errors.Is(err, cli.ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Errorf("topics list against a closed port = %v, want ErrUnreachable naming %s", err, addr)
	}
}
