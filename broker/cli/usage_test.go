package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/cli"
)

// TestLibraryUsage is the example docs/cli.md quotes: the commands' logic
// called from Go, without cobra.
func TestLibraryUsage(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	addr := b.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout bytes.Buffer

	// Connect; an unreachable address fails within Timeout, naming it.
	conn := cli.ConnOptions{Bootstrap: []string{addr}, ClientID: "my-tool", Timeout: 5 * time.Second}
	cl, err := conn.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// millstream topics create greetings --partitions 1
	err = cli.CreateTopic(ctx, kadm.NewClient(cl), &stdout, cli.CreateTopicOptions{Name: "greetings", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}

	// printf 'en:hello\nfr:bonjour\n' | millstream produce greetings --key-separator :
	producer := cli.ProducerSettings{Acks: "all"}
	popts, err := producer.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	pcl, err := conn.NewClient(ctx, popts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	_, err = cli.ProduceLines(ctx, pcl, strings.NewReader("en:hello\nfr:bonjour\n"),
		cli.ProduceOptions{Topic: "greetings", KeySeparator: ":", Partition: -1})
	if err != nil {
		t.Fatal(err)
	}

	// millstream consume greetings --from-beginning --max-messages 2 --format '%k=%v\n'
	format, err := cli.ParseFormat(`%k=%v\n`)
	if err != nil {
		t.Fatal(err)
	}
	consume := cli.ConsumeOptions{Topic: "greetings", Partition: -1, Start: "earliest", MaxMessages: 2, Format: format}
	copts, err := consume.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	ccl, err := conn.NewClient(ctx, copts...)
	if err != nil {
		t.Fatal(err)
	}
	defer ccl.Close()
	if _, err := cli.Consume(ctx, ccl, &stdout, consume); err != nil {
		t.Fatal(err)
	}

	want := "created topic \"greetings\" (1 partition, replication factor 1)\nen=hello\nfr=bonjour\n"
	if stdout.String() != want {
		t.Errorf("output = %q, want %q", stdout.String(), want)
	}
}
