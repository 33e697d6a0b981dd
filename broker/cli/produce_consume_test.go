package cli_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/cli"
)

func createTopic(t *testing.T, addr, name string, partitions int32) {
	t.Helper()
	var out bytes.Buffer
	if err := cli.CreateTopic(testContext(t), admin(t, addr), &out, cli.CreateTopicOptions{Name: name, Partitions: partitions}); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// produceLines runs ProduceLines with a fresh client.
func produceLines(t *testing.T, addr, input string, s cli.ProducerSettings, o cli.ProduceOptions) (int64, error) {
	t.Helper()
	opts, err := s.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	return cli.ProduceLines(testContext(t), connect(t, addr, opts...), strings.NewReader(input), o)
}

// consumeAll runs Consume with a fresh client until it has want records
// (at most 5s), or, with want 0, until idle for 2s (a first fetch on a
// loaded machine, against a broker that fsyncs every produce, can take a
// good part of a second).
func consumeAll(t *testing.T, addr string, want int64, o cli.ConsumeOptions) (string, int64) {
	t.Helper()
	if want > 0 && o.MaxMessages == 0 {
		o.MaxMessages = want
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 2 * time.Second
		if want > 0 {
			o.IdleTimeout = 5 * time.Second
		}
	}
	opts, err := o.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cl := connect(t, addr, opts...)
	// Close now, not at the end of the test: a group member must leave.
	defer cl.Close()
	n, err := cli.Consume(testContext(t), cl, &out, o)
	if err != nil {
		t.Fatalf("Consume: %v", err)
	}
	return out.String(), n
}

func TestProduceThenConsumeRoundTrip(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "orders", 1)
	input := "k1:hello\nk2:world with spaces\nk3:\nk4:a:b:c\r\n"
	hs, err := cli.ParseHeaders([]string{"source=cli", "trace=abc"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := produceLines(t, b.Addr(), input, cli.ProducerSettings{},
		cli.ProduceOptions{Topic: "orders", KeySeparator: ":", Headers: hs, Partition: -1})
	if err != nil || n != 4 {
		t.Fatalf("ProduceLines = %d, %v; want 4, nil", n, err)
	}
	f, err := cli.ParseFormat(`%o|%k|%v|%h\n`)
	if err != nil {
		t.Fatal(err)
	}
	got, count := consumeAll(t, b.Addr(), 4, cli.ConsumeOptions{Topic: "orders", Partition: -1, Start: "earliest", Format: f})
	want := "0|k1|hello|source=cli,trace=abc\n" +
		"1|k2|world with spaces|source=cli,trace=abc\n" +
		"2|k3||source=cli,trace=abc\n" +
		"3|k4|a:b:c|source=cli,trace=abc\n"
	if got != want || count != 4 {
		t.Errorf("consumed (%d records)\n%s\nwant\n%s", count, got, want)
	}
}

func TestProduceKeepsOrderOnOnePartition(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "seq", 3)
	var in strings.Builder
	const n = 5000
	for i := range n {
		fmt.Fprintf(&in, "%d\n", i)
	}
	for _, s := range []cli.ProducerSettings{{Acks: "all"}, {Acks: "all", Idempotent: true}, {Acks: "1", Compression: "zstd"}} {
		t.Run(fmt.Sprintf("acks=%s,idempotent=%v,%s", s.Acks, s.Idempotent, s.Compression), func(t *testing.T) {
			s.ManualPartition = true
			got, err := produceLines(t, b.Addr(), in.String(), s, cli.ProduceOptions{Topic: "seq", Partition: 2})
			if err != nil || got != n {
				t.Fatalf("ProduceLines = %d, %v; want %d, nil", got, err, n)
			}
		})
	}
	out, count := consumeAll(t, b.Addr(), 3*n+1, cli.ConsumeOptions{Topic: "seq", Partition: 2, IdleTimeout: 2 * time.Second, Start: "earliest"})
	if count != 3*n {
		t.Fatalf("consumed %d records from partition 2, want %d", count, 3*n)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines {
		if want := fmt.Sprint(i % n); l != want {
			t.Fatalf("record %d = %q, want %q (order lost)", i, l, want)
		}
	}
	if out, count := consumeAll(t, b.Addr(), 0, cli.ConsumeOptions{Topic: "seq", Partition: 0, Start: "earliest"}); count != 0 {
		t.Errorf("partition 0 holds %d records (%q), want none: --partition was not honoured", count, out[:min(len(out), 40)])
	}
}

func TestProduceMissingKeySeparatorNamesTheLine(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "keyed", 1)
	n, err := produceLines(t, b.Addr(), "a:1\nb:2\nno separator\nc:3\n", cli.ProducerSettings{},
		cli.ProduceOptions{Topic: "keyed", KeySeparator: ":", Partition: -1})
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("ProduceLines = %v, want an error naming line 3", err)
	}
	if n != 2 {
		t.Errorf("acknowledged %d records, want the 2 lines before the bad one", n)
	}
	out, _ := consumeAll(t, b.Addr(), 0, cli.ConsumeOptions{Topic: "keyed", Partition: -1, Start: "earliest"})
	if out != "1\n2\n" {
		t.Errorf("topic holds %q, want %q", out, "1\n2\n")
	}
}

func TestConsumeOffsetsAndLimits(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "nums", 1)
	if _, err := produceLines(t, b.Addr(), "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n", cli.ProducerSettings{},
		cli.ProduceOptions{Topic: "nums", Partition: -1}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    cli.ConsumeOptions
		want string
	}{
		{"from offset 7", cli.ConsumeOptions{Start: "7", Partition: 0}, "7\n8\n9\n"},
		{"offset on all partitions", cli.ConsumeOptions{Start: "8", Partition: -1}, "8\n9\n"},
		{"max messages", cli.ConsumeOptions{Start: "earliest", Partition: -1, MaxMessages: 3}, "0\n1\n2\n"},
		{"latest sees nothing old", cli.ConsumeOptions{Start: "latest", Partition: -1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Topic = "nums"
			if got, _ := consumeAll(t, b.Addr(), 0, tc.o); got != tc.want {
				t.Errorf("consumed %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProduceConsumeCommands(t *testing.T) {
	b := brokertest.Start(t)
	t.Setenv(cli.BootstrapEnv, b.Addr())
	if _, _, err := run(t, "", "topics", "create", "cmd", "--partitions", "1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "a=1\nb=2\n", "produce", "cmd", "--key-separator", "=", "--header", "h=v", "--acks", "1"); err != nil {
		t.Fatalf("produce: %v", err)
	}
	out, stderr, err := run(t, "", "consume", "cmd", "--from-beginning", "--max-messages", "2", "--print-key", "--print-headers")
	if err != nil || out != "h=v\ta\t1\nh=v\tb\t2\n" {
		t.Errorf("consume = %q, %v; want %q", out, err, "h=v\ta\t1\nh=v\tb\t2\n")
	}
	if !strings.Contains(stderr, "consumed 2 records") {
		t.Errorf("consume stderr = %q, want a count", stderr)
	}
	out, _, err = run(t, "", "consume", "cmd", "--offset", "1", "--timeout", "2s", "--format", "json")
	if err != nil || !strings.Contains(out, `"offset":1`) || !strings.Contains(out, `"key":"b"`) || strings.Count(out, "\n") != 1 {
		t.Errorf("consume --offset 1 --timeout 2s --format json = %q, %v", out, err)
	}
	_, _, err = run(t, "x\n", "produce", "nosuch")
	if err == nil || !strings.Contains(err.Error(), `"nosuch" does not exist`) {
		t.Errorf("produce to a missing topic = %v, want an error saying it does not exist", err)
	}
	_, _, err = run(t, "", "consume", "cmd", "--partition", "0", "--group", "g")
	if err == nil || !strings.Contains(err.Error(), "--partition cannot be combined with --group") {
		t.Errorf("consume --partition --group = %v, want a refusal", err)
	}
	for _, args := range [][]string{{"consume", "cmd", "--partition", "7"}, {"produce", "cmd", "--partition", "7"}} {
		_, _, err = run(t, "x\n", args...)
		if err == nil || !strings.Contains(err.Error(), "has no partition 7") {
			t.Errorf("%s --partition 7 = %v, want an error saying there is no partition 7", args[0], err)
		}
	}
	_, _, err = run(t, "x\n", "produce", "cmd", "--acks", "2")
	if err == nil || !strings.Contains(err.Error(), "--acks") {
		t.Errorf("produce --acks 2 = %v, want an error about --acks", err)
	}
}

// Bytes in equal bytes out for values that are not text: consume's %v
// writes the value unchanged.
func TestBinaryValuesSurvive(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	createTopic(t, b.Addr(), "bin", 1)
	cl := connect(t, b.Addr())
	val := []byte{0, 1, 2, 0xff, '\n', 0xfe}
	if err := cl.ProduceSync(testContext(t), &kgo.Record{Topic: "bin", Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	f, _ := cli.ParseFormat("%v")
	got, _ := consumeAll(t, b.Addr(), 1, cli.ConsumeOptions{Topic: "bin", Partition: -1, Start: "earliest", Format: f})
	if got != string(val) {
		t.Errorf("consumed %x, want %x", got, val)
	}
}

// A record the broker refuses fails the command with the broker's reason
// and the line it came from.
func TestProduceReportsBrokerRefusal(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	var out bytes.Buffer
	if err := cli.CreateTopic(testContext(t), admin(t, b.Addr()), &out, cli.CreateTopicOptions{
		Name: "small", Partitions: 1, Configs: map[string]string{"max.message.bytes": "200"},
	}); err != nil {
		t.Fatal(err)
	}
	n, err := produceLines(t, b.Addr(), "ok\n"+strings.Repeat("x", 1000)+"\n", cli.ProducerSettings{},
		cli.ProduceOptions{Topic: "small", Partition: -1})
	// Both lines travel in one batch, which the broker refuses as a whole.
	if err == nil || !strings.Contains(err.Error(), "MESSAGE_TOO_LARGE") || !strings.Contains(err.Error(), "2 records failed") || n != 0 {
		t.Errorf("ProduceLines of an oversized line = %d, %v; want MESSAGE_TOO_LARGE, 2 records failed", n, err)
	}
}
